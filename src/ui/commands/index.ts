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
import { addServer, connectServer, disconnectServer, editServer, forgetSecrets, forgetServerSecrets } from './servers';
import { copyLocalAddress, defaultAction, editTunnel, keepTunnel, openInBrowser, removeTunnel, renameTunnel, restartTunnel, startTunnel, stopAll, stopServerTunnels, stopTunnel } from './tunnels';

export { COMMANDS, VIEW_ID } from './ids';
export type { CommandDeps } from './deps';
export { toSpec, type CreateTunnelArg } from './create';

/**
 * What the view gives for "the focused row": its title actions pass the row or null, and a
 * keybinding passes `{ $treeViewId, $focusedTreeItem }`, which VS Code turns into the focused row
 * as it does for the title actions; should it not, the view's selection stands in.
 */
function fromView(deps: CommandDeps, arg: unknown): unknown {
  if (arg === null) return undefined;
  if (arg && typeof arg === 'object' && '$treeViewId' in arg) return deps.view?.selection[0];
  return arg;
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { log } = deps;
  /** A handler with the window's parts, registered so that a failure is logged and, with a person there, shown (with Retry where trying again may help). */
  const register = (id: string, handler: (deps: CommandDeps, ...args: unknown[]) => unknown, options: { retry?: boolean } = {}) =>
    vscode.commands.registerCommand(id, async (...given: unknown[]) => {
      const args = given.length ? [fromView(deps, given[0]), ...given.slice(1)] : given;
      try {
        return await handler(deps, ...args);
      } catch (err) {
        log.error(`${id}: ${errorMessage(err)}`);
        if (!interactive(args)) throw err;
        void showError(deps, err, options.retry ? () => Promise.resolve(handler(deps, ...args)) : undefined);
        return undefined;
      }
    });

  return [
    register(COMMANDS.createTunnel, createTunnel),
    // One verb for ending a tunnel: closeTunnel stays for scripts, as Stop.
    register(COMMANDS.closeTunnel, stopTunnel),
    register(COMMANDS.stopTunnel, stopTunnel),
    register(COMMANDS.startTunnel, startTunnel, { retry: true }),
    register(COMMANDS.restartTunnel, restartTunnel, { retry: true }),
    register(COMMANDS.closeAll, stopAll),
    register(COMMANDS.closeServerTunnels, stopServerTunnels),
    register(COMMANDS.removeTunnel, removeTunnel),
    register(COMMANDS.editTunnel, editTunnel),
    register(COMMANDS.renameTunnel, renameTunnel),
    register(COMMANDS.defaultAction, defaultAction),
    register(COMMANDS.copyLocalAddress, copyLocalAddress),
    register(COMMANDS.openInBrowser, openInBrowser),
    register(COMMANDS.connectServer, connectServer, { retry: true }),
    register(COMMANDS.editServer, editServer),
    register(COMMANDS.disconnectServer, disconnectServer),
    register(COMMANDS.addServer, addServer),
    register(COMMANDS.showLog, () => log.show()),
    register(COMMANDS.openSettings, () => vscode.commands.executeCommand('workbench.action.openSettings', SETTINGS_FILTER)),
    register(COMMANDS.forgetSecrets, forgetSecrets),
    register(COMMANDS.forgetServerSecrets, forgetServerSecrets),
    register(COMMANDS.refresh, () => deps.refreshTree()),
    register(COMMANDS.focus, () => vscode.commands.executeCommand(`${VIEW_ID}.focus`)),
    register(COMMANDS.keepTunnel, keepTunnel),
    register(COMMANDS.forwardPort, forwardPort),
  ];
}
