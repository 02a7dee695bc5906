// Forwards written in ~/.ssh/config (LocalForward, RemoteForward, DynamicForward): shown under
// their server as stopped tunnels and started with one click, as `openedBy: 'sshConfig'`; the
// catalogue tracks the one started as its entry's tunnel, by id.
import type { ServerSource, TunnelSpec } from '../engine';

/** Tree keys of config forwards start with this, so they never meet a settings tunnel's key. */
export const CONFIG_FORWARD_PREFIX = 'sshConfig:';

export interface ConfigForward {
  key: string;
  spec: TunnelSpec;
}

/** Where a forward listens: the local port for -L/-D, the server port for -R. */
function listenPort(t: Pick<TunnelSpec, 'type' | 'localPort' | 'remotePort'>): number | undefined {
  return t.type === 'remote' ? t.remotePort : t.localPort;
}

/** The socket file a forward listens on instead of a port, if any. */
function listenPath(t: Pick<TunnelSpec, 'type' | 'localPath' | 'remotePath'>): string | undefined {
  return t.type === 'remote' ? t.remotePath : t.localPath;
}

export function configForwardKey(spec: TunnelSpec): string {
  const host = spec.type === 'remote' ? (spec.remoteHost ?? '') : (spec.localHost ?? '127.0.0.1');
  return `${CONFIG_FORWARD_PREFIX}${spec.server}|${spec.type}|${listenPath(spec) ?? `${host}:${listenPort(spec)}`}`;
}

/** A server source that may also read forwards from an ssh config (ServerRegistry does). */
export interface ForwardSource extends ServerSource {
  /** The config's forwards of a server, or of all servers. */
  tunnels?(server?: string): TunnelSpec[];
}

/** Whether a forward's entry has its tunnel running (the catalogue answers, by tunnel id). */
export type RunningCheck = (key: string) => boolean;

/** The config's forwards of a server (all servers when none is given), if the source reads a config. */
export function configForwards(servers: ForwardSource, server?: string): ConfigForward[] {
  return (servers.tunnels?.(server) ?? []).map((spec) => ({ key: configForwardKey(spec), spec }));
}

/** The config's forwards of a server that are not running now: the tree shows them as stopped. */
export function stoppedConfigForwards(servers: ForwardSource, isRunning: RunningCheck, server?: string): ConfigForward[] {
  return configForwards(servers, server).filter((f) => !isRunning(f.key));
}
