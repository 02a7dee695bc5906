// Whether a tunnel already serves what a request asks for, so that it is shared rather than opened
// twice: the same server, type and far end, and the same listening end where the request fixes one
// (a port of 0, any free port, takes whichever the tunnel has).
import { listensWhere, resolveSpec, type TunnelInfo, type TunnelSpec } from '../engine';

type Ends = Pick<TunnelInfo, 'server' | 'type' | 'localHost' | 'localPort' | 'remoteHost' | 'remotePort' | 'localPath' | 'remotePath' | 'socks'>;

/** Whether the request fixes where the tunnel listens (a socket file, or a port other than 0). */
function fixesListen(spec: TunnelSpec): boolean {
  return spec.type === 'remote' ? spec.remotePath !== undefined || !!spec.remotePort : spec.localPath !== undefined || !!spec.localPort;
}

/** Where a connection ends up: the server's side for -L, this machine's for -R; -D has no fixed far end. */
function sameFarEnd(spec: TunnelSpec, t: Ends): boolean {
  if (spec.type === 'dynamic') return true;
  if (spec.type === 'local') {
    if (spec.remotePath !== undefined || t.remotePath !== undefined) return spec.remotePath === t.remotePath;
    return spec.remoteHost === t.remoteHost && spec.remotePort === t.remotePort;
  }
  if (!!spec.socks !== !!t.socks) return false;
  if (spec.socks) return true;
  if (spec.localPath !== undefined || t.localPath !== undefined) return spec.localPath === t.localPath;
  return spec.localHost === t.localHost && spec.localPort === t.localPort;
}

/** A listening end left free: any tunnel of the same kind, on the host asked for (when one is). */
function listensAnywhereAsked(spec: TunnelSpec, t: Ends): boolean {
  if (spec.type === 'remote') return t.remotePath === undefined && (spec.remoteHost === undefined || spec.remoteHost === t.remoteHost);
  return t.localPath === undefined && (spec.localHost === undefined || spec.localHost === t.localHost);
}

/**
 * Whether `t` (a tunnel open here or at a peer) serves what `spec` asks for. `spec` is read with
 * the defaults a tunnel would get (resolveSpec); a spec that could not open matches nothing.
 */
export function servesSame(spec: TunnelSpec, t: Ends): boolean {
  let resolved: TunnelSpec;
  try {
    resolved = resolveSpec(spec);
  } catch {
    return false;
  }
  if (resolved.server !== t.server || resolved.type !== t.type || !sameFarEnd(resolved, t)) return false;
  if (fixesListen(resolved)) return listensWhere(resolved, t);
  return listensAnywhereAsked(spec.type === 'remote' ? { ...resolved, remoteHost: spec.remoteHost } : { ...resolved, localHost: spec.localHost }, t);
}

/** Whether a tunnel in this state can be handed to someone who asked for it (it listens, or is about to). */
export function isUsable(t: Pick<TunnelInfo, 'state'>): boolean {
  return t.state === 'active' || t.state === 'connecting' || t.state === 'reconnecting';
}
