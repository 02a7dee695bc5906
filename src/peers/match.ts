// Whether a tunnel listens where a spec would: the same server, type and listen address.
import type { TunnelInfo, TunnelSpec } from '../engine';

/**
 * Local and dynamic tunnels listen on this machine (localPath, or localHost:localPort), remote
 * ones on the server (remotePath, or remoteHost:remotePort). Port 0 (any free port) never matches.
 */
export function listensWhere(spec: TunnelSpec, info: TunnelInfo): boolean {
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
