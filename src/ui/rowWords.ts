// How a tunnel is said in the view, the status bar and the pickers: its label (its name, or where
// it listens), where it leads and which side listens, its state in words, and all of it as one
// sentence for screen readers (as the Ports view says "Remote port … forwarded to local address …").
import * as vscode from 'vscode';
import { localEnd, makeAddress, remoteEnd, type TunnelInfo, type TunnelSpec } from '../engine';
import { isLoopback } from '../tools';

/** What the words are made from: an open tunnel's info, or a spec not running (see factsOfSpec). */
export type TunnelFacts = Pick<TunnelInfo, 'type' | 'server' | 'localHost' | 'localPort' | 'remoteHost' | 'remotePort' | 'localPath' | 'remotePath' | 'socks'> & {
  name?: string;
  nameGiven?: boolean;
};

/** A spec as the tunnel would open (loopback and the ports it asks for), named only if it has a name. */
export function factsOfSpec(spec: TunnelSpec): TunnelFacts {
  return {
    type: spec.type,
    server: spec.server,
    localHost: spec.localHost ?? '127.0.0.1',
    localPort: spec.localPort,
    remoteHost: spec.remoteHost ?? (spec.type === 'remote' ? '127.0.0.1' : spec.type === 'local' ? 'localhost' : undefined),
    remotePort: spec.remotePort,
    ...(spec.localPath !== undefined ? { localPath: spec.localPath } : {}),
    ...(spec.remotePath !== undefined ? { remotePath: spec.remotePath } : {}),
    ...(spec.socks ? { socks: true } : {}),
    ...(spec.name ? { name: spec.name, nameGiven: true } : {}),
  };
}

function port(p: number | undefined): string {
  return p ? String(p) : vscode.l10n.t('any port');
}

/** host:port, or "host (any free port)" for port 0, which asks for one. */
function address(host: string | undefined, p: number | undefined): string {
  return p ? makeAddress(host, p) : vscode.l10n.t('{0} (any free port)', host ?? '');
}

/** A port alone when it listens on loopback (the usual case), else the whole address: what is unusual shows. */
function shortAddress(host: string | undefined, p: number | undefined): string {
  return host === undefined || host === '' || !isLoopback(host) ? makeAddress(host || '*', p ?? 0) : port(p);
}

/** Where it listens, short: `8080` (loopback here), `0.0.0.0:8080`, a socket path, or `db:9000` on the server. */
export function listenText(f: TunnelFacts): string {
  if (f.type === 'remote') return `${f.server}:${f.remotePath ?? shortAddress(f.remoteHost, f.remotePort)}`;
  return f.localPath ?? shortAddress(f.localHost, f.localPort);
}

/** What the row is called: its given name, or where it listens. */
export function rowLabel(f: TunnelFacts): string {
  return f.nameGiven && f.name ? f.name : listenText(f);
}

/** Where it goes and which side listens, to follow the label (which is the listening end when unnamed). */
export function whereText(f: TunnelFacts): string {
  const t = vscode.l10n.t;
  const named = !!(f.nameGiven && f.name);
  const here = f.localPath ?? address(f.localHost, f.localPort);
  switch (f.type) {
    case 'local':
      return named ? `${f.localPath ?? here} → ${remoteEnd(f)}` : `→ ${remoteEnd(f)}`;
    case 'dynamic':
      return named ? t('SOCKS proxy on {0}', here) : t('SOCKS proxy');
    case 'remote':
      if (f.socks) return named ? t('SOCKS proxy on {0}', listenText(f)) : t('SOCKS proxy on the server');
      return named ? t('{0} → {1} here', listenText(f), localEnd(f)) : t('→ {0} here', localEnd(f));
  }
}

/** The forward as ssh's option writes it (`-L 127.0.0.1:8080:web:80`): what the forward box takes back. */
export function forwardFlagText(f: Omit<TunnelFacts, 'server'>): string {
  const esc = (h: string | undefined) => (h && h.includes(':') ? `[${h}]` : (h ?? ''));
  const localSide = f.localPath ?? `${esc(f.localHost)}:${f.localPort}`;
  const remoteSide = f.remotePath ?? `${esc(f.remoteHost)}:${f.remotePort}`;
  if (f.type === 'dynamic') return `-D ${esc(f.localHost)}:${f.localPort}`;
  if (f.type === 'local') return `-L ${localSide}:${remoteSide}`;
  if (f.socks) return `-R ${remoteSide}`;
  return `-R ${remoteSide}:${localSide}`;
}

/** The forward in OpenSSH's words (`ssh -L 127.0.0.1:8080:web:80 db`), for those who think in them. */
export function sshCommand(f: TunnelFacts): string {
  return `ssh ${forwardFlagText(f)} ${f.server}`;
}

/** The forward as a sentence, without its state: what a screen reader says before the state. */
export function forwardSentence(f: TunnelFacts): string {
  const t = vscode.l10n.t;
  const here = f.localPath ?? address(f.localHost, f.localPort);
  const there = f.remotePath ?? address(f.remoteHost, f.remotePort);
  const what = (() => {
    switch (f.type) {
      case 'local':
        return t('local address {0} forwarded to {1} through server {2}', here, there, f.server);
      case 'dynamic':
        return t('SOCKS proxy at local address {0} through server {1}', here, f.server);
      case 'remote':
        return f.socks
          ? t('SOCKS proxy at {0} on server {1}, reaching what this machine can', there, f.server)
          : t('address {0} on server {1} forwarded to local address {2}', there, f.server, here);
    }
  })();
  return f.nameGiven && f.name ? `${f.name}: ${what}` : what;
}

/** What kind of forward, in words, for pickers and tooltips. */
export function kindText(f: Pick<TunnelFacts, 'type' | 'socks'>): string {
  const t = vscode.l10n.t;
  if (f.type === 'local') return t('Local forward (-L)');
  if (f.type === 'dynamic') return t('SOCKS proxy (-D)');
  return f.socks ? t('SOCKS proxy on the server (-R)') : t('Remote forward (-R)');
}

/** A running tunnel's state in a word or two: what the row and the status bar say when it is not simply active. */
export function stateText(info: Pick<TunnelInfo, 'state' | 'targetError'>): string {
  const t = vscode.l10n.t;
  switch (info.state) {
    case 'connecting':
      return t('connecting…');
    case 'reconnecting':
      return t('reconnecting…');
    case 'failed':
      return t('failed');
    case 'closed':
      return t('stopped');
    case 'active':
      return info.targetError ? t('target unreachable') : t('active');
  }
}
