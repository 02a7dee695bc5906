// Every command of the extension. Each works from the palette or the tree (it asks for what it
// lacks, and shows errors with a way out) and with arguments (it returns its result and throws,
// so scripts and the integration suite can drive it without UI). The handlers live by job:
// create.ts, tunnels.ts, servers.ts; what an argument names, targets.ts; errors shown, errors.ts.
import * as vscode from 'vscode';
import { errorMessage } from '../../engine';
import { createTunnel } from './create';
import type { CommandDeps } from './deps';
import { interactive, showError } from './errors';
import { COMMANDS, SETTINGS_FILTER, VIEW_ID } from './ids';
import { forwardPort } from './ports';
import { addServer, connectServer, disconnectServer, forgetSecrets } from './servers';
import { closeAll, closeTunnel, copyLocalAddress, keepTunnel, openInBrowser, restartTunnel, startTunnel } from './tunnels';

export { COMMANDS, VIEW_ID } from './ids';
export type { CommandDeps } from './deps';
export { toSpec, type CreateTunnelArg } from './create';

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { log } = deps;
  /** A handler with the window's parts, registered so that a failure is logged and, with a person there, shown. */
  const register = (id: string, handler: (deps: CommandDeps, ...args: unknown[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(deps, ...args);
      } catch (err) {
        log.error(`${id}: ${errorMessage(err)}`);
        if (!interactive(args)) throw err;
        void showError(deps, err);
        return undefined;
      }
    });

  return [
    register(COMMANDS.createTunnel, createTunnel),
    register(COMMANDS.closeTunnel, closeTunnel),
    register(COMMANDS.stopTunnel, closeTunnel),
    register(COMMANDS.startTunnel, startTunnel),
    register(COMMANDS.restartTunnel, restartTunnel),
    register(COMMANDS.closeAll, closeAll),
    register(COMMANDS.closeServerTunnels, closeAll),
    register(COMMANDS.copyLocalAddress, copyLocalAddress),
    register(COMMANDS.openInBrowser, openInBrowser),
    register(COMMANDS.connectServer, connectServer),
    register(COMMANDS.disconnectServer, disconnectServer),
    register(COMMANDS.addServer, addServer),
    register(COMMANDS.showLog, () => log.show()),
    register(COMMANDS.openSettings, () => vscode.commands.executeCommand('workbench.action.openSettings', SETTINGS_FILTER)),
    register(COMMANDS.forgetSecrets, forgetSecrets),
    register(COMMANDS.refresh, () => deps.refreshTree()),
    register(COMMANDS.focus, () => vscode.commands.executeCommand(`${VIEW_ID}.focus`)),
    register(COMMANDS.keepTunnel, keepTunnel),
    register(COMMANDS.forwardPort, forwardPort),
  ];
}
