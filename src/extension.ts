// Composition root: builds the engine, the server source and the UI, wires events, owns disposal.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as Published from 'ssh-tunnels-api';
import * as vscode from 'vscode';
import { defaultSshConfigPath, ServerRegistry } from './config/servers';
import { supervisionSettings as supervisionFromSettings } from './config/tunnelSettings';
import { errorMessage, installSsh2Adapter, plural, reportListenerErrors, TunnelManager, type ServerSource, type TunnelManagerOptions } from './engine';
import { Peers, type PeerTunnels } from './peers';
import { TunnelCatalogue } from './catalogue';
import { registerAgentTools } from './ui/agentTools';
import { startTunnelService, type TunnelService } from './ui/api';
import { COMMANDS, registerCommands, VIEW_ID } from './ui/commands';
import { Opener, TunnelAttributesOfWindow } from './ui/portAttributes';
import { copyMcpConfiguration } from './ui/mcpConfig';
import { problemReporter } from './ui/problemLog';
import { ConnectProgress } from './ui/progress';
import { VsCodePrompts } from './ui/prompts';
import { RestoredTunnels } from './ui/restore';
import { SECTION, settingValue, workspaceSettingsFiles } from './ui/settings';
import { SettingsFeed } from './ui/settingsFeed';
import { TunnelStatusBar } from './ui/statusBar';
import { StoppedTunnels } from './ui/stoppedTunnels';
import { FailureNotices } from './ui/failureNotices';
import { TunnelTreeProvider, type TreeNode } from './ui/tree';

/**
 * What activate() returns outside production (development, tests): the published API that other
 * extensions get (api/ssh-tunnels.d.ts, all they get in production) and the parts the test suites read.
 */
export interface SshTunnelsApi extends Published.SshTunnelsApi {
  manager: TunnelManager;
  servers: ServerSource;
  tree: TunnelTreeProvider;
  treeView: vscode.TreeView<unknown>;
  statusBar: TunnelStatusBar;
  /** The tunnels of the settings (`sshTunnels.tunnels`), as fed to the catalogue. */
  settingsTunnels: SettingsFeed;
  /** Every tunnel this window wants (settings, ssh config forwards, restored, a person's, an agent's) and its state. */
  catalogue: TunnelCatalogue;
  /** The tunnels this person's peers serve (other windows, `ssh-tunnels up`, `ssh-tunnels mcp`), when sharing started. */
  peers?: PeerTunnels;
  /** A person's tunnels, saved in the workspace state and reopened when the workspace opens again. */
  restored: RestoredTunnels;
  prompts: VsCodePrompts;
  progress: ConnectProgress;
  log: vscode.LogOutputChannel;
  /** The create-tunnel flow's forward and name boxes, and Forward a Port's pick, while they show. */
  inputs: { forward?: vscode.InputBox; name?: vscode.InputBox; ports?: vscode.QuickPick<vscode.QuickPickItem> };
  /** A person's tunnels they stopped, kept as stopped rows. */
  stopped: StoppedTunnels;
  /** Failures nobody asked for, told once each. */
  failures: FailureNotices;
  /** The tunnels' attributes (protocol, onForward) and the opener of their pages (what it opened). */
  attributes: TunnelAttributesOfWindow;
  /** Milliseconds activate() took, up to the first reconcile being started. */
  activationMs: number;
  /** Of those, what starting to share tunnels with other processes took: wall time, and the process's CPU time (its budget: 5 ms; wall time also counts waits for a busy machine's CPU). */
  peersStartMs: number;
  peersStartCpuMs: number;
  /** Resolves when the tunnels of the settings at activation have been opened (or failed). */
  ready: Promise<void>;
  /** Resolves when a person's tunnels of the last session have been reopened (or failed, or wait for trust). */
  restoring: Promise<void>;
  /** The API for other extensions, the task type, the variables and the links. */
  service: TunnelService;
}

let manager: TunnelManager | undefined;
let sharing: Peers | undefined;

/** `sshTunnels.servers` (trusted values only) merged with ~/.ssh/config. */
function createServerSource(context: vscode.ExtensionContext): ServerRegistry {
  const configPath = () => settingValue<string>('sshConfigFile').value?.trim() || undefined;
  // `Match exec` in the ssh config runs commands: only once the workspace is trusted.
  const registry = new ServerRegistry({ configPath: configPath(), settings: settingValue('servers').value, env: { allowExec: vscode.workspace.isTrusted } });
  context.subscriptions.push(
    registry,
    registry.watch(),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.servers`)) registry.setSettings(settingValue('servers').value);
      if (e.affectsConfiguration(`${SECTION}.sshConfigFile`)) registry.setConfigPath(configPath() ?? defaultSshConfigPath());
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      registry.setSettings(settingValue('servers').value);
      registry.setAllowExec(true);
      registry.setConfigPath(configPath() ?? defaultSshConfigPath());
    }),
  );
  return registry;
}

export function activate(context: vscode.ExtensionContext): SshTunnelsApi | Published.SshTunnelsApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel(vscode.l10n.t('SSH Tunnels'), { log: true });
  context.subscriptions.push(log);
  try {
    installSsh2Adapter();
  } catch (err) {
    // The extension cannot run on this ssh2: say so where people look, then fail activation.
    log.error(errorMessage(err));
    void vscode.window.showErrorMessage(errorMessage(err));
    throw err;
  }
  // A failing listener of an engine event is logged, not lost.
  reportListenerErrors((err) => log.error(`An event listener failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));

  const servers = createServerSource(context);
  const prompts = new VsCodePrompts(context.secrets, context.globalState, log);
  const engine = new TunnelManager({ servers, prompts, log: (m) => log.info(m), ...supervisionSettings() });
  manager = engine;

  const catalogue = new TunnelCatalogue({ manager: engine, log: (m) => log.info(m) });
  // Asked by another process about one of ours, this window does what its own person's command does.
  const peersStarted = performance.now();
  const peersCpu = process.cpuUsage();
  const peers = startPeers(engine, catalogue, log);
  const peersStartCpuMs = cpuMs(process.cpuUsage(peersCpu));
  const peersStartMs = performance.now() - peersStarted;
  sharing = peers;
  if (peers) catalogue.setPeers(peers);
  const settingsFeed = new SettingsFeed(catalogue, log);
  const restored = new RestoredTunnels(engine, catalogue, context.workspaceState, log);
  const stopped = new StoppedTunnels(engine, context.workspaceState);
  const tree = new TunnelTreeProvider(engine, servers, settingsFeed, catalogue, peers, stopped);
  const treeView = vscode.window.createTreeView<TreeNode>(VIEW_ID, { treeDataProvider: tree, showCollapseAll: false });
  const failures = new FailureNotices(engine, log, COMMANDS.connectServer);
  // A server's first tunnel shows at once: its row opens.
  const expandOnFirstChild = tree.onDidGainChildren((node) => void Promise.resolve(treeView.reveal(node, { expand: true, select: false, focus: false })).catch(() => undefined));
  const statusBar = new TunnelStatusBar(engine, () => servers.list().length > 0, COMMANDS.focus, peers);
  const progress = new ConnectProgress(engine);
  const inputs: SshTunnelsApi['inputs'] = {};
  const attributes = new TunnelAttributesOfWindow(engine, catalogue, settingsFeed, context.globalState, new Opener(), log);
  // Other extensions, tasks, launch configurations and links hold tunnels through the catalogue.
  const service = startTunnelService({ context, manager: engine, servers, catalogue, peers, settingsFeed, tree, log });

  // Each problem of the servers' settings or ssh config is logged once, when it appears.
  const reportServerProblems = problemReporter(log, 'Servers');
  const logProblems = () => reportServerProblems(servers.problems());
  logProblems();

  const setHasServers = () => void vscode.commands.executeCommand('setContext', 'sshTunnels.hasServers', servers.list().length > 0);
  setHasServers();

  // Live tooltip stats: refresh open tunnels' items every 2 s, only while the view is visible.
  let statsTimer: NodeJS.Timeout | undefined;
  const followVisibility = () => {
    if (treeView.visible && !statsTimer) statsTimer = setInterval(() => tree.refreshTunnels(), 2000);
    if (!treeView.visible && statsTimer) {
      clearInterval(statsTimer);
      statsTimer = undefined;
    }
  };
  followVisibility();

  context.subscriptions.push(
    prompts,
    tree,
    treeView,
    statusBar,
    progress,
    settingsFeed,
    catalogue,
    restored,
    stopped,
    failures,
    expandOnFirstChild,
    treeView.onDidChangeVisibility(followVisibility),
    { dispose: () => statsTimer && clearInterval(statsTimer) },
    attributes,
    ...registerCommands({ manager: engine, servers, settingsFeed, catalogue, peers, prompts, log, refreshTree: () => tree.refresh(), inputs, attributes, tree, view: treeView, stopped }),
    vscode.commands.registerCommand(COMMANDS.copyMcpConfig, () => copyMcpConfiguration(vscode, context.extensionPath)),
    // Agent tunnels open through the catalogue, kept as the agent's: never written to settings, closed by deactivate() with the rest.
    // A settings tunnel an agent closed (the person approved) stays stopped: the catalogue reads the close reason.
    // Agents see the tunnels the peers serve, reuse them rather than open a second, and close them through their owner.
    ...registerAgentTools({ manager: engine, servers, peers, door: catalogue }, log),
    ...service.disposables,
    servers.onDidChange(() => {
      logProblems();
      setHasServers();
      tree.refresh();
      statusBar.update();
    }),
    engine.onDidChangeServer((status) => {
      if (status.state === 'connected') prompts.connected(status.name);
      log.info(`${status.name}: ${status.state}${status.lastError && status.state !== 'connected' ? ` (${status.lastError})` : ''}`);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.tunnels`) || e.affectsConfiguration(`${SECTION}.servers`)) void settingsFeed.reconcile();
      if (e.affectsConfiguration(`${SECTION}.reconnect`) || e.affectsConfiguration(`${SECTION}.maxChannelsPerConnection`)) engine.configure(supervisionSettings());
    }),
    // Back at the window (often after a sleep): redial waiting servers now rather than at the next backoff step.
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) engine.checkConnections();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log.info('Workspace trusted: opening the tunnels of its settings.');
      void settingsFeed.reconcile();
    }),
  );
  // In Restricted Mode VS Code reports no change of restricted workspace settings: watch the files.
  for (const { file } of workspaceSettingsFiles()) {
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)),
    );
    const check = () => {
      if (!vscode.workspace.isTrusted) void settingsFeed.reconcile();
    };
    context.subscriptions.push(watcher, watcher.onDidChange(check), watcher.onDidCreate(check), watcher.onDidDelete(check));
  }

  const ready = settingsFeed.reconcile();
  // Not awaited here: a tunnel that needs a password must not hold up activation.
  const restoring = restored.restore();
  const activationMs = performance.now() - started;
  log.info(`Activated in ${activationMs.toFixed(1)} ms (sharing with other processes: ${peersStartMs.toFixed(2)} ms, ${peersStartCpuMs.toFixed(2)} ms of CPU).`);
  // Counted once the settings' tunnels are read and the ssh config is resolved (a large one is read in slices).
  void Promise.all([ready, servers.whenResolved()]).then(() => log.info(loadedSummary(servers, settingsFeed.configured().length)));
  // In production other extensions get the published API alone: what they open, the person approves.
  if (context.extensionMode === vscode.ExtensionMode.Production) return service.api;
  return { ...service.api, manager: engine, servers, tree, treeView, statusBar, settingsTunnels: settingsFeed, catalogue, peers, restored, prompts, progress, log, inputs, stopped, failures, attributes, activationMs, peersStartMs, peersStartCpuMs, ready, restoring, service };
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/**
 * Starts knowing the peers' tunnels (other windows, `ssh-tunnels up`, `ssh-tunnels
 * mcp`): synchronously only the runtime folder is checked; the rest happens after activation.
 */
function startPeers(engine: TunnelManager, catalogue: TunnelCatalogue, log: vscode.LogOutputChannel): Peers | undefined {
  const folder = vscode.workspace.workspaceFolders?.map((f) => f.name).join(', ') || undefined;
  try {
    return Peers.start({ kind: 'window', folder, manager: engine, actions: catalogue.ownerActions(), log: (m) => log.info(m) });
  } catch (err) {
    // Without it this window works alone, as before: every wanted tunnel is opened here.
    log.warn(`Tunnels of other processes are not shared: ${errorMessage(err)}`);
    return undefined;
  }
}

export async function deactivate(): Promise<void> {
  const m = manager;
  const p = sharing;
  manager = undefined;
  sharing = undefined;
  // Every tunnel closes with the reason `shutdown`: the saved list and the settings' state keep
  // them. The other processes hear of those closes first, then of this one's end: their cue to take over.
  if (p) await p.dispose(() => m?.dispose() ?? Promise.resolve());
  else await m?.dispose();
}

/** What loaded: servers by origin, those that cannot be used, and tunnels. */
function loadedSummary(servers: ServerRegistry, configuredTunnels: number): string {
  const list = servers.list();
  const fromSettings = list.filter((s) => servers.origin(s.alias) !== 'sshConfig').length;
  const broken = servers.brokenServers().length;
  return (
    `Loaded ${plural(list.length, 'server')} (${fromSettings} from sshTunnels.servers, ${list.length - fromSettings} from the ssh config only)` +
    `${broken ? `, ${broken} unusable (see the warnings)` : ''}; ${plural(configuredTunnels, 'configured tunnel')}, ${plural(servers.tunnels().length, 'forward')} in the ssh config.`
  );
}

/** Reconnect policy and channel limit from settings, in the engine's units. */
function supervisionSettings(): Pick<TunnelManagerOptions, 'reconnect' | 'maxChannelsPerConnection'> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const settings = supervisionFromSettings((key, fallback) => config.get(key, fallback));
  // A server down when a tunnel opens is waited for as one that dropped: the tunnel listens and opens once it answers.
  return { ...settings, reconnect: { ...settings.reconnect, retryFirstConnect: true } };
}
