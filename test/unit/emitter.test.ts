import * as assert from 'node:assert/strict';
import { DisposableStore, Emitter, reportListenerErrors } from '../../src/engine';

describe('engine events: a failing listener is reported, and disposables go together', () => {
  afterEach(() => reportListenerErrors((err) => console.error('SSH Tunnels: an event listener failed:', err)));

  it('a listener that throws is reported with its error, and the others still hear the event', () => {
    const reported: unknown[] = [];
    reportListenerErrors((err) => reported.push(err));
    const emitter = new Emitter<number>();
    const heard: number[] = [];
    emitter.event(() => {
      throw new Error('listener broke');
    });
    emitter.event((n) => heard.push(n));
    emitter.fire(7);
    assert.deepEqual(heard, [7]);
    assert.equal(reported.length, 1);
    assert.match((reported[0] as Error).message, /listener broke/);
  });

  it('a store disposes its items last first, once; one added after dispose() is disposed at once', () => {
    const order: string[] = [];
    const store = new DisposableStore();
    store.add({ dispose: () => order.push('a') });
    store.add({ dispose: () => order.push('b') });
    store.dispose();
    store.dispose();
    assert.deepEqual(order, ['b', 'a']);
    store.add({ dispose: () => order.push('late') });
    assert.deepEqual(order, ['b', 'a', 'late']);
  });
});
