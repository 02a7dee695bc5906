// Test module of the first window (folder "api") of the two-window suite: the extension opens the
// autoStart tunnel of the user settings; once it is active, this says hello to the runner with the
// extension host's pid, then waits (the runner kills this host; run() never settles).
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import { EXTENSION_ID, waitFor } from '../helpers/vscode';
import { driver } from './driver';

export async function run(): Promise<void> {
  try {
    const api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    const setup = await driver.setup();
    await waitFor(
      `${setup.tunnel} active on port ${setup.tunnelPort}`,
      () => api.manager.listTunnels(setup.server).find((t) => t.localPort === setup.tunnelPort && t.state === 'active'),
      30_000,
      () => api.manager.listTunnels(),
    );
    await driver.hello({ window: 'first', pid: process.pid });
  } catch (err) {
    await driver.hello({ window: 'first', error: err instanceof Error ? err.message : String(err) });
    throw err;
  }
  return new Promise<void>(() => undefined);
}
