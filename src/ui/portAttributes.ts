// What a tunnel's attributes (VS Code's remote.portsAttributes names: protocol, onForward) do in
// the window: the page a local tunnel serves (protocol://address/), what happens when a tunnel of
// the settings is forwarded (notify, open it in the browser, once ever, or in the Simple Browser),
// and the word when a busy local port made it listen on another. Pages open through `opener`, which
// records what it opened (tests read it, and may replace how it opens).
import * as vscode from 'vscode';
import { DisposableStore, type TunnelInfo, type TunnelManager } from '../engine';
import type { MovedPort, TunnelCatalogue } from '../catalogue';
import type { Protocol, TunnelAttributes } from '../config/tunnelSettings';
import type { SettingsFeed } from './settingsFeed';
import { localAddress, tunnelLabel } from './tree';

/** Where pages are opened: the browser (openExternal) or the editor's Simple Browser. */
export class Opener {
  /** Every page opened in this window's life, in order (what a test checks). */
  readonly opened: { url: string; where: 'browser' | 'preview'; why: string }[] = [];
  /** How a page reaches the browser; a test may replace it. */
  external: (uri: vscode.Uri) => Thenable<boolean> = (uri) => vscode.env.openExternal(uri);

  async open(url: string, where: 'browser' | 'preview', why: string): Promise<void> {
    this.opened.push({ url, where, why });
    if (where === 'preview') {
      // The Simple Browser is a built-in extension; without it the page goes to the browser.
      const shown = await vscode.commands.executeCommand('simpleBrowser.show', url).then(() => true, () => false);
      if (shown) return;
    }
    await this.external(vscode.Uri.parse(url));
  }
}

/** The key under which openBrowserOnce remembers, across restarts, that a tunnel's page was opened. */
const OPENED_ONCE = 'sshTunnels.openedOnce';

export class TunnelAttributesOfWindow implements vscode.Disposable {
  /** Attributes given to tunnels opened otherwise than from the settings (Forward a Port), by id. */
  private readonly given = new Map<string, TunnelAttributes>();
  /** Tunnels whose forward has been acted on (onForward runs once per tunnel). */
  private readonly forwarded = new Set<string>();
  private readonly disposables = new DisposableStore();

  constructor(
    private readonly manager: TunnelManager,
    private readonly catalogue: TunnelCatalogue,
    private readonly settings: SettingsFeed,
    private readonly memory: vscode.Memento,
    readonly opener: Opener,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.add(manager.onDidChangeTunnel((info) => {
      if (info.state === 'closed') {
        this.given.delete(info.id);
        this.forwarded.delete(info.id);
      } else if (info.state === 'active' && !this.forwarded.has(info.id)) this.onActive(info);
    }));
    // A settings tunnel is bound to its entry after it opened: its first 'active' may come first.
    this.disposables.add(catalogue.onDidChange(() => {
      for (const info of manager.listTunnels()) if (info.state === 'active' && !this.forwarded.has(info.id)) this.onActive(info);
    }));
    this.disposables.add(catalogue.onDidMovePort((moved) => this.saidMoved(moved)));
  }

  /** A tunnel's attributes: its settings entry's, or those given when it was opened. */
  of(tunnelId: string): TunnelAttributes {
    const key = this.catalogue.keyOf(tunnelId);
    const configured = key === undefined ? undefined : this.settings.configured().find((c) => c.key === key);
    return configured?.attributes ?? this.given.get(tunnelId) ?? {};
  }

  give(tunnelId: string, attributes: TunnelAttributes): void {
    this.given.set(tunnelId, attributes);
  }

  /** The page a local tunnel serves: protocol://address/ (http unless it says https). */
  pageUrl(info: TunnelInfo): string {
    return `${this.of(info.id).protocol ?? 'http'}://${localAddress(info)}/`;
  }

  /** What Copy Local Address copies: the address, or the page's URL when the tunnel names its protocol. */
  copyText(info: TunnelInfo): string | undefined {
    const address = localAddress(info);
    const protocol: Protocol | undefined = this.of(info.id).protocol;
    return address !== undefined && protocol && info.localPath === undefined ? `${protocol}://${address}/` : address;
  }

  private onActive(info: TunnelInfo): void {
    const key = this.catalogue.keyOf(info.id);
    // Not yet bound to its entry (settings), or opened with attributes: wait for the bind, or act now.
    if (key === undefined && !this.given.has(info.id)) return;
    this.forwarded.add(info.id);
    const { onForward } = this.of(info.id);
    if (!onForward || onForward === 'silent' || info.type !== 'local' || info.localPath !== undefined) return;
    const url = this.pageUrl(info);
    const label = tunnelLabel(info);
    if (onForward === 'openBrowser') void this.opener.open(url, 'browser', `${label}: onForward openBrowser`);
    else if (onForward === 'openPreview') void this.opener.open(url, 'preview', `${label}: onForward openPreview`);
    else if (onForward === 'openBrowserOnce') {
      const once = `${info.server}|${key ?? info.name}`;
      const done = this.memory.get<string[]>(OPENED_ONCE, []);
      if (done.includes(once)) return;
      void this.memory.update(OPENED_ONCE, [...done, once]);
      this.log.info(`${label}: opening ${url} once (onForward openBrowserOnce).`);
      void this.opener.open(url, 'browser', `${label}: onForward openBrowserOnce`);
    } else void this.notify(info, url);
  }

  /** onForward notify: the tunnel is there, with the page's actions. */
  private async notify(info: TunnelInfo, url: string): Promise<void> {
    const t = vscode.l10n.t;
    const open = t('Open in Browser');
    const copy = t('Copy Local Address');
    const choice = await vscode.window.showInformationMessage(t('{0} is forwarded to {1}', tunnelLabel(info), url), open, copy);
    if (choice === open) await this.opener.open(url, 'browser', `${tunnelLabel(info)}: notification`);
    else if (choice === copy) await vscode.env.clipboard.writeText(this.copyText(info) ?? url);
  }

  /** requireLocalPort false took another port: said, with who held the asked one. */
  private saidMoved({ entry, info, busy }: MovedPort): void {
    const held = busy.message.replace(/ Port \d+ is free\.$/, '').replace(/ Choose another port.*$/, '');
    const message = vscode.l10n.t('{0}: {1} It listens on port {2} instead (requireLocalPort is false).', entry.spec.name ?? entry.key, held, info.localPort);
    this.log.info(message);
    void vscode.window.showInformationMessage(message);
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
