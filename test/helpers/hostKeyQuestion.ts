import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostKeyAnswer, Prompts, ServerConfig } from '../../src/engine';
import type { SshdFixture } from '../fixtures/sshd';

/** A server of the fixture with an empty known_hosts: connecting to it asks the host-key question. */
export function unknownHostServer(sshd: SshdFixture, name: string): ServerConfig {
  const emptyKnownHosts = path.join(sshd.dir, `empty-${name}-${Date.now()}`);
  fs.writeFileSync(emptyKnownHosts, '');
  return sshd.server(name, { userKnownHostsFile: emptyKnownHosts, strictHostKeyChecking: undefined });
}

/** Host-key prompts that hold the question open until the test answers it. */
export class HeldHostKeyQuestion {
  private answer: ((answer: HostKeyAnswer) => void) | undefined;
  private markAsked!: () => void;
  /** Resolves when the question has been asked. */
  readonly asked = new Promise<void>((resolve) => (this.markAsked = resolve));
  wasAsked = false;

  readonly prompts: Prompts = {
    hostKey: () =>
      new Promise<HostKeyAnswer>((resolve) => {
        this.answer = resolve;
        this.wasAsked = true;
        this.markAsked();
      }),
  };

  /** Answers the open question (a test that never asked may call it: nothing happens). */
  reply(answer: HostKeyAnswer): void {
    this.answer?.(answer);
    this.answer = undefined;
  }
}
