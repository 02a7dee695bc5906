// Forwards written in ~/.ssh/config (LocalForward, RemoteForward, DynamicForward): shown under
// their server as stopped tunnels and started with one click, as `openedBy: 'sshConfig'`.
import type { ServerSource, TunnelInfo, TunnelSpec } from '../engine';

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

export function configForwardKey(spec: TunnelSpec): string {
  const host = spec.type === 'remote' ? (spec.remoteHost ?? '') : (spec.localHost ?? '127.0.0.1');
  // A forward that listens on a Unix socket is told apart by its path (its port is 0).
  const socket = spec.type === 'remote' ? spec.remotePath : spec.localPath;
  return `${CONFIG_FORWARD_PREFIX}${spec.server}|${spec.type}|${socket ?? `${host}:${listenPort(spec)}`}`;
}

/** The config's forwards of a server (all servers when none is given), if the source reads a config. */
export function configForwards(servers: ServerSource, server?: string): ConfigForward[] {
  const read = (servers as { tunnels?: (server?: string) => TunnelSpec[] }).tunnels;
  if (typeof read !== 'function') return [];
  return read.call(servers, server).map((spec) => ({ key: configForwardKey(spec), spec }));
}

/** Whether an open tunnel is that forward already running (started from the tree, or the same port otherwise). */
export function isRunning(forward: TunnelSpec, open: readonly TunnelInfo[]): boolean {
  const port = listenPort(forward);
  return open.some((t) => t.server === forward.server && t.type === forward.type && port !== undefined && port !== 0 && listenPort(t) === port);
}

/** The config's forwards of a server that are not running now: the tree shows them as stopped. */
export function stoppedConfigForwards(servers: ServerSource, open: readonly TunnelInfo[], server?: string): ConfigForward[] {
  return configForwards(servers, server).filter((f) => !isRunning(f.spec, open));
}
