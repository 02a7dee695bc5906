// Links that open a tunnel, for a README or a runbook:
//   vscode://tunnelworks.ssh-tunnels/open?tunnel=postgres                      (a tunnel of the settings)
//   vscode://tunnelworks.ssh-tunnels/open?server=db&forward=5432:localhost:5432 (as ssh writes it)
//   vscode://tunnelworks.ssh-tunnels/open?server=db&type=local&remotePort=5432  (the fields of the settings)
// The person is always asked first, shown everything the link would do; agents' loopback rule applies.
import * as vscode from 'vscode';
import { isUsable, servesSame, type TunnelCatalogue } from '../../catalogue';
import { parseForward } from '../../config/forwardSpec';
import { errorMessage, type TunnelInfo, type TunnelManager } from '../../engine';
import { describePeer, type PeerTunnel, type PeerTunnels } from '../../peers';
import { usage } from '../../tools';
import { SshTunnelsError } from './errors';
import { OPEN_PATH } from './ids';
import type { Requests, Target } from './requests';

export interface LinkDeps {
  requests: Requests;
  catalogue: TunnelCatalogue;
  manager: TunnelManager;
  peers?: PeerTunnels;
  log: vscode.LogOutputChannel;
}

/** The request a link's query makes: `tunnel=NAME`, `server` and `forward`, or the spec's fields. */
export function requestOfQuery(query: string): unknown {
  const params = new URLSearchParams(query);
  const fields: Record<string, string> = {};
  for (const [k, v] of params) fields[k] = v;
  if (fields.tunnel !== undefined) return { ...fields };
  if (fields.forward !== undefined) {
    const { forward, server, name, ...rest } = fields;
    if (Object.keys(rest).length) throw new SshTunnelsError('INVALID_SPEC', `A link with forward takes only server and name besides (got ${Object.keys(rest).join(', ')}).`);
    const parsed = parseForward(forward);
    if (!parsed.ok) throw new SshTunnelsError('INVALID_SPEC', parsed.error);
    return { server, ...(name !== undefined ? { name } : {}), ...parsed.forward };
  }
  return fields;
}

export class TunnelLinks implements vscode.UriHandler {
  constructor(private readonly deps: LinkDeps) {}

  async handleUri(uri: vscode.Uri): Promise<void> {
    const t = vscode.l10n.t;
    const link = uri.toString(true);
    try {
      if (uri.path !== OPEN_PATH) throw new SshTunnelsError('INVALID_SPEC', t('This link does nothing: SSH Tunnels links end in {0}?… (a tunnel=NAME, or a server with a forward).', OPEN_PATH));
      const target = this.deps.requests.parse(requestOfQuery(uri.query), t('The link'), { loopback: true });
      const open = t('Open Tunnel');
      const choice = await vscode.window.showWarningMessage(
        t('Open an SSH tunnel from a link?'),
        { modal: true, detail: `${this.deps.requests.describe(target, t('This link'))} ${t('It opens as one of your own tunnels, as if you had created it.')}\n\n${t('The link: {0}', link)}` },
        open,
      );
      if (choice !== open) {
        this.deps.log.info(`Link ${link}: not opened (the person did not confirm).`);
        return;
      }
      const { info, peer, already } = await this.open(target);
      const where = `${usage(info)}${peer ? ` ${t('(served by {0})', describePeer(peer.peer))}` : ''}`;
      this.deps.log.info(`Link ${link}: ${already ? 'already open' : 'opened'} ${info.name}.`);
      void vscode.window.showInformationMessage(already ? t('{0} is already open. {1}', info.name, where) : t('{0} is open. {1}', info.name, where));
    } catch (err) {
      this.deps.log.warn(`Link ${link}: ${errorMessage(err)}`);
      void vscode.window.showErrorMessage(t('Could not open the tunnel of the link: {0}', errorMessage(err)));
    }
  }

  /** Opens what a confirmed link names, as the person's: a settings tunnel starts; one open already is only shown. */
  private async open(target: Target): Promise<{ info: TunnelInfo; peer?: PeerTunnel; already?: boolean }> {
    const { catalogue, manager, peers } = this.deps;
    if (target.kind === 'entry') {
      const entry = catalogue.get(target.key);
      if (entry?.state.kind === 'elsewhere') return { info: entry.state.served.info, peer: entry.state.served, already: true };
      const running = entry?.state.kind === 'running' ? manager.getTunnel(entry.state.tunnelId) : undefined;
      if (running) return { info: running, already: true };
      return { info: await catalogue.start(target.key) };
    }
    const spec = this.deps.requests.spec(target);
    const here = manager.listTunnels(spec.server).find((t) => isUsable(t) && servesSame(spec, t));
    if (here) return { info: here, already: true };
    const served = peers?.list(spec.server).find((t) => isUsable(t.info) && servesSame(spec, t.info));
    if (served) return { info: served.info, peer: served, already: true };
    const opened = await catalogue.open(spec, 'person');
    if (opened.peer) return { info: opened.peer.info, peer: opened.peer, already: true };
    return { info: opened.here };
  }
}
