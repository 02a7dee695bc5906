import * as assert from 'node:assert/strict';
import { SOCKS5, SocksHandshake, type SocksProgress, socks5CodeFor } from '../../src/engine/forwards/socks';

/** Everything a handshake produced from a sequence of chunks, folded into one comparable value. */
interface Outcome {
  reply: string;
  close: boolean;
  reason?: string;
  target?: { version: number; host: string; port: number };
  rest?: string;
  consumed: number;
}

function run(chunks: Buffer[]): Outcome {
  const handshake = new SocksHandshake();
  const replies: Buffer[] = [];
  let final: SocksProgress | undefined;
  for (const chunk of chunks) {
    if (final) {
      // After the request the caller forwards raw bytes; the parser is not fed any more.
      final.connect!.rest = Buffer.concat([final.connect!.rest, chunk]);
      continue;
    }
    const p = handshake.push(chunk);
    replies.push(p.reply);
    if (p.close) {
      return { reply: Buffer.concat(replies).toString('hex'), close: true, reason: p.reason, consumed: handshake.consumed };
    }
    if (p.connect) final = p;
  }
  return {
    reply: Buffer.concat(replies).toString('hex'),
    close: false,
    target: final?.connect?.target,
    rest: final?.connect?.rest.toString('hex'),
    consumed: handshake.consumed,
  };
}

/** Splits `bytes` at the given offsets. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  out.push(bytes.subarray(from));
  return out.filter((c) => c.length > 0);
}

/** A tiny deterministic PRNG, so a failure can be reproduced. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Asserts that every split (all single cuts, all pairs of cuts, byte by byte, and random splits) gives the whole-message result. */
function assertSplitInvariant(bytes: Buffer): Outcome {
  const whole = run([bytes]);
  const n = bytes.length;
  for (let i = 1; i < n; i++) {
    assert.deepEqual(run(split(bytes, [i])), whole, `cut at ${i}`);
    for (let j = i + 1; j < n; j++) assert.deepEqual(run(split(bytes, [i, j])), whole, `cuts at ${i}, ${j}`);
  }
  assert.deepEqual(run([...bytes].map((b) => Buffer.from([b]))), whole, 'one byte at a time');
  const random = prng(n);
  for (let k = 0; k < 200; k++) {
    const cuts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => 1 + Math.floor(random() * (n - 1)));
    assert.deepEqual(run(split(bytes, [...new Set(cuts)])), whole, `cuts at ${cuts.join(',')}`);
  }
  return whole;
}

const greeting = Buffer.from([0x05, 0x02, 0x02, 0x00]); // offers username/password and "no auth"
const noAuth = '0500';
const payload = Buffer.from('GET / HTTP/1.0\r\n\r\n');

function socks5Request(atyp: number, address: Buffer, port: number, command = 0x01): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([0x05, command, 0x00, atyp]), address, p]);
}

describe('SOCKS handshake parser (pure, any chunking)', () => {
  it('SOCKS5 IPv4 CONNECT with pipelined data', () => {
    const out = assertSplitInvariant(Buffer.concat([greeting, socks5Request(0x01, Buffer.from([127, 0, 0, 1]), 8080), payload]));
    assert.equal(out.reply, noAuth);
    assert.deepEqual(out.target, { version: 5, host: '127.0.0.1', port: 8080 });
    assert.equal(out.rest, payload.toString('hex'));
    assert.equal(out.consumed, greeting.length + 10);
  });

  it('SOCKS5 IPv6 CONNECT is normalised to the short form', () => {
    const v6 = Buffer.alloc(16);
    v6[15] = 1;
    const out = assertSplitInvariant(Buffer.concat([greeting, socks5Request(0x04, v6, 443)]));
    assert.deepEqual(out.target, { version: 5, host: '::1', port: 443 });
    assert.equal(out.rest, '');
    const addr = Buffer.from('20010db8000000000000ff0000428329', 'hex');
    assert.equal(run([Buffer.concat([greeting, socks5Request(0x04, addr, 1)])]).target!.host, '2001:db8::ff00:42:8329');
  });

  it('SOCKS5 domain CONNECT', () => {
    const name = Buffer.from('db.internal.example');
    const out = assertSplitInvariant(Buffer.concat([greeting, socks5Request(0x03, Buffer.concat([Buffer.from([name.length]), name]), 5432), payload]));
    assert.deepEqual(out.target, { version: 5, host: 'db.internal.example', port: 5432 });
    assert.equal(out.rest, payload.toString('hex'));
    assert.equal(out.consumed, greeting.length + 4 + 1 + name.length + 2);
  });

  it('SOCKS4 and SOCKS4a CONNECT, with and without a user id', () => {
    const s4 = assertSplitInvariant(Buffer.concat([Buffer.from([0x04, 0x01, 0x1f, 0x90, 10, 1, 2, 3]), Buffer.from('alice\0'), payload]));
    assert.deepEqual(s4.target, { version: 4, host: '10.1.2.3', port: 8080 });
    assert.equal(s4.rest, payload.toString('hex'));
    assert.equal(s4.reply, '');
    const s4a = assertSplitInvariant(Buffer.concat([Buffer.from([0x04, 0x01, 0x00, 0x50, 0, 0, 0, 1, 0]), Buffer.from('localhost\0'), payload]));
    assert.deepEqual(s4a.target, { version: 4, host: 'localhost', port: 80 });
    assert.equal(s4a.rest, payload.toString('hex'));
    assert.equal(s4a.consumed, 9 + 10);
  });

  it('refusals: BIND and UDP ASSOCIATE (0x07), unknown address type (0x08), SOCKS4 BIND (0x5B), no acceptable method (0xFF)', () => {
    const v4 = Buffer.from([127, 0, 0, 1]);
    for (const command of [0x02, 0x03]) {
      const out = assertSplitInvariant(Buffer.concat([greeting, socks5Request(0x01, v4, 80, command)]));
      assert.equal(out.close, true);
      assert.equal(out.reply, noAuth + '05070001000000000000');
      assert.match(out.reason!, command === 0x02 ? /BIND is not supported/ : /UDP ASSOCIATE is not supported/);
    }
    const atyp = run([Buffer.concat([greeting, Buffer.from([0x05, 0x01, 0x00, 0x09, 1, 2, 3, 4, 0, 80])])]);
    assert.equal(atyp.reply, noAuth + '05080001000000000000');
    assert.match(atyp.reason!, /address type 9 not supported/);
    const bind4 = assertSplitInvariant(Buffer.from([0x04, 0x02, 0x00, 0x50, 127, 0, 0, 1, 0]));
    assert.equal(bind4.close, true);
    assert.equal(bind4.reply, '005b000000000000');
    const noMethod = run([Buffer.from([0x05, 0x01, 0x02])]);
    assert.equal(noMethod.reply, '05ff');
    assert.equal(noMethod.close, true);
  });

  it('garbage closes without a reply; an endless greeting is cut off', () => {
    const http = run([Buffer.from('GET / HTTP/1.1\r\n')]);
    assert.equal(http.close, true);
    assert.equal(http.reply, '');
    assert.match(http.reason!, /not a SOCKS client \(first byte 0x47\)/);
    // SOCKS4 with a user id that never ends.
    const endless = new SocksHandshake();
    let p = endless.push(Buffer.from([0x04, 0x01, 0x00, 0x50, 1, 2, 3, 4]));
    for (let i = 0; i < 10 && !p.close; i++) p = endless.push(Buffer.alloc(200, 0x41));
    assert.equal(p.close, true);
    assert.equal(p.reply.toString('hex'), '005b000000000000');
  });

  it('maps OpenSSH channel-open failures to SOCKS5 reply codes', () => {
    // What OpenSSH's sshd sends: reason 1 "open failed" for PermitOpen / AllowTcpForwarding,
    // reason 2 with strerror() for a failed connect, reason 2 with gai_strerror() for a bad name.
    assert.equal(socks5CodeFor({ reason: 1, description: 'open failed' }), SOCKS5.NOT_ALLOWED);
    assert.equal(socks5CodeFor({ reason: 2, description: 'Connection refused' }), SOCKS5.CONNECTION_REFUSED);
    assert.equal(socks5CodeFor({ reason: 2, description: 'Network is unreachable' }), SOCKS5.NETWORK_UNREACHABLE);
    assert.equal(socks5CodeFor({ reason: 2, description: 'No route to host' }), SOCKS5.HOST_UNREACHABLE);
    assert.equal(socks5CodeFor({ reason: 2, description: 'Name or service not known' }), SOCKS5.HOST_UNREACHABLE);
    assert.equal(socks5CodeFor({ reason: 2, description: 'Temporary failure in name resolution' }), SOCKS5.HOST_UNREACHABLE);
    assert.equal(socks5CodeFor({ code: 'CLOSED' }), SOCKS5.NETWORK_UNREACHABLE);
  });
});
