// What the suites that run inside VS Code (test/integration, test/agent) share: the extension's
// id, its commands, polling for a state, and reading a service through a tunnel.
import * as http from 'node:http';
import * as net from 'node:net';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import { SshdFixture } from '../fixtures/sshd';

export const EXTENSION_ID = 'tunnelworks.ssh-tunnels';

export function run<T>(command: string, ...args: unknown[]): Thenable<T> {
  return vscode.commands.executeCommand<T>(`sshTunnels.${command}`, ...args);
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000, detail?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `: ${JSON.stringify(detail())}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET / over TCP, or over a Unix socket (as curl --unix-socket does); resolves with the body. */
export function get(target: number | { socketPath: string }, host = '127.0.0.1'): Promise<string> {
  const where = typeof target === 'number' ? { host, port: target } : target;
  return new Promise((resolve, reject) => {
    const req = http.get({ ...where, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** The first line sshd sends, read through a tunnel whose target is the sshd itself. */
export function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    s.setTimeout(10_000, () => s.destroy(new Error(`no banner through port ${port}`)));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\n')) {
        s.destroy();
        resolve(got.split('\r\n')[0]);
      }
    });
    s.on('error', reject);
  });
}

/** Whether nothing listens on the port. */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

export interface SshConfigSuite {
  api: SshTunnelsApi;
  sshd: SshdFixture;
}

/**
 * The setup of the suites that point sshTunnels.sshConfigFile at a file of their own: the
 * extension ready and one sshd for the suite; after it, `server`'s tunnels closed, the setting
 * reset and the sshd stopped. Call it inside `describe`; the fields are set once its hooks ran.
 */
export function sshConfigSuite(server: string): SshConfigSuite {
  const suite = {} as SshConfigSuite;
  before(async () => {
    suite.api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await suite.api.ready;
    suite.sshd = await SshdFixture.start();
  });
  after(async () => {
    for (const t of suite.api?.manager.listTunnels(server) ?? []) await suite.api.manager.closeTunnel(t.id).catch(() => undefined);
    await vscode.workspace.getConfiguration('sshTunnels').update('sshConfigFile', undefined, vscode.ConfigurationTarget.Global);
    await suite.sshd?.stop();
  });
  return suite;
}
