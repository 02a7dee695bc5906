// Every command of the extension. Each works from the palette or the tree (it asks for what it
// lacks, and shows errors with a way out) and with arguments (it returns its result and throws,
// so scripts and the integration suite can drive it without UI).
import * as vscode from 'vscode';
import { FORWARD_EXAMPLES, parseDestination, parseForward, type ForwardType } from '../config/forwardSpec';
import { validateServerSettings } from '../config/servers';
import { errorMessage, plural, TunnelError, type ServerSource, type ServerStatus, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards } from './configForwards';
import { keepInWorkspaceSettings } from './keep';
import { servedByPeerError, type TunnelCatalogue } from '../catalogue';
import type { PeerTunnels } from '../peers';
import type { VsCodePrompts } from './prompts';
import { SECTION } from './settings';
import type { SettingsTunnels } from './settingsTunnels';
import { configuredDescription, describeTunnel, isTreeNode, localAddress, tunnelLabel } from './tree';

export const VIEW_ID = 'sshTunnels.tunnels';

export const COMMANDS = {
  createTunnel: 'sshTunnels.createTunnel',
  closeTunnel: 'sshTunnels.closeTunnel',
  stopTunnel: 'sshTunnels.stopTunnel',
  startTunnel: 'sshTunnels.startTunnel',
  restartTunnel: 'sshTunnels.restartTunnel',
  closeAll: 'sshTunnels.closeAll',
  closeServerTunnels: 'sshTunnels.closeServerTunnels',
  copyLocalAddress: 'sshTunnels.copyLocalAddress',
  openInBrowser: 'sshTunnels.openInBrowser',
  connectServer: 'sshTunnels.connectServer',
  disconnectServer: 'sshTunnels.disconnectServer',
  addServer: 'sshTunnels.addServer',
  showLog: 'sshTunnels.showLog',
  openSettings: 'sshTunnels.openSettings',
  forgetSecrets: 'sshTunnels.forgetSecrets',
  refresh: 'sshTunnels.refresh',
  focus: 'sshTunnels.focus',
  keepTunnel: 'sshTunnels.keepTunnel',
  copyMcpConfig: 'sshTunnels.copyMcpConfig',
} as const;

export interface CommandDeps {
  manager: TunnelManager;
  servers: ServerSource;
  settingsTunnels: SettingsTunnels;
  /** The wanted tunnels and their state: restarts and the ssh config's forwards go through it. */
  catalogue: TunnelCatalogue;
  /** The peers' tunnels: Close and Restart on one of them ask the peer that serves it. */
  peers?: PeerTunnels;
  prompts: VsCodePrompts;
  log: vscode.LogOutputChannel;
  refreshTree: () => void;
  /** The input box of a running create-tunnel flow, while it shows (scripts and tests can fill it). */
  inputs: { forward?: vscode.InputBox };
}

/** A create-tunnel argument: a TunnelSpec, or a server plus an OpenSSH-style forward. */
export type CreateTunnelArg = TunnelSpec | { server: string; forward: string; name?: string };

/** Called from the palette or a tree item: a person is there to answer and to read errors. */
function interactive(args: unknown[]): boolean {
  return args.length === 0 || args[0] === undefined || isTreeNode(args[0]);
}

export function toSpec(arg: CreateTunnelArg): TunnelSpec {
  if ('forward' in arg && typeof arg.forward === 'string') {
    const parsed = parseForward(arg.forward);
    if (!parsed.ok) throw new TunnelError('INVALID_SPEC', parsed.error);
    return { server: arg.server, name: arg.name, ...parsed.forward };
  }
  return arg as TunnelSpec;
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { manager, servers, settingsTunnels, catalogue, prompts, log } = deps;
  const t = vscode.l10n.t;

  const register = (id: string, handler: (...args: unknown[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (err) {
        log.error(`${id}: ${errorMessage(err)}`);
        if (!interactive(args)) throw err;
        void showError(err);
        return undefined;
      }
    });

  /** Shows an error with the action that gets the person past it. */
  async function showError(err: unknown, retry?: (spec: Partial<TunnelSpec>) => Promise<unknown>): Promise<void> {
    const message = errorMessage(err);
    const code = err instanceof TunnelError ? err.code : (err as { code?: string })?.code;
    const details = (err as { details?: Record<string, unknown> })?.details ?? {};
    const showLog = t('Show Log');
    if (code === 'PORT_IN_USE' && retry) {
      const suggestion = typeof details.suggestion === 'number' ? details.suggestion : undefined;
      const use = suggestion !== undefined ? t('Use port {0}', suggestion) : undefined;
      const any = t('Use any free port');
      const choice = await vscode.window.showErrorMessage(message, ...[use, any].filter((x): x is string => !!x));
      if (choice === use) await retry({ localPort: suggestion }).catch((e) => showError(e, retry));
      else if (choice === any) await retry({ localPort: 0 }).catch((e) => showError(e, retry));
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
      else if (choice === again && retry) await retry({}).catch((e) => showError(e, retry));
      return;
    }
    if ((await vscode.window.showErrorMessage(message, showLog)) === showLog) log.show(true);
  }

  async function pickServer(): Promise<string | undefined> {
    const list = servers.list();
    const addItem: vscode.QuickPickItem = { label: `$(add) ${t('Add a server…')}`, alwaysShow: true };
    const items: vscode.QuickPickItem[] = [
      ...list.map((s) => ({
        label: s.host,
        description: `${s.user ? s.user + '@' : ''}${s.hostName ?? s.host}${s.port ? ':' + s.port : ''}`,
        detail: manager.serverStatus(s.host).state,
      })),
      addItem,
    ];
    const picked = await vscode.window.showQuickPick(items, { title: t('Create SSH tunnel (1/3): server'), placeHolder: t('Which server carries the tunnel?') });
    if (!picked) return undefined;
    if (picked === addItem) return (await vscode.commands.executeCommand<string | undefined>(COMMANDS.addServer)) ?? undefined;
    return picked.label;
  }

  async function pickType(): Promise<ForwardType | undefined> {
    const items: (vscode.QuickPickItem & { type: ForwardType })[] = [
      { type: 'local', label: `$(arrow-right) ${t('Local (-L)')}`, detail: t('A port on this machine reaches a host:port through the server (databases, dashboards).') },
      { type: 'remote', label: `$(arrow-left) ${t('Remote (-R)')}`, detail: t('A port on the server reaches a host:port from this machine, or is a SOCKS proxy that reaches what this machine can.') },
      { type: 'dynamic', label: `$(globe) ${t('Dynamic SOCKS (-D)')}`, detail: t('A SOCKS proxy on this machine that reaches anything the server can.') },
    ];
    return (await vscode.window.showQuickPick(items, { title: t('Create SSH tunnel (2/3): type') }))?.type;
  }

  /** The forward input box; validates as the person types and refuses to accept a bad forward. */
  async function askForward(type: ForwardType): Promise<string | undefined> {
    const box = vscode.window.createInputBox();
    box.title = t('Create SSH tunnel (3/3): ports and hosts');
    box.prompt = t('OpenSSH form: {0}', FORWARD_EXAMPLES[type]);
    box.placeholder = type === 'dynamic' ? '1080'
      : type === 'local' ? t('8080:localhost:80, 2375:/var/run/docker.sock or /tmp/db.sock:db:5432')
        : t('9000:localhost:3000, 9000:/tmp/app.sock, or 1080 alone for a SOCKS proxy on the server');
    box.ignoreFocusOut = true;
    const check = (value: string) => {
      const parsed = parseForward(value, type);
      box.validationMessage = value.trim() === '' || parsed.ok ? undefined : parsed.error;
      return parsed.ok;
    };
    deps.inputs.forward = box;
    return new Promise<string | undefined>((resolve) => {
      let done = false;
      const finish = (value: string | undefined) => {
        if (done) return;
        done = true;
        if (deps.inputs.forward === box) deps.inputs.forward = undefined;
        box.dispose();
        resolve(value);
      };
      box.onDidChangeValue(check);
      box.onDidAccept(() => {
        if (check(box.value)) finish(box.value);
      });
      box.onDidHide(() => finish(undefined));
      box.show();
    });
  }

  /** A person's tunnel, through the catalogue's front door (a script may open it as an agent's). */
  async function openAsPerson(spec: TunnelSpec): Promise<TunnelInfo> {
    const opened = await catalogue.open(spec, spec.openedBy === 'agent' ? 'agent' : 'person');
    if (opened.peer) throw servedByPeerError(opened.peer);
    return opened.here;
  }

  async function openInteractively(spec: TunnelSpec): Promise<TunnelInfo | undefined> {
    const attempt = async (change: Partial<TunnelSpec>): Promise<TunnelInfo> => {
      spec = { ...spec, ...change };
      const info = await openAsPerson(spec);
      void vscode.window.setStatusBarMessage(t('Tunnel {0} is open', tunnelLabel(info)), 4000);
      return info;
    };
    try {
      return await attempt({});
    } catch (err) {
      log.error(`createTunnel: ${errorMessage(err)}`);
      void showError(err, attempt);
      return undefined;
    }
  }

  async function createTunnel(...args: unknown[]): Promise<TunnelInfo | undefined> {
    const arg = args[0];
    if (arg !== undefined && !isTreeNode(arg)) return openAsPerson(toSpec(arg as CreateTunnelArg));
    const server = isTreeNode(arg) && arg.kind === 'server' ? arg.name : await pickServer();
    if (!server) return undefined;
    const type = await pickType();
    if (!type) return undefined;
    const forward = await askForward(type);
    if (forward === undefined) return undefined;
    const parsed = parseForward(forward, type);
    if (!parsed.ok) throw new TunnelError('INVALID_SPEC', parsed.error);
    return openInteractively({ server, ...parsed.forward });
  }

  /** The open tunnel an argument names (tree node, id, TunnelInfo), or one the person picks. */
  async function resolveTunnel(arg: unknown, title: string): Promise<TunnelInfo | undefined> {
    let id: string | undefined;
    if (isTreeNode(arg) && arg.kind === 'elsewhere') {
      throw new TunnelError('SERVED_ELSEWHERE', t('This tunnel is served by another process; only Close and Restart reach it from here.'));
    }
    if (typeof arg === 'string') id = arg;
    else if (isTreeNode(arg) && arg.kind === 'tunnel') id = arg.id;
    else if (arg && typeof arg === 'object' && typeof (arg as { id?: unknown }).id === 'string') id = (arg as { id: string }).id;
    if (id !== undefined) {
      const info = manager.getTunnel(id);
      if (!info) throw new TunnelError('INVALID_SPEC', t('No open tunnel has id {0}.', JSON.stringify(id)));
      return info;
    }
    const open = manager.listTunnels();
    if (open.length === 0) {
      void vscode.window.showInformationMessage(t('No tunnels are open.'));
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      open.map((info) => ({ label: tunnelLabel(info), description: `${describeTunnel(info)} · ${info.server} · ${info.state}`, info })),
      { title },
    );
    return picked?.info;
  }

  function serverName(arg: unknown): string | undefined {
    if (typeof arg === 'string') return arg;
    if (isTreeNode(arg)) return arg.kind === 'server' ? arg.name : arg.server;
    if (arg && typeof arg === 'object' && typeof (arg as { name?: unknown }).name === 'string') return (arg as { name: string }).name;
    return undefined;
  }

  /** The peers, asked about a tunnel one of them serves as its own person would ask. */
  function owner(): PeerTunnels {
    if (!deps.peers) throw new TunnelError('PEER_GONE', t('Other processes\' tunnels are not available in this window.'));
    return deps.peers;
  }

  async function closeTunnel(arg?: unknown): Promise<void> {
    if (isTreeNode(arg) && arg.kind === 'configured') {
      if (!arg.key.startsWith(CONFIG_FORWARD_PREFIX)) await settingsTunnels.stop(arg.key);
      return;
    }
    if (isTreeNode(arg) && arg.kind === 'elsewhere') return owner().close(arg.peerId, arg.id);
    const info = await resolveTunnel(arg, t('Close which tunnel?'));
    if (!info) return;
    // A person's close: the catalogue keeps a settings tunnel stopped from it.
    await manager.closeTunnel(info.id, 'person');
  }

  async function startTunnel(arg?: unknown): Promise<TunnelInfo | undefined> {
    let key = typeof arg === 'string' ? arg : isTreeNode(arg) && arg.kind === 'configured' ? arg.key : undefined;
    if (key === undefined) {
      const fromConfig = stoppedConfigForwards(servers, (k) => catalogue.isRunning(k));
      const stopped = [
        ...settingsTunnels.stopped().map((c) => ({ label: c.spec.name ?? c.key, description: c.spec.server, key: c.key })),
        ...fromConfig.map((f) => ({ label: configuredDescription(f.spec), description: `${f.spec.server} · ssh config`, key: f.key })),
      ];
      if (stopped.length === 0) {
        void vscode.window.showInformationMessage(t('Every tunnel in the settings is running. Use "Create Tunnel" for a new one.'));
        return undefined;
      }
      const picked = await vscode.window.showQuickPick(stopped, { title: t('Start which tunnel?') });
      key = picked?.key;
      if (!key) return undefined;
    }
    if (key.startsWith(CONFIG_FORWARD_PREFIX)) return startConfigForward(key);
    return settingsTunnels.start(key);
  }

  /** Starts a forward of the ssh config (the tree's start action on it). */
  async function startConfigForward(key: string): Promise<TunnelInfo> {
    const forward = configForwards(servers).find((f) => f.key === key);
    if (!forward) throw new TunnelError('INVALID_SPEC', t('No forward {0} in the ssh config.', key.slice(CONFIG_FORWARD_PREFIX.length)));
    const info = await catalogue.startForward(key, forward.spec);
    deps.refreshTree();
    return info;
  }

  async function restartTunnel(arg?: unknown): Promise<TunnelInfo | undefined> {
    if (isTreeNode(arg) && arg.kind === 'configured') return startTunnel(arg.key);
    if (isTreeNode(arg) && arg.kind === 'elsewhere') return owner().restart(arg.peerId, arg.id);
    const info = await resolveTunnel(arg, t('Restart which tunnel?'));
    if (!info) return undefined;
    // A settings entry reopens from its definition; any other on the ports it really had.
    return catalogue.restart(info.id);
  }

  async function keepTunnel(arg?: unknown): Promise<Record<string, unknown> | undefined> {
    const info = await resolveTunnel(arg, t('Keep which tunnel in the workspace settings?'));
    if (!info) return undefined;
    const entry = await keepInWorkspaceSettings(info, settingsTunnels, log);
    if (interactive([arg])) void vscode.window.setStatusBarMessage(t('{0} is now in the workspace settings (sshTunnels.tunnels)', tunnelLabel(info)), 4000);
    return entry;
  }

  async function closeAll(arg?: unknown): Promise<number> {
    const server = arg === undefined ? undefined : serverName(arg);
    const open = manager.listTunnels(server);
    if (server !== undefined) await manager.closeServer(server, 'person');
    else await Promise.all(open.map((info) => manager.closeTunnel(info.id, 'person').catch(() => undefined)));
    log.info(`Closed ${plural(open.length, 'tunnel')}${server ? ` of ${server}` : ''}.`);
    return open.length;
  }

  async function copyLocalAddress(arg?: unknown): Promise<string | undefined> {
    const info = await resolveTunnel(arg, t('Copy the address of which tunnel?'));
    if (!info) return undefined;
    const address = localAddress(info) ?? info.remotePath ?? `${info.remoteHost}:${info.remotePort}`;
    await vscode.env.clipboard.writeText(address);
    void vscode.window.setStatusBarMessage(t('Copied {0}', address), 3000);
    return address;
  }

  async function openInBrowser(arg?: unknown): Promise<string | undefined> {
    const info = await resolveTunnel(arg, t('Open which tunnel in the browser?'));
    if (!info) return undefined;
    if (info.type !== 'local') throw new TunnelError('INVALID_SPEC', t('Only local (-L) tunnels lead to a web page on this machine; {0} is {1}.', info.name, info.type));
    if (info.localPath !== undefined) throw new TunnelError('INVALID_SPEC', t('{0} listens on the socket file {1}, which a browser cannot open; try curl --unix-socket {1} http://localhost/.', info.name, info.localPath));
    const url = `http://${localAddress(info)}/`;
    await vscode.env.openExternal(vscode.Uri.parse(url));
    return url;
  }

  async function pickServerName(arg: unknown, title: string): Promise<string | undefined> {
    const name = serverName(arg);
    if (name) return name;
    const picked = await vscode.window.showQuickPick(servers.list().map((s) => s.host), { title });
    return picked;
  }

  async function connectServer(arg?: unknown): Promise<ServerStatus | undefined> {
    const name = await pickServerName(arg, t('Connect which server?'));
    if (!name) return undefined;
    return manager.connectServer(name);
  }

  async function disconnectServer(arg?: unknown): Promise<void> {
    const name = await pickServerName(arg, t('Disconnect which server?'));
    if (!name) return;
    await manager.disconnectServer(name, 'person');
  }

  async function addServer(arg?: unknown, target?: unknown): Promise<string | undefined> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const where = target === 'workspace' ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    const inspected = config.inspect<unknown[]>('servers');
    const current = (where === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue) ?? [];
    const taken = new Set(servers.list().map((s) => s.host));
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
    deps.refreshTree();
    return entry.host as string;
  }

  async function forgetSecrets(arg?: unknown): Promise<number> {
    const server = arg === undefined ? undefined : serverName(arg);
    manager.forgetSecrets(server);
    const removed = await prompts.forget(server);
    log.info(`Forgot ${plural(removed, 'saved secret')}${server ? ` of ${server}` : ''}.`);
    if (interactive([arg])) void vscode.window.showInformationMessage(removed === 1 ? t('Forgot 1 saved secret.') : t('Forgot {0} saved secrets.', removed));
    return removed;
  }

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
    register(COMMANDS.openSettings, () => vscode.commands.executeCommand('workbench.action.openSettings', `@ext:tunnelworks.ssh-tunnels`)),
    register(COMMANDS.forgetSecrets, forgetSecrets),
    register(COMMANDS.refresh, () => deps.refreshTree()),
    register(COMMANDS.focus, () => vscode.commands.executeCommand(`${VIEW_ID}.focus`)),
    register(COMMANDS.keepTunnel, keepTunnel),
  ];
}
