import { TunnelError } from './errors';
import { TUNNEL_TYPES, type TunnelSpec } from './types';
import type { ResolvedSpec } from './tunnel';

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

/** Validates a spec and fills in defaults; every refusal says what to change. */
export function resolveSpec(spec: TunnelSpec): ResolvedSpec {
  if (!spec || typeof spec !== 'object') throw new TunnelError('INVALID_SPEC', 'A tunnel needs a spec object.');
  if (typeof spec.server !== 'string' || !spec.server) throw new TunnelError('INVALID_SPEC', 'A tunnel needs a server name.');
  if (!TUNNEL_TYPES.includes(spec.type)) {
    throw new TunnelError('INVALID_SPEC', `Unknown tunnel type ${JSON.stringify(spec.type)}: use one of ${TUNNEL_TYPES.join(', ')}.`);
  }
  const localHost = checkHost('localHost', spec.localHost ?? '127.0.0.1');
  const localPort = checkPort('localPort', spec.localPort);
  let remoteHost: string | undefined;
  let remotePort: number | undefined;
  if (spec.type === 'dynamic') {
    if (spec.remoteHost !== undefined || spec.remotePort !== undefined) {
      throw new TunnelError('INVALID_SPEC', 'A dynamic (SOCKS) tunnel takes no remoteHost or remotePort: the SOCKS client names each target.');
    }
  } else {
    if (spec.remoteHost === undefined || spec.remotePort === undefined) {
      throw new TunnelError('INVALID_SPEC', `A ${spec.type} tunnel needs remoteHost and remotePort.`);
    }
    remoteHost = checkHost('remoteHost', spec.remoteHost);
    remotePort = checkPort('remotePort', spec.remotePort);
    if (spec.type === 'local' && remotePort === 0) {
      throw new TunnelError('INVALID_SPEC', 'remotePort of a local tunnel names the service to reach; it cannot be 0.');
    }
    if (spec.type === 'remote' && localPort === 0) {
      throw new TunnelError('INVALID_SPEC', 'localPort of a remote tunnel names the local service to reach; it cannot be 0.');
    }
  }
  const name = spec.name?.trim() || defaultName(spec.type, localHost, localPort, remoteHost, remotePort);
  return { ...spec, localHost, localPort, remoteHost, remotePort, name };
}

function hostPort(host: string | undefined, port: number | undefined): string {
  return host?.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function defaultName(type: string, localHost: string, localPort: number, remoteHost?: string, remotePort?: number): string {
  if (type === 'dynamic') return `D SOCKS ${hostPort(localHost, localPort)}`;
  if (type === 'local') return `L ${hostPort(localHost, localPort)} → ${hostPort(remoteHost, remotePort)}`;
  return `R ${hostPort(remoteHost, remotePort)} → ${hostPort(localHost, localPort)}`;
}
