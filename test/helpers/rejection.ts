import * as assert from 'node:assert/strict';

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
