// What a person does to a server: connect, disconnect, add one to the settings, forget its secrets.
import * as vscode from 'vscode';
import { parseDestination } from '../../config/forwardSpec';
import { validateServerSettings } from '../../config/servers';
import { plural, TunnelError, type ServerStatus } from '../../engine';
import { SECTION } from '../settings';
import { isTreeNode } from '../tree';
import type { CommandDeps } from './deps';
import { interactive } from './errors';
import { pickServerName, serverName } from './targets';

export async function connectServer(deps: CommandDeps, arg?: unknown): Promise<ServerStatus | undefined> {
  const name = await pickServerName(deps, arg, vscode.l10n.t('Connect which server?'));
  if (!name) return undefined;
  return deps.manager.connectServer(name);
}

export async function disconnectServer(deps: CommandDeps, arg?: unknown): Promise<void> {
  const name = await pickServerName(deps, arg, vscode.l10n.t('Disconnect which server?'));
  if (!name) return;
  await deps.manager.disconnectServer(name, 'person');
}

/** Adds a server to the user (or, with `target` 'workspace', the workspace) settings: from an argument, or asked as ssh takes it. */
export async function addServer({ servers, log, refreshTree }: CommandDeps, arg?: unknown, target?: unknown): Promise<string | undefined> {
  const t = vscode.l10n.t;
  const config = vscode.workspace.getConfiguration(SECTION);
  const where = target === 'workspace' ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  const inspected = config.inspect<unknown[]>('servers');
  const current = (where === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue) ?? [];
  const taken = new Set(servers.list().map((s) => s.alias));
  let entry: Record<string, unknown>;
  if (arg && typeof arg === 'object' && !isTreeNode(arg)) {
    entry = { ...(arg as Record<string, unknown>) };
    for (const secret of ['password', 'passphrase', 'privateKey']) {
      if (secret in entry) throw new TunnelError('INVALID_SPEC', t('Secrets are never written to settings: leave out "{0}"; the extension asks for it when needed.', secret));
    }
    const host = entry.host;
    if (typeof host !== 'string' || !/^[^\s]+$/.test(host)) throw new TunnelError('INVALID_SPEC', t('A server needs a "host" alias without spaces.'));
    if (taken.has(host)) throw new TunnelError('INVALID_SPEC', t('A server named {0} exists already; choose another alias.', host));
    const checked = validateServerSettings([entry]);
    const problems = [...checked.errors, ...checked.warnings];
    if (problems.length) throw new TunnelError('INVALID_SPEC', problems.join(' '));
  } else {
    const destination = await vscode.window.showInputBox({
      title: t('Add SSH server (1/2): destination'),
      prompt: t('[user@]host[:port], as you would give it to ssh'),
      placeHolder: 'deploy@bastion.example.com:22',
      ignoreFocusOut: true,
      validateInput: (v) => (parseDestination(v) ? undefined : t('Write [user@]host[:port], e.g. deploy@bastion.example.com or 10.0.0.5:2222.')),
    });
    if (destination === undefined) return undefined;
    const d = parseDestination(destination)!;
    const alias = await vscode.window.showInputBox({
      title: t('Add SSH server (2/2): name'),
      prompt: t('A short name for this server in the tree and in sshTunnels.tunnels'),
      value: d.hostName.split('.')[0],
      ignoreFocusOut: true,
      validateInput: (v) => (!/^[^\s]+$/.test(v.trim()) ? t('A name without spaces.') : taken.has(v.trim()) ? t('{0} exists already.', v.trim()) : undefined),
    });
    if (alias === undefined) return undefined;
    entry = { host: alias.trim(), hostName: d.hostName, ...(d.user ? { user: d.user } : {}), ...(d.port ? { port: d.port } : {}) };
  }
  await config.update('servers', [...(Array.isArray(current) ? current : []), entry], where);
  log.info(`Added server ${entry.host as string} to ${where === vscode.ConfigurationTarget.Workspace ? 'workspace' : 'user'} settings.`);
  refreshTree();
  return entry.host as string;
}

/** Forgets the passphrases and passwords kept for a server (an argument names it), or for all. */
export async function forgetSecrets({ manager, prompts, log }: CommandDeps, arg?: unknown): Promise<number> {
  const server = arg === undefined ? undefined : serverName(arg);
  manager.forgetSecrets(server);
  const removed = await prompts.forget(server);
  log.info(`Forgot ${plural(removed, 'saved secret')}${server ? ` of ${server}` : ''}.`);
  if (interactive([arg])) void vscode.window.showInformationMessage(removed === 1 ? vscode.l10n.t('Forgot 1 saved secret.') : vscode.l10n.t('Forgot {0} saved secrets.', removed));
  return removed;
}
