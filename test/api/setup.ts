// What the API suite's files share: SSH Tunnels activated, a real sshd added as a server of the
// user settings, a web service to reach through tunnels, and tunnels of the settings to name.
import * as http from 'node:http';
import type * as net from 'node:net';
import type * as Published from 'ssh-tunnels-api';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import { SshdFixture } from '../fixtures/sshd';
import { EXTENSION_ID, run, waitFor } from '../helpers/vscode';

export const trusted = vscode.workspace.isTrusted;
/** The helper extension the runner installs: the API's caller. */
export const CALLER = { id: 'ssh-tunnels-test.api-caller', name: 'API Caller (test)' };

export interface ApiEnv {
  /** As other extensions get it. */
  published: Published.SshTunnelsApi;
  /** The same object, with the parts the tests read. */
  api: SshTunnelsApi;
  sshd: SshdFixture;
  webPort: number;
  /** Sets the tunnels of the settings (the workspace's when trusted: they win over the user's). */
  setTunnels(tunnels: object[]): Promise<void>;
}

export const config = () => vscode.workspace.getConfiguration('sshTunnels');

/** Registers the hooks; the fields are set once they ran. */
export function apiEnv(server: string): ApiEnv {
  const env = {} as ApiEnv;
  let web: http.Server;
  let workspaceTunnels: unknown[] | undefined;
  before(async () => {
    env.published = await vscode.extensions.getExtension<Published.SshTunnelsApi>(EXTENSION_ID)!.activate();
    env.api = env.published as SshTunnelsApi;
    await env.api.ready;
    env.sshd = await SshdFixture.start();
    web = http.createServer((_req, res) => res.end('hello, api'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    env.webPort = (web.address() as net.AddressInfo).port;
    const { alias: _a, ...fields } = env.sshd.server(server);
    await run('addServer', { host: server, ...fields });
    await waitFor('the server', () => env.api.servers.get(server));
    workspaceTunnels = config().inspect<unknown[]>('tunnels')?.workspaceValue;
    env.setTunnels = async (tunnels) => {
      const target = trusted ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      await config().update('tunnels', [...(trusted ? (workspaceTunnels ?? []) : []), ...tunnels], target);
      await env.api.settingsTunnels.reconcile();
    };
  });
  after(async () => {
    if (trusted) await config().update('tunnels', workspaceTunnels, vscode.ConfigurationTarget.Workspace);
    else await config().update('tunnels', undefined, vscode.ConfigurationTarget.Global);
    await env.api?.manager.closeServer(server);
    await config().update('servers', undefined, vscode.ConfigurationTarget.Global);
    web?.close();
    await env.sshd?.stop();
  });
  return env;
}

/** Resolves with what `promise` did within `ms`, or 'pending'. */
export function within<T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: Error & { code?: string } } | 'pending'> {
  return Promise.race([promise.then((value) => ({ value }), (error: Error) => ({ error })), new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

/** Polls an async probe (the runner's view of the page) until it gives a value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
