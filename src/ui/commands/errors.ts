// How a command's failure reaches the person: an error notification with the action that gets
// them past it (another port, Add Server, Open Settings, Retry, Show Log).
import * as vscode from 'vscode';
import { errorMessage, TunnelError, type TunnelSpec } from '../../engine';
import { isTreeNode } from '../tree';
import type { CommandDeps } from './deps';
import { COMMANDS } from './ids';

/** Called from the palette or a tree item: a person is there to answer and to read errors. */
export function interactive(args: unknown[]): boolean {
  return args.length === 0 || args[0] === undefined || isTreeNode(args[0]);
}

/** Shows an error with the action that gets the person past it; `retry` opens again with a change (another port). */
export async function showError(deps: Pick<CommandDeps, 'log'>, err: unknown, retry?: (spec: Partial<TunnelSpec>) => Promise<unknown>): Promise<void> {
  const t = vscode.l10n.t;
  const { log } = deps;
  const message = errorMessage(err);
  const code = err instanceof TunnelError ? err.code : (err as { code?: string })?.code;
  const details = (err as { details?: Record<string, unknown> })?.details ?? {};
  const showLog = t('Show Log');
  if (code === 'PORT_IN_USE' && retry) {
    const suggestion = typeof details.suggestion === 'number' ? details.suggestion : undefined;
    const use = suggestion !== undefined ? t('Use port {0} instead', suggestion) : undefined;
    const any = t('Use any free port');
    const choice = await vscode.window.showErrorMessage(message, ...[use, any].filter((x): x is string => !!x));
    if (choice === use) await retry({ localPort: suggestion }).catch((e) => showError(deps, e, retry));
    else if (choice === any) await retry({ localPort: 0 }).catch((e) => showError(deps, e, retry));
    return;
  }
  if (code === 'UNKNOWN_SERVER') {
    const add = t('Add Server');
    if ((await vscode.window.showErrorMessage(message, add)) === add) await vscode.commands.executeCommand(COMMANDS.addServer);
    return;
  }
  if (code === 'AUTH_FAILED' || code === 'CONNECT_FAILED' || code === 'HOST_KEY_CHANGED' || code === 'HOST_KEY_UNKNOWN') {
    const settings = t('Open Settings');
    const again = retry ? t('Retry') : undefined;
    const choice = await vscode.window.showErrorMessage(message, ...[again, settings, showLog].filter((x): x is string => !!x));
    if (choice === settings) await vscode.commands.executeCommand(COMMANDS.openSettings);
    else if (choice === showLog) log.show(true);
    else if (choice === again && retry) await retry({}).catch((e) => showError(deps, e, retry));
    return;
  }
  if ((await vscode.window.showErrorMessage(message, showLog)) === showLog) log.show(true);
}
