// What a failing attempt failed with, for the suites that assert on an error's code and message.
import * as assert from 'node:assert/strict';
import { TunnelError, TunnelManager, type Prompts, type ServerConfig } from '../../src/engine';
import { staticServers } from './servers';

/**
 * The error `attempt` fails with, checked to be an `ErrorClass`; the test fails if it succeeds.
 * `attempt` is a promise, or a function (sync or async) to call.
 */
export async function rejection<E extends Error>(attempt: Promise<unknown> | (() => unknown), ErrorClass: new (...args: never[]) => E): Promise<E> {
  try {
    await (typeof attempt === 'function' ? attempt() : attempt);
  } catch (err) {
    assert.ok(err instanceof ErrorClass, `expected a ${ErrorClass.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected a ${ErrorClass.name}, but it succeeded`);
}

/**
 * The TunnelError a first connection to `server` ends with (a refused login or host key, a dial
 * that fails), through a manager of its own that never redials and is disposed after.
 */
export async function connectError(server: ServerConfig, prompts?: Prompts): Promise<TunnelError> {
  const manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: { maxAttempts: 0 } });
  try {
    return await rejection(manager.connectServer(server.host), TunnelError);
  } finally {
    await manager.dispose();
  }
}
