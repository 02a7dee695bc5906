// What a process wants of a tunnel, whoever asked for it, and the state it is in: the catalogue's
// vocabulary (src/catalogue/catalogue.ts), shared with the UI that shows it.
import type { CloseReason, TunnelError, TunnelInfo, TunnelOrigin, TunnelSpec } from '../engine';
import type { PeerTunnel } from '../peers';

export type WantedSource = 'settings' | 'sshConfig' | 'restore' | 'agent' | 'person' | 'extension';

/** Who wants a tunnel once (rather than as an entry of the settings or the ssh config): it is kept as theirs while it runs. */
export type OnceSource = Extract<WantedSource, 'person' | 'agent' | 'restore' | 'extension'>;

export function isOnceSource(source: WantedSource | undefined): source is OnceSource {
  return source === 'person' || source === 'agent' || source === 'restore' || source === 'extension';
}

export interface WantedTunnel {
  /** Stable across edits: a settings key, a config forward's key, or `tunnel:<id>` for one opened once. */
  key: string;
  source: WantedSource;
  spec: TunnelSpec;
  /** A change of it means a restart. */
  fingerprint: string;
  autoStart: boolean;
  /** false: a busy local port is no failure; the next free one is taken (VS Code's requireLocalPort). */
  requireLocalPort?: boolean;
}

export type WantedState =
  | { kind: 'stopped'; reason?: CloseReason }
  | { kind: 'opening' }
  | { kind: 'running'; tunnelId: string }
  | { kind: 'failed'; code?: string; message: string }
  /** Its tunnel runs elsewhere: a peer serves it. */
  | { kind: 'elsewhere'; served: PeerTunnel };

export interface CatalogueEntry extends WantedTunnel {
  readonly state: WantedState;
  /** A person (or an agent) stopped it: it stays stopped until its definition changes or a person starts it. */
  readonly personStopped: boolean;
}

/** Why an entry could not be opened, with nobody else serving it: the moment to tell the person. */
export interface OpenFailure {
  entry: CatalogueEntry;
  error: unknown;
}

/** An entry opened on another local port than its own, which was busy: `busy` says by whom. */
export interface MovedPort {
  entry: CatalogueEntry;
  info: TunnelInfo;
  busy: TunnelError;
}

/** Keys of tunnels opened once (by a person, an agent, a restore) start with this. */
export const TUNNEL_KEY_PREFIX = 'tunnel:';

/** Whether a key is that of a tunnel opened once. */
export function isOnceKey(key: string): boolean {
  return key.startsWith(TUNNEL_KEY_PREFIX);
}

/** The origin a tunnel of each source is opened with. */
export const ORIGIN: Record<WantedSource, TunnelOrigin> = { settings: 'settings', sshConfig: 'sshConfig', restore: 'person', agent: 'agent', person: 'person', extension: 'extension' };

