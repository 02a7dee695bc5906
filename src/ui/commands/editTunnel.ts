// "Edit Tunnel…" and "Rename Tunnel…" (F2): a tunnel changed without writing JSON. The editor is a
// quick pick of its parts (name, forward, server, start with VS Code), each changed in a box or a
// pick as in Create Tunnel, saved where the tunnel is defined: a settings entry in its settings, a
// person's running tunnel reopened as changed (a rename keeps its connections), a stopped one kept.
import * as vscode from 'vscode';
import { specOf } from '../../catalogue';
import { tunnelFromSetting, type ConfiguredTunnel } from '../../config/tunnelSettings';
import { TunnelError, type TunnelInfo, type TunnelSpec } from '../../engine';
import { readForward } from '../forwardInput';
import { factsOfSpec, forwardFlagText, rowLabel } from '../rowWords';
import { listIn, replaceEntry, scopeName } from '../settingsWrite';
import { STOPPED_PREFIX } from '../stoppedTunnels';
import { isTreeNode } from '../tree';
import { openInteractively } from './create';
import type { CommandDeps } from './deps';

/** What can be edited, and where it lives. */
type Editable =
  | { kind: 'running'; info: TunnelInfo; spec: TunnelSpec }
  | { kind: 'settings'; configured: ConfiguredTunnel; spec: TunnelSpec; autoStart: boolean }
  | { kind: 'stopped'; key: string; spec: TunnelSpec };

function withoutOrigin(spec: TunnelSpec): TunnelSpec {
  const { openedBy: _origin, ...rest } = spec;
  return rest;
}

function settingsEditable(deps: CommandDeps, key: string): Editable | undefined {
  const configured = deps.settingsFeed.configured().find((c) => c.key === key);
  return configured && { kind: 'settings', configured, spec: configured.spec, autoStart: configured.autoStart };
}

/** What an argument names, if a person may edit it: their own tunnels and those of the settings (the ssh config's are edited in the ssh config). */
function editableOf(deps: CommandDeps, arg: unknown): Editable {
  const t = vscode.l10n.t;
  const id = typeof arg === 'string' ? arg : isTreeNode(arg) && arg.kind === 'tunnel' ? arg.id : undefined;
  if (isTreeNode(arg) && arg.kind === 'configured') {
    const stopped = arg.key.startsWith(STOPPED_PREFIX) ? deps.stopped?.get(arg.key) : undefined;
    if (stopped) return { kind: 'stopped', key: stopped.key, spec: stopped.spec };
    const settings = settingsEditable(deps, arg.key);
    if (settings) return settings;
    throw new TunnelError('INVALID_SPEC', t('This tunnel is defined in the ssh config: change its LocalForward, RemoteForward or DynamicForward line there.'));
  }
  if (isTreeNode(arg) && arg.kind === 'elsewhere') throw new TunnelError('SERVED_ELSEWHERE', t('Another process serves this tunnel: edit it there.'));
  const info = id === undefined ? undefined : deps.manager.getTunnel(id);
  if (!info) throw new TunnelError('INVALID_SPEC', t('This tunnel is no longer open.'));
  const key = deps.settingsFeed.keyOf(info.id);
  const settings = key === undefined ? undefined : settingsEditable(deps, key);
  if (settings) return settings;
  if (info.openedBy !== 'person') throw new TunnelError('INVALID_SPEC', t('{0} was opened by {1}; only your own tunnels and those of the settings can be edited here.', info.name, info.openedBy === 'agent' ? t('an agent') : t('the ssh config')));
  return { kind: 'running', info, spec: withoutOrigin(specOf(info)) };
}

/** A person picks what to edit (from the palette). */
async function pickEditable(deps: CommandDeps, title: string): Promise<Editable | undefined> {
  const items: (vscode.QuickPickItem & { editable: Editable })[] = [];
  for (const info of deps.manager.listTunnels()) {
    try {
      items.push({ label: rowLabel(info), description: info.server, editable: editableOf(deps, info.id) });
    } catch {
      // An agent's or the ssh config's: not editable here.
    }
  }
  for (const c of deps.settingsFeed.stopped()) items.push({ label: rowLabel(factsOfSpec(c.spec)), description: `${c.spec.server} · ${vscode.l10n.t('stopped')}`, editable: { kind: 'settings', configured: c, spec: c.spec, autoStart: c.autoStart } });
  for (const s of deps.stopped?.list() ?? []) items.push({ label: rowLabel(factsOfSpec(s.spec)), description: `${s.spec.server} · ${vscode.l10n.t('stopped')}`, editable: { kind: 'stopped', key: s.key, spec: s.spec } });
  if (items.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('No tunnel to edit: yours and those of the settings can be edited; Create Tunnel makes one.'));
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title }))?.editable;
}

async function resolveEditable(deps: CommandDeps, arg: unknown, title: string): Promise<Editable | undefined> {
  // F2 on a server's row: servers have their own editor.
  if (isTreeNode(arg) && arg.kind === 'server') return undefined;
  if (isTreeNode(arg) && deps.tree && !deps.tree.has(arg)) return undefined;
  return arg === undefined || arg === null ? pickEditable(deps, title) : editableOf(deps, arg);
}

/** The `sshTunnels.tunnels` entry of a spec, keeping the entry's other fields (autoStart, and any it had). */
function entryOf(spec: TunnelSpec, was: Record<string, unknown>, autoStart: boolean): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(was)) if (!['name', 'server', 'type', 'localHost', 'localPort', 'localPath', 'remoteHost', 'remotePort', 'remotePath', 'socks', 'autoStart'].includes(k)) entry[k] = v;
  if (spec.name) entry.name = spec.name;
  entry.server = spec.server;
  entry.type = spec.type;
  if (spec.localPath !== undefined) entry.localPath = spec.localPath;
  else {
    if (spec.localHost !== undefined && spec.localHost !== '127.0.0.1') entry.localHost = spec.localHost;
    if (!spec.socks) entry.localPort = spec.localPort;
  }
  if (spec.remotePath !== undefined) entry.remotePath = spec.remotePath;
  else if (spec.type !== 'dynamic') {
    if (spec.remoteHost !== undefined) entry.remoteHost = spec.remoteHost;
    entry.remotePort = spec.remotePort;
  }
  if (spec.socks) entry.socks = true;
  if (autoStart) entry.autoStart = true;
  return entry;
}

/** Saves the edit where the tunnel lives; resolves when it is written (a settings edit then applies as any edit of the settings does). */
async function save(deps: CommandDeps, target: Editable, spec: TunnelSpec, autoStart: boolean): Promise<void> {
  const t = vscode.l10n.t;
  if (target.kind === 'stopped') {
    deps.stopped?.update(target.key, spec);
    return;
  }
  if (target.kind === 'settings') {
    const { configured } = target;
    const scope = configured.fromWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    let was: Record<string, unknown> = {};
    const matches = (entry: unknown, i: number) => {
      const found = tunnelFromSetting(entry, i, configured.fromWorkspace, [])?.key === configured.key;
      if (found) was = entry as Record<string, unknown>;
      return found;
    };
    listIn('tunnels', scope).forEach(matches);
    const written = await replaceEntry('tunnels', scope, matches, entryOf(spec, was, autoStart));
    if (written === undefined) throw new TunnelError('INVALID_SPEC', t('{0} is no longer in the {1}; it was changed meanwhile.', configured.spec.name ?? configured.key, scopeName(scope)));
    deps.log.info(`Edited ${configured.spec.name ?? configured.key} in the ${scopeName(scope)}.`);
    return;
  }
  const { info } = target;
  const { name: newName, ...rest } = spec;
  const { name: oldName, ...before } = target.spec;
  if (JSON.stringify(rest) === JSON.stringify(before)) {
    // Only the name: its connections go on.
    if (newName !== oldName) deps.manager.renameTunnel(info.id, newName);
    return;
  }
  await deps.manager.closeTunnel(info.id, 'replaced');
  // If it cannot open as changed, it is kept as a stopped row rather than lost (the error offers Retry).
  const opened = await openInteractively(deps, { ...spec, openedBy: 'person' });
  if (!opened) deps.stopped?.add(spec);
}

/** The name box: empty leaves the tunnel named for where it listens. */
async function askName(spec: TunnelSpec, title: string): Promise<string | undefined> {
  const t = vscode.l10n.t;
  const unnamed = rowLabel(factsOfSpec({ ...spec, name: undefined }));
  const value = await vscode.window.showInputBox({
    title,
    prompt: t('A name for the tree and the status bar; empty to call it {0}', unnamed),
    value: spec.name ?? '',
    ignoreFocusOut: true,
  });
  return value === undefined ? undefined : value.trim();
}

async function askForward(spec: TunnelSpec, title: string): Promise<TunnelSpec | undefined> {
  const t = vscode.l10n.t;
  const value = await vscode.window.showInputBox({
    title,
    prompt: t('The forward as ssh writes it (-L, -R or -D), or a port alone'),
    value: forwardFlagText(factsOfSpec(spec)),
    ignoreFocusOut: true,
    validateInput: (text) => {
      const reading = readForward(text, spec.type, spec.server);
      if (!reading.ok) return reading.error;
      return reading.exposed ? { message: reading.exposed, severity: vscode.InputBoxValidationSeverity.Warning } : { message: t('Opens: {0}', reading.sentence), severity: vscode.InputBoxValidationSeverity.Info };
    },
  });
  if (value === undefined) return undefined;
  const reading = readForward(value, spec.type, spec.server);
  return reading.ok ? { server: spec.server, ...(spec.name ? { name: spec.name } : {}), ...reading.forward } : undefined;
}

export async function editTunnel(deps: CommandDeps, arg?: unknown): Promise<void> {
  const t = vscode.l10n.t;
  const target = await resolveEditable(deps, arg, t('Edit which tunnel?'));
  if (!target) return;
  let spec = target.spec;
  let autoStart = target.kind === 'settings' ? target.autoStart : false;
  const title = t('Edit tunnel {0}', rowLabel(factsOfSpec(target.spec)));
  type Field = 'save' | 'name' | 'forward' | 'server' | 'autoStart' | 'json';
  for (;;) {
    const changed = JSON.stringify(spec) !== JSON.stringify(target.spec) || (target.kind === 'settings' && autoStart !== target.autoStart);
    const where = target.kind === 'settings' ? scopeName(target.configured.fromWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global) : undefined;
    const items: (vscode.QuickPickItem & { field: Field })[] = [];
    if (changed) items.push({ field: 'save', label: `$(check) ${t('Save')}`, description: where ? t('to the {0}', where) : target.kind === 'running' ? t('reopens it as changed') : undefined });
    items.push(
      { field: 'name', label: t('Name'), description: spec.name ?? t('(none: called {0})', rowLabel(factsOfSpec({ ...spec, name: undefined }))) },
      { field: 'forward', label: t('Forward'), description: forwardFlagText(factsOfSpec(spec)) },
      { field: 'server', label: t('Server'), description: spec.server },
    );
    if (target.kind === 'settings') {
      items.push({ field: 'autoStart', label: t('Start with VS Code'), description: autoStart ? t('yes') : t('no') });
      items.push({ field: 'json', label: `$(json) ${t('Edit in settings.json')}`, description: where });
    }
    const picked = await vscode.window.showQuickPick(items, { title, placeHolder: t('Pick what to change; Escape leaves it as it was'), ignoreFocusOut: true });
    if (!picked) return;
    if (picked.field === 'save') return save(deps, target, spec, autoStart);
    if (picked.field === 'json') {
      const fromWorkspace = target.kind === 'settings' && target.configured.fromWorkspace;
      await vscode.commands.executeCommand(fromWorkspace ? 'workbench.action.openWorkspaceSettingsFile' : 'workbench.action.openSettingsJson');
      return;
    }
    if (picked.field === 'autoStart') autoStart = !autoStart;
    if (picked.field === 'name') {
      const name = await askName(spec, t('Name of {0}', rowLabel(factsOfSpec(spec))));
      if (name !== undefined) spec = { ...spec, name: name || undefined };
      if (!spec.name) delete spec.name;
    }
    if (picked.field === 'forward') spec = (await askForward(spec, t('Forward of {0}', rowLabel(factsOfSpec(spec))))) ?? spec;
    if (picked.field === 'server') {
      const server = await vscode.window.showQuickPick(deps.servers.list().map((s) => s.alias), { title: t('Server of {0}', rowLabel(factsOfSpec(spec))) });
      if (server) spec = { ...spec, server };
    }
  }
}

/** F2: only the name. A person's running tunnel keeps its connections; a settings entry is rewritten. */
export async function renameTunnel(deps: CommandDeps, arg?: unknown): Promise<void> {
  const t = vscode.l10n.t;
  const target = await resolveEditable(deps, arg, t('Rename which tunnel?'));
  if (!target) return;
  const name = await askName(target.spec, t('Rename {0}', rowLabel(factsOfSpec(target.spec))));
  if (name === undefined) return;
  const { name: _old, ...rest } = target.spec;
  await save(deps, target, name ? { ...rest, name } : rest, target.kind === 'settings' ? target.autoStart : false);
}
