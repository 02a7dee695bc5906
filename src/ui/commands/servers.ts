// What a person does to a server: connect, disconnect (its tunnels stop, with Undo), add one to
// the settings where the workspace sees it, edit one without writing JSON, forget its secrets.
import * as vscode from 'vscode';
import { parseDestination } from '../../config/forwardSpec';
import { validateServerSettings } from '../../config/servers';
import { plural, TunnelError, type ServerStatus } from '../../engine';
import { appendEntry, scopeInEffect, scopeName } from '../settingsWrite';
import { isTreeNode } from '../tree';
import type { CommandDeps } from './deps';
import { interactive } from './errors';
import { pickServerName, serverName } from './targets';
import { stopMany } from './stopMany';

export { editServer } from './editServer';

export async function connectServer(deps: CommandDeps, arg?: unknown): Promise<ServerStatus | undefined> {
  const name = await pickServerName(deps, arg, vscode.l10n.t('Connect which server?'));
  if (!name) return undefined;
  try {
    return await deps.manager.connectServer(name);
  } catch (err) {
    // With no tunnel waiting for it, a server that did not answer is not redialled in the background.
    if (deps.manager.serverStatus(name).tunnels === 0) await deps.manager.disconnectServer(name, 'person');
    throw err;
  }
}

/** Disconnects a server: its tunnels stop (a person's are kept as stopped rows), and a notification offers Undo. */
export async function disconnectServer(deps: CommandDeps, arg?: unknown): Promise<void> {
  const name = await pickServerName(deps, arg, vscode.l10n.t('Disconnect which server?'));
  if (!name) return;
  const open = deps.manager.listTunnels(name);
  if (open.length === 0) {
    await deps.manager.disconnectServer(name, 'person');
    return;
  }
  await stopMany(deps, open, { server: name, disconnect: true, tell: interactive([arg]) });
}

/**
 * Adds a server from an argument (scripts), or asked as ssh takes it; written where the workspace
 * sees it (`target`: 'user' or 'workspace' to choose). `name`: the one a tunnel asked for (the box starts from it).
 */
export async function addServer(deps: CommandDeps, arg?: unknown, target?: unknown, name?: unknown): Promise<string | undefined> {
  if (arg && typeof arg === 'object' && !isTreeNode(arg)) return addServerEntry(deps, { ...(arg as Record<string, unknown>) }, target, false);
  const asked = typeof name === 'string' ? name : undefined;
  return addServerAsked(deps, asked ?? '', asked, target);
}

/** Asks for a server: its destination (starting from `typed`), then its name (`alias`, or one made from the host). */
export async function addServerAsked(deps: CommandDeps, typed: string, alias?: string, target?: unknown): Promise<string | undefined> {
  const t = vscode.l10n.t;
  const taken = new Set(deps.servers.list().map((s) => s.alias));
  const destination = await vscode.window.showInputBox({
    title: t('Add SSH server (1/2): destination'),
    prompt: t('[user@]host[:port], as you would give it to ssh'),
    placeHolder: 'deploy@bastion.example.com:22',
    value: typed,
    ignoreFocusOut: true,
    validateInput: (v) => (parseDestination(v) ? undefined : t('Write [user@]host[:port], e.g. deploy@bastion.example.com or 10.0.0.5:2222.')),
  });
  if (destination === undefined) return undefined;
  const d = parseDestination(destination)!;
  const name = await vscode.window.showInputBox({
    title: t('Add SSH server (2/2): name'),
    prompt: t('A short name for this server in the tree and in sshTunnels.tunnels'),
    value: alias ?? d.hostName.split('.')[0],
    ignoreFocusOut: true,
    validateInput: (v) => (!/^[^\s]+$/.test(v.trim()) ? t('A name without spaces.') : taken.has(v.trim()) ? t('{0} exists already.', v.trim()) : undefined),
  });
  if (name === undefined) return undefined;
  return addServerEntry(deps, { host: name.trim(), hostName: d.hostName, ...(d.user ? { user: d.user } : {}), ...(d.port ? { port: d.port } : {}) }, target, true);
}

/** Checks and writes one `sshTunnels.servers` entry; says where it went (and, in the workspace, that its list replaces the user's). */
async function addServerEntry({ servers, log, refreshTree }: CommandDeps, entry: Record<string, unknown>, target: unknown, tell: boolean): Promise<string> {
  const t = vscode.l10n.t;
  for (const secret of ['password', 'passphrase', 'privateKey']) {
    if (secret in entry) throw new TunnelError('INVALID_SPEC', t('Secrets are never written to settings: leave out "{0}"; the extension asks for it when needed.', secret));
  }
  const host = entry.host;
  if (typeof host !== 'string' || !/^[^\s]+$/.test(host)) throw new TunnelError('INVALID_SPEC', t('A server needs a "host" alias without spaces.'));
  if (servers.list().some((s) => s.alias === host)) throw new TunnelError('INVALID_SPEC', t('A server named {0} exists already; choose another alias.', host));
  const checked = validateServerSettings([entry]);
  const problems = [...checked.errors, ...checked.warnings];
  if (problems.length) throw new TunnelError('INVALID_SPEC', problems.join(' '));
  // The list in effect: a workspace that sets sshTunnels.servers replaces the user's list, so a user entry would not be seen there.
  const where = target === 'workspace' ? vscode.ConfigurationTarget.Workspace : target === 'user' ? vscode.ConfigurationTarget.Global : scopeInEffect('servers');
  await appendEntry('servers', entry, where);
  log.info(`Added server ${host} to the ${where === vscode.ConfigurationTarget.Workspace ? 'workspace' : 'user'} settings.`);
  refreshTree();
  if (tell) {
    if (where === vscode.ConfigurationTarget.Global) void vscode.window.setStatusBarMessage(t('Added {0} to your {1}', host, scopeName(where)), 5000);
    else void vscode.window.showInformationMessage(t('Added {0} to the workspace settings: this workspace has its own sshTunnels.servers, which replaces your user list here.', host));
  }
  return host;
}

/** Forgets the passphrases and passwords kept for every server (a script may name one; the view's title passes its focused row, which names none). */
export function forgetSecrets(deps: CommandDeps, arg?: unknown): Promise<number> {
  return forget(deps, typeof arg === 'string' ? arg : undefined, arg);
}

/** Forgets those of the server whose row's menu it is. */
export function forgetServerSecrets(deps: CommandDeps, arg?: unknown): Promise<number> {
  return forget(deps, serverName(arg), arg);
}

async function forget({ manager, prompts, log }: CommandDeps, server: string | undefined, arg: unknown): Promise<number> {
  const t = vscode.l10n.t;
  manager.forgetSecrets(server);
  const removed = await prompts.forget(server);
  log.info(`Forgot ${plural(removed, 'saved secret')}${server ? ` of ${server}` : ''}.`);
  if (interactive([arg])) {
    const message = removed === 0
      ? (server ? t('No password or passphrase was saved for {0}; the next login asks as usual.', server) : t('No password or passphrase was saved; nothing to forget.'))
      : removed === 1 ? t('Forgot 1 saved password or passphrase; the next login asks again.') : t('Forgot {0} saved passwords and passphrases; the next login asks again.', removed);
    void vscode.window.showInformationMessage(message);
  }
  return removed;
}
