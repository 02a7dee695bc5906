import type { SshdFixture } from '../fixtures/sshd';

/**
 * The ssh config lines of a Host block that reaches the sshd fixture with its client key and no
 * agent. `port: false` leaves Port out (a later Match gives it); `knownHosts` defaults to the
 * fixture's; `strict` adds StrictHostKeyChecking yes.
 */
export function sshConfigHost(sshd: SshdFixture, alias: string, options: { port?: boolean; knownHosts?: string; strict?: boolean } = {}): string[] {
  return [
    `Host ${alias}`,
    '  HostName 127.0.0.1',
    ...(options.port === false ? [] : [`  Port ${sshd.port}`]),
    `  User ${sshd.user}`,
    `  IdentityFile ${sshd.clientKeyPath}`,
    '  IdentityAgent none',
    `  UserKnownHostsFile ${options.knownHosts ?? sshd.knownHostsPath}`,
    ...(options.strict ? ['  StrictHostKeyChecking yes'] : []),
  ];
}
