import * as assert from 'node:assert/strict';
import { engineAhead, figure, median, record, summarize, tables } from '../../bench/figures';

describe('bench figures', () => {
  it('takes the median of each side and the engine over every other side', () => {
    const f = figure('steady: connections per second', 'conn/s', 'higher', { ratio: 0.95 });
    for (const v of [900, 1000, 1100]) record(f, 'engine', v);
    for (const v of [1000, 1250, 1000]) record(f, 'openssh', v);
    for (const v of [2000, 2000]) record(f, 'ssh2', v);
    const row = summarize(f);
    assert.equal(row.median.engine, 1000);
    assert.equal(row.median.openssh, 1000);
    assert.equal(row.engineOver.openssh, 1);
    assert.equal(row.engineOver.ssh2, 0.5);
    assert.equal(row.ok, true);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('says the engine is ahead by the figure\'s direction', () => {
    const latency = figure('p50', 'ms', 'lower', { ratio: 1.2 });
    record(latency, 'engine', 1);
    record(latency, 'openssh', 0.5);
    record(latency, 'tunnelSsh', 40);
    const row = summarize(latency);
    assert.equal(row.ok, false, 'engine / ssh is 2×, over the 1.2× bound');
    assert.equal(engineAhead(row, 'tunnelSsh'), true);
    const rate = figure('cps', 'conn/s', 'higher');
    record(rate, 'engine', 100);
    record(rate, 'tunnelSsh', 200);
    assert.equal(engineAhead(summarize(rate), 'tunnelSsh'), false);
  });

  it('checks an absolute target on the engine\'s own value', () => {
    const cpu = figure('CPU per connection', 'ms', 'lower', { absolute: 0.15 });
    record(cpu, 'engine', 0.2);
    record(cpu, 'openssh', 0.1);
    assert.equal(summarize(cpu).ok, false);
  });

  it('prints where the engine is behind a Node peer, and leaves out sides nothing measured', () => {
    const a = figure('throughput', 'Mbit/s', 'higher');
    record(a, 'engine', 2000);
    record(a, 'openssh', 2500);
    record(a, 'ssh2', 1000);
    const b = figure('p99', 'ms', 'lower');
    record(b, 'engine', 4);
    record(b, 'openssh', 2);
    record(b, 'ssh2', 3);
    const text = tables([summarize(a), summarize(b)]);
    assert.match(text, /engine ahead of ssh2 forwardOut \(noDelay\) on 1 of 2 figures \(behind on: p99\)/);
    assert.match(text, /\| throughput \| 0\.80× \|/);
    assert.doesNotMatch(text, /tunnel-ssh|plain Node proxy \|$/m);
  });
});
