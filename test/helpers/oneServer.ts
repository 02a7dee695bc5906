// One attempt on one server, as a first connection makes it: a TunnelManager of its own over
// that server that never redials, disposed after the attempt.
import * as assert from 'node:assert/strict';
import { TunnelError, TunnelManager, type Prompts, type ServerConfig } from '../../src/engine';
import { echoRoundTrip } from './net';
import { rejection } from './rejection';
import { staticServers } from './servers';

/** The TunnelError a first connection to `server` ends with: a refused login or host key, a dial that fails. */
export async function connectError(server: ServerConfig, prompts?: Prompts): Promise<TunnelError> {
  const manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: { maxAttempts: 0 } });
  try {
    return await rejection(manager.connectServer(server.alias), TunnelError);
  } finally {
    await manager.dispose();
  }
}

/**
 * Opens a -L tunnel on `server` to the echo service at `echoPort` and sends `bytes` (100,000
 * unless told) through it; resolves once the echo came back whole.
 */
export async function tunnelCarriesData(server: ServerConfig, echoPort: number, options: { prompts?: Prompts; log?: (message: string) => void; bytes?: number } = {}): Promise<void> {
  const manager = new TunnelManager({ servers: staticServers(server), prompts: options.prompts, reconnect: { maxAttempts: 0 }, log: options.log });
  try {
    const info = await manager.createTunnel({ server: server.alias, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
    const r = await echoRoundTrip(info.localPort, options.bytes ?? 100_000);
    assert.equal(r.received, r.sent);
  } finally {
    await manager.dispose();
  }
}
