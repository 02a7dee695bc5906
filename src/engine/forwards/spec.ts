import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelError } from '../base/errors';
import { makeAddress } from '../base/address';
import { unixSocketPathMax } from '../base/paths';
import { TUNNEL_TYPES, type TunnelSpec } from '../base/types';

/** A checked spec with its defaults; `name` only when one was given (the tunnel makes the default one). */
export interface ResolvedSpec extends TunnelSpec {
  localHost: string;
  /** False when the tunnel is named for what it forwards, following the bound ports. */
  nameGiven: boolean;
}

function checkPort(what: string, value: unknown): number {
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) value = Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new TunnelError('INVALID_SPEC', `${what} must be a whole number from 0 to 65535 (0 picks a free port); got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}.`);
  }
  return value;
}

function checkHost(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || /\s/.test(value.trim())) {
    throw new TunnelError('INVALID_SPEC', `${what} must be a host name or address; got ${JSON.stringify(value)}.`);
  }
  return value.trim().replace(/^\[(.*)\]$/, '$1');
}

function checkPath(what: string, value: unknown, local: boolean): string {
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) {
    throw new TunnelError('INVALID_SPEC', `${what} must be the path of a Unix socket; got ${JSON.stringify(value)}.`);
  }
  let p = value.trim();
  if (!local) return p;
  if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
  if (!path.isAbsolute(p)) throw new TunnelError('INVALID_SPEC', `${what} must be an absolute path (or start with ~/); got ${JSON.stringify(value)}.`);
  if (Buffer.byteLength(p) > unixSocketPathMax()) {
    throw new TunnelError('INVALID_SPEC', `${what} is ${Buffer.byteLength(p)} bytes long; a Unix socket path can have at most ${unixSocketPathMax()}. Choose a shorter path.`);
  }
  return p;
}

/** Local Unix sockets need AF_UNIX listeners, which Node does not offer on Windows (it listens on named pipes there). */
export function checkLocalPathSupported(platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') {
    throw new TunnelError('INVALID_SPEC',
      'Local Unix-socket forwards (a localPath) are not available on Windows: use a local port instead. A socket on the server (remotePath, e.g. -L 2375:/var/run/docker.sock) works.');
  }
}

/** Validates a spec and fills in defaults; every refusal says what to change. */
export function resolveSpec(spec: TunnelSpec): ResolvedSpec {
  if (!spec || typeof spec !== 'object') throw new TunnelError('INVALID_SPEC', 'A tunnel needs a spec object.');
  if (typeof spec.server !== 'string' || !spec.server) throw new TunnelError('INVALID_SPEC', 'A tunnel needs a server name.');
  if (!TUNNEL_TYPES.includes(spec.type)) {
    throw new TunnelError('INVALID_SPEC', `Unknown tunnel type ${JSON.stringify(spec.type)}: use one of ${TUNNEL_TYPES.join(', ')}.`);
  }
  const localHost = checkHost('localHost', spec.localHost ?? '127.0.0.1');
  const localPath = spec.localPath === undefined ? undefined : checkPath('localPath', spec.localPath, true);
  const remotePath = spec.remotePath === undefined ? undefined : checkPath('remotePath', spec.remotePath, false);
  if (localPath !== undefined) checkLocalPathSupported();
  const socks = spec.socks === true;
  if (spec.socks !== undefined && typeof spec.socks !== 'boolean') throw new TunnelError('INVALID_SPEC', `socks must be true or false; got ${JSON.stringify(spec.socks)}.`);
  // A path replaces a port, and a reverse SOCKS proxy has no local port: the port is then 0 (or left out).
  const localPort = localPath !== undefined ? portOrZero('localPort', spec.localPort, 'localPath is given')
    : spec.type === 'remote' && socks ? portOrZero('localPort', spec.localPort, 'socks is true') : checkPort('localPort', spec.localPort);
  let remoteHost: string | undefined;
  let remotePort: number | undefined;
  if (spec.type === 'dynamic') {
    if (spec.remoteHost !== undefined || spec.remotePort !== undefined || remotePath !== undefined) {
      throw new TunnelError('INVALID_SPEC', 'A dynamic (SOCKS) tunnel takes no remoteHost, remotePort or remotePath: the SOCKS client names each target.');
    }
    if (socks) throw new TunnelError('INVALID_SPEC', 'socks is for remote tunnels (a SOCKS proxy on the server); a dynamic tunnel is a SOCKS proxy already.');
    if (localPath !== undefined) throw new TunnelError('INVALID_SPEC', 'A dynamic (SOCKS) tunnel listens on a port (localHost:localPort); localPath is not supported for it.');
  } else if (spec.type === 'remote' && socks) {
    if (localPath !== undefined || remotePath !== undefined) {
      throw new TunnelError('INVALID_SPEC', 'A reverse SOCKS tunnel (socks: true) listens on a server port; it takes no localPath or remotePath.');
    }
    if (spec.remotePort === undefined) throw new TunnelError('INVALID_SPEC', 'A reverse SOCKS tunnel needs remotePort: the port the server listens on.');
    remoteHost = checkHost('remoteHost', spec.remoteHost ?? '127.0.0.1');
    remotePort = checkPort('remotePort', spec.remotePort);
  } else if (remotePath !== undefined) {
    if (spec.remoteHost !== undefined || (spec.remotePort !== undefined && spec.remotePort !== 0)) {
      throw new TunnelError('INVALID_SPEC', 'remotePath replaces remoteHost and remotePort: give one or the other.');
    }
    remotePort = 0;
  } else {
    const missing = (['remoteHost', 'remotePort'] as const).filter((field) => spec[field] === undefined);
    if (missing.length) {
      throw new TunnelError('INVALID_SPEC', `A ${spec.type} tunnel needs ${missing.join(' and ')} (or remotePath, a Unix socket on the server); ${missing.length === 1 ? 'it is' : 'they are'} missing.`);
    }
    remoteHost = checkHost('remoteHost', spec.remoteHost);
    remotePort = checkPort('remotePort', spec.remotePort);
    if (spec.type === 'local' && remotePort === 0) {
      throw new TunnelError('INVALID_SPEC', 'remotePort of a local tunnel names the service to reach; it cannot be 0.');
    }
  }
  if (spec.type === 'remote' && !socks && localPath === undefined && localPort === 0) {
    throw new TunnelError('INVALID_SPEC', 'localPort of a remote tunnel names the local service to reach; it cannot be 0.');
  }
  if (spec.type === 'local' && socks) throw new TunnelError('INVALID_SPEC', 'socks is for remote tunnels; for a local SOCKS proxy use a dynamic tunnel.');
  if (spec.watchRemotePort !== undefined && typeof spec.watchRemotePort !== 'boolean') throw new TunnelError('INVALID_SPEC', `watchRemotePort must be true or false; got ${JSON.stringify(spec.watchRemotePort)}.`);
  if (spec.watchRemotePort && spec.type !== 'local') throw new TunnelError('INVALID_SPEC', `watchRemotePort is for local (-L) tunnels, whose target is on the server's side; a ${spec.type} tunnel has none to watch.`);
  const given = spec.name?.trim();
  const resolved: ResolvedSpec = { ...spec, localHost, localPort, remoteHost, remotePort, nameGiven: !!given };
  if (given) resolved.name = given;
  else delete resolved.name;
  delete resolved.localPath;
  delete resolved.remotePath;
  delete resolved.socks;
  delete resolved.watchRemotePort;
  if (spec.watchRemotePort) resolved.watchRemotePort = true;
  if (localPath !== undefined) resolved.localPath = localPath;
  if (remotePath !== undefined) resolved.remotePath = remotePath;
  if (socks) resolved.socks = true;
  return resolved;
}

function portOrZero(what: string, value: unknown, when: string): number {
  if (value === undefined || value === 0 || value === '0') return 0;
  throw new TunnelError('INVALID_SPEC', `${what} must be 0 (or left out) when ${when}; got ${JSON.stringify(value)}.`);
}


type ForwardPaths = { localPath?: string; remotePath?: string; socks?: boolean };

/** The name a spec gives its tunnel before it listens: the given one, or the default for the ports asked. */
export function specName(spec: ResolvedSpec): string {
  return spec.name ?? defaultName(spec.type, spec.localHost, spec.localPort, spec.remoteHost, spec.remotePort, spec);
}

/** The listening end as ssh's -L/-R/-D write it: the port alone when bound to the loopback default. */
function shortListen(host: string | undefined, port: number | undefined): string {
  return host === undefined || host === '127.0.0.1' || host === 'localhost' ? String(port) : makeAddress(host, port);
}

/**
 * A tunnel's default name, short as ssh's notation: `L 5432 → db:5432`, `D 1080`, `R 8080 → 127.0.0.1:3000`,
 * `R SOCKS 1080`, `L /tmp/db.sock → db:5432`. The loopback bind address is left out; others are kept.
 */
export function defaultName(type: string, localHost: string, localPort: number, remoteHost?: string, remotePort?: number, paths: ForwardPaths = {}): string {
  const local = paths.localPath ?? shortListen(localHost, localPort);
  const remote = paths.remotePath ?? makeAddress(remoteHost, remotePort);
  if (type === 'dynamic') return `D ${local}`;
  if (type === 'local') return `L ${local} → ${remote}`;
  const listening = paths.remotePath ?? shortListen(remoteHost, remotePort);
  if (paths.socks) return `R SOCKS ${listening}`;
  return `R ${listening} → ${paths.localPath ?? makeAddress(localHost, localPort)}`;
}

/** What a tunnel forwards, in full: `L 127.0.0.1:5432 → db:5432`, `D SOCKS 127.0.0.1:1080`, `R SOCKS 127.0.0.1:1080`. */
export function describeForward(type: string, localHost: string, localPort: number, remoteHost?: string, remotePort?: number, paths: ForwardPaths = {}): string {
  const local = paths.localPath ?? makeAddress(localHost, localPort);
  const remote = paths.remotePath ?? makeAddress(remoteHost, remotePort);
  if (type === 'dynamic') return `D SOCKS ${local}`;
  if (type === 'local') return `L ${local} → ${remote}`;
  if (paths.socks) return `R SOCKS ${remote}`;
  return `R ${remote} → ${local}`;
}
