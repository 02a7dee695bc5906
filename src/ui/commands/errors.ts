// How a command's failure reaches the person: an error notification with the action that gets
// them past it (another port, Add Server, Retry with what they typed kept, Open Settings, Show Log).
import * as vscode from 'vscode';
import { errorMessage, TunnelError, type TunnelSpec } from '../../engine';
import { isTreeNode } from '../tree';
import type { CommandDeps } from './deps';
import { COMMANDS } from './ids';

/** Called from the palette, a tree item, the view's title (which passes its focused row, or null) or a key: a person is there to answer and to read errors. */
export function interactive(args: unknown[]): boolean {
  return args.length === 0 || args[0] === undefined || args[0] === null || isTreeNode(args[0]);
}

/** Opens again, with a change (another port) or as it was. */
export type Retry = (change: Partial<TunnelSpec>) => Promise<unknown>;

/** Shows an error with the action that gets the person past it; `retry` opens again with a change, or as it was. */
export async function showError(deps: Pick<CommandDeps, 'log'>, err: unknown, retry?: Retry): Promise<void> {
  const t = vscode.l10n.t;
  const { log } = deps;
  const message = errorMessage(err);
  const code = err instanceof TunnelError ? err.code : (err as { code?: string })?.code;
  const details = (err as { details?: Record<string, unknown> })?.details ?? {};
  const showLog = t('Show Log');
  const again = (change: Partial<TunnelSpec>) => retry?.(change).catch((e: unknown) => showError(deps, e, retry));
  if (code === 'PORT_IN_USE' && retry) {
    const suggestion = typeof details.suggestion === 'number' ? details.suggestion : undefined;
    const use = suggestion !== undefined ? t('Use port {0} instead', suggestion) : undefined;
    const any = t('Use any free port');
    const choice = await vscode.window.showErrorMessage(message, ...[use, any].filter((x): x is string => !!x));
    if (choice === use) await again({ localPort: suggestion });
    else if (choice === any) await again({ localPort: 0 });
    return;
  }
  if (code === 'UNKNOWN_SERVER') {
    const add = t('Add Server');
    if ((await vscode.window.showErrorMessage(message, add)) !== add) return;
    // The name it asked for is the new server's, so the tunnel finds it and can be opened again at once.
    const name = /Unknown server "([^"]+)"/.exec(message)?.[1];
    const added = await vscode.commands.executeCommand<string | undefined>(COMMANDS.addServer, undefined, undefined, name);
    if (added && retry) await again(added === name ? {} : { server: added });
    return;
  }
  // Nothing a retry would change: what was given is wrong.
  const retryable = retry && code !== 'INVALID_SPEC' && code !== 'SERVED_ELSEWHERE';
  const choices = [retryable ? t('Retry') : undefined];
  const settings = code === 'AUTH_FAILED' || code === 'HOST_KEY_CHANGED' || code === 'HOST_KEY_UNKNOWN' ? t('Open Settings') : undefined;
  choices.push(settings, showLog);
  const choice = await vscode.window.showErrorMessage(message, ...choices.filter((x): x is string => !!x));
  if (choice === settings) await vscode.commands.executeCommand(COMMANDS.openSettings);
  else if (choice === showLog) log.show(true);
  else if (choice && choice === choices[0]) await again({});
}
