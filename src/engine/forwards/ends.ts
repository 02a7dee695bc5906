// The two ends of a forward, written once: where it listens and where it leads, for a spec
// (what is asked) or a TunnelInfo (what was bound).
import { makeAddress } from '../base/address';
import type { TunnelSpec } from '../base/types';

/** The fields of a forward's ends, as a spec and a TunnelInfo both have them. */
export type ForwardEnds = Pick<TunnelSpec, 'type' | 'localHost' | 'localPort' | 'remoteHost' | 'remotePort' | 'localPath' | 'remotePath'>;

/** This machine's end: the socket file, or host:port (loopback unless given). */
export function localEnd(f: ForwardEnds): string {
  return f.localPath ?? makeAddress(f.localHost ?? '127.0.0.1', f.localPort);
}

/** The server's end: the socket file, or host:port. */
export function remoteEnd(f: ForwardEnds): string {
  return f.remotePath ?? makeAddress(f.remoteHost, f.remotePort);
}

/** Where the forward listens: on this machine for -L and -D, on the server for -R. */
export function listeningEnd(f: ForwardEnds): string {
  return f.type === 'remote' ? remoteEnd(f) : localEnd(f);
}

/**
 * Whether a tunnel listens where `spec` would: the same server, type and listen address (its
 * socket file, or its host and a fixed port; port 0, any free port, never matches).
 */
export function listensWhere(spec: TunnelSpec, info: ForwardEnds & { server: string }): boolean {
  if (spec.server !== info.server || spec.type !== info.type) return false;
  if (spec.type === 'remote') {
    if (spec.remotePath !== undefined) return info.remotePath === spec.remotePath;
    if (info.remotePath !== undefined || !spec.remotePort) return false;
    return (spec.remoteHost ?? '127.0.0.1') === info.remoteHost && spec.remotePort === info.remotePort;
  }
  if (spec.localPath !== undefined) return info.localPath === spec.localPath;
  if (info.localPath !== undefined || !spec.localPort) return false;
  return (spec.localHost ?? '127.0.0.1') === info.localHost && spec.localPort === info.localPort;
}
