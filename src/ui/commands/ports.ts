// "Forward a Port from Server…": from the palette or a server's inline action, lists what the
// server listens on (ports, Unix sockets, their processes; those already forwarded marked) and
// opens the picked one through the catalogue's front door, on the same local port when it is free
// (else the next free one, said), as the person's.
import * as vscode from 'vscode';
import { describeProcesses, describeScope, TunnelError, tunnelsReaching, type ListeningPort, type ListeningSocket, type TunnelInfo, type TunnelSpec } from '../../engine';
import { servedByPeerError } from '../../catalogue';
import { localAddress, tunnelLabel } from '../tree';
import type { CommandDeps } from './deps';
import { pickServerName, serverName } from './targets';

/** An argument that names the listener at once (scripts, tests): `{ server, port }` or `{ server, path }`. */
export interface ForwardPortArg {
  server: string;
  port?: number;
  path?: string;
}

type Listener = ListeningPort | ListeningSocket;
type Item = vscode.QuickPickItem & { listener?: Listener; forwardedBy?: TunnelInfo[] };

/** The local port a listener is opened on: its own, or 8000 above a privileged one (80 → 8080) where this user may not bind it; any for a socket. */
export function localPortFor(listener: Listener, platform: NodeJS.Platform = process.platform, uid = process.getuid?.()): number {
  if ('path' in listener) return 0;
  const privileged = listener.port < 1024 && platform !== 'win32' && platform !== 'darwin' && uid !== 0;
  return privileged ? listener.port + 8000 : listener.port;
}

function items(listeners: Listener[], tunnels: TunnelInfo[]): Item[] {
  const t = vscode.l10n.t;
  return listeners.map((listener) => {
    const forwardedBy = tunnelsReaching(listener, tunnels);
    const process = describeProcesses(listener.processes);
    const where = 'path' in listener ? t('Unix socket') : describeScope(listener);
    const forwarded = forwardedBy.length ? t('forwarded to {0}', forwardedBy.map((f) => localAddress(f)).join(', ')) : undefined;
    return {
      label: `${forwardedBy.length ? '$(pass-filled) ' : ''}${'path' in listener ? listener.path : listener.port}`,
      description: [where, process].filter(Boolean).join(' · '),
      detail: forwarded,
      listener,
      forwardedBy,
    };
  });
}

/** The quick pick of listeners; resolves with the one picked. The pick is in `deps.inputs.ports` while it shows. */
async function pickListener(deps: CommandDeps, server: string, listed: Item[], note: string): Promise<Item | undefined> {
  const pick = vscode.window.createQuickPick<Item>();
  pick.title = vscode.l10n.t('Forward a port from {0}', server);
  pick.placeholder = vscode.l10n.t('What {0} listens on{1}: pick one to forward here', server, note);
  pick.matchOnDescription = true;
  pick.items = listed;
  deps.inputs.ports = pick;
  return new Promise((resolve) => {
    let done = false;
    const finish = (item: Item | undefined) => {
      if (done) return;
      done = true;
      if (deps.inputs.ports === pick) deps.inputs.ports = undefined;
      pick.dispose();
      resolve(item);
    };
    pick.onDidAccept(() => finish(pick.selectedItems[0]));
    pick.onDidHide(() => finish(undefined));
    pick.show();
  });
}

export async function forwardPort(deps: CommandDeps, arg?: unknown): Promise<TunnelInfo | undefined> {
  const t = vscode.l10n.t;
  const direct = arg && typeof arg === 'object' && typeof (arg as ForwardPortArg).server === 'string' && ((arg as ForwardPortArg).port !== undefined || (arg as ForwardPortArg).path !== undefined) ? (arg as ForwardPortArg) : undefined;
  const server = direct?.server ?? serverName(arg) ?? (await pickServerName(deps, arg, t('Forward a port from which server?')));
  if (!server) return undefined;
  const listed = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: t('Listing what {0} listens on…', server) },
    () => deps.manager.listServerPorts(server),
  );
  const listeners: Listener[] = [...listed.tcp, ...listed.unix];
  const tunnels = [...deps.manager.listTunnels(server), ...(deps.peers?.list(server).map((p) => p.info) ?? [])];
  let item: Item | undefined;
  if (direct) {
    const listener = listeners.find((l) => ('path' in l ? l.path === direct.path : l.port === direct.port));
    if (!listener) throw new TunnelError('INVALID_SPEC', t('{0} does not listen on {1}.', server, String(direct.path ?? direct.port)));
    item = items([listener], tunnels)[0];
  } else {
    if (listeners.length === 0) {
      void vscode.window.showInformationMessage(t('{0} listens on no port (as {1} says).', server, listed.source));
      return undefined;
    }
    const note = listed.processesHidden ? t(' (processes of other users are not named)') : '';
    item = await pickListener(deps, server, items(listeners, tunnels), note);
  }
  if (!item?.listener) return undefined;
  const listener = item.listener;
  const already = item.forwardedBy?.find((f) => deps.manager.getTunnel(f.id));
  if (already) {
    void vscode.window.showInformationMessage(t('{0} is already forwarded to {1} ({2}).', item.label.replace(/^\$\([^)]+\) /, ''), localAddress(already) ?? '', tunnelLabel(already)));
    return already;
  }
  const spec: TunnelSpec = 'path' in listener
    ? { server, type: 'local', localPort: 0, remotePath: listener.path }
    : { server, type: 'local', localPort: localPortFor(listener), remoteHost: listener.target, remotePort: listener.port };
  const opened = await deps.catalogue.open(spec, 'person', { requireLocalPort: false });
  if (opened.peer) throw servedByPeerError(opened.peer);
  const info = opened.here;
  // A web port by its usual number speaks https.
  if ('port' in listener && (listener.port === 443 || listener.port === 8443)) deps.attributes.give(info.id, { protocol: 'https' });
  void tellForwarded(deps, info, listener, opened.busy);
  return info;
}

/** The notification of a forward: where it is, why not on its own port, and the page's actions. */
async function tellForwarded(deps: CommandDeps, info: TunnelInfo, listener: Listener, busy: TunnelError | undefined): Promise<void> {
  const t = vscode.l10n.t;
  const what = 'path' in listener ? listener.path : String(listener.port);
  const moved = busy ? ` ${busy.message.replace(/ Port \d+ is free\.$/, '')} ${t('It listens on port {0} instead.', info.localPort)}` : '';
  const message = t('Forwarded {0} from {1} to {2}.', what, info.server, localAddress(info) ?? '') + moved;
  deps.log.info(message);
  const open = t('Open in Browser');
  const copy = t('Copy Local Address');
  const choice = await vscode.window.showInformationMessage(message, open, copy);
  if (choice === open) await deps.attributes.opener.open(deps.attributes.pageUrl(info), 'browser', `${tunnelLabel(info)}: forwarded`);
  else if (choice === copy) await vscode.env.clipboard.writeText(deps.attributes.copyText(info) ?? '');
}
