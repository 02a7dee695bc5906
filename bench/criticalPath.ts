// `npx tsx bench/criticalPath.ts [--warm N] [--count N]`
// Where the time of "new connection + 1-byte echo" goes, step by step, in steady state: the
// engine runs in this process with marks at each step a connection takes (accept, CHANNEL_OPEN
// written, confirmation read, channel handed over, data written, echo read, echo written to the
// client), the client and the echo service (bench/services.ts) each in its own process, one
// connection at a time. The steps between an SSH
// write and the next SSH read are the server's (sshd, and its connection to the echo service),
// the same for `ssh`; the others are the engine's own. `ssh -N -L` on the same sshd is measured
// by the same client for the total. Marks cost a little; the engine's steps are upper bounds.
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'ssh2';
import { installSsh2Adapter, TunnelManager } from '../src/engine';
import { clientSocket, SocketRelay } from '../src/engine/ssh2';
import * as esbuild from 'esbuild';
import { SshdFixture } from '../test/fixtures/sshd';
import { staticServers } from '../test/helpers/servers';
import { percentile } from './load';
import { OpenSshSide, PINNED_CIPHER } from './sides';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

/** One connection at a time: connect, write a byte, wait for its echo, close; answers the samples in ms. */
const CLIENT = `
const net = require('node:net');
const [port, count] = process.argv.slice(2).map(Number);
function once() {
  return new Promise((resolve, reject) => {
    const start = performance.timeOrigin + performance.now();
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    s.on('error', reject);
    s.once('connect', () => s.write('x'));
    s.once('data', () => { const end = performance.timeOrigin + performance.now(); s.destroy(); resolve({ start, end }); });
  });
}
(async () => {
  const samples = [];
  for (let i = 0; i < count; i++) samples.push(await once());
  process.send(samples, () => process.exit(0));
})();
`;

type Step = 'accept' | 'ssh write' | 'ssh read' | 'channel ready' | 'client write';
let recording = false;
const marks: Array<[Step, number]> = [];
/** Wall-clock ms, comparable with the client process's. */
const wallNow = (): number => performance.timeOrigin + performance.now();
const mark = (step: Step): void => {
  if (recording) marks.push([step, wallNow()]);
};

/** Marks each step by wrapping the functions that take it; installed before any connection. */
function instrument(): void {
  const server = net.Server.prototype as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const emit = server.emit;
  server.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'connection') mark('accept');
    return emit.call(this, event, ...args);
  };
  const proto = net.Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
  const writeGeneric = proto._writeGeneric;
  proto._writeGeneric = function (this: net.Socket & { sshSocket?: boolean }, ...args: unknown[]) {
    mark(this.sshSocket ? 'ssh write' : 'client write');
    return writeGeneric.apply(this, args);
  };
  // A -L connection's channel is a SocketRelay, joined to its socket by attach().
  const relay = SocketRelay.prototype as unknown as { attach: (...args: unknown[]) => unknown };
  const attach = relay.attach;
  relay.attach = function (this: SocketRelay, ...args: unknown[]) {
    mark('channel ready');
    return attach.apply(this, args);
  };
}

interface Sample {
  /** Wall-clock ms: the client's connect() began, and the echo reached it. */
  start: number;
  end: number;
}

async function samplesOf(port: number, count: number, script: string): Promise<Sample[]> {
  const child = fork(script, [String(port), String(count)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as Sample[]));
    child.once('exit', (code) => reject(new Error(`the client exited with ${code}`)));
  });
}

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

async function main(): Promise<void> {
  const warm = option('--warm', 3000);
  const count = option('--count', 500);
  installSsh2Adapter();
  instrument();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-path-'));
  const script = path.join(dir, 'client.js');
  fs.writeFileSync(script, CLIENT);
  const sshd = await SshdFixture.start();
  const servicesScript = path.join(dir, 'services.js');
  await esbuild.build({ entryPoints: [path.join(__dirname, 'services.ts')], outfile: servicesScript, bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning' });
  const services = fork(servicesScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { echoPort } = await new Promise<{ echoPort: number }>((resolve) => services.once('message', (m) => resolve(m as { echoPort: number })));
  const manager = new TunnelManager({ servers: staticServers(sshd.server('bench', { ciphers: [PINNED_CIPHER] })) });
  const ssh = await new OpenSshSide(sshd).open({ type: 'local', targetPort: echoPort });
  try {
    const info = await manager.createTunnel({ server: 'bench', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
    const session = (manager as unknown as { sessions: Map<string, { client?: Client }> }).sessions.get('bench')!;
    const sshSocket = clientSocket(session.client!) as net.Socket & { sshSocket?: boolean };
    sshSocket.sshSocket = true;
    sshSocket.prependListener('data', () => mark('ssh read'));
    await samplesOf(info.localPort, warm, script);
    await samplesOf(ssh.port, warm, script);

    recording = true;
    const engine = await samplesOf(info.localPort, count, script);
    recording = false;
    const openssh = await samplesOf(ssh.port, count, script);

    // Each connection's marks, from its accept to the next one's.
    const connections: Array<Array<[Step, number]>> = [];
    for (const m of marks) {
      if (m[0] === 'accept') connections.push([]);
      connections.at(-1)?.push(m);
    }
    // The usual order of a connection's first steps; connections whose steps interleave
    // differently (the previous one's close in between) are counted, not timed.
    const order: Step[] = ['accept', 'ssh write', 'ssh read', 'channel ready', 'ssh write', 'ssh read', 'client write'];
    const steps = ['accept → CHANNEL_OPEN written (engine)', 'open → confirmation read (server: sshd connects to the echo service)',
      'confirmation read → channel handed over (engine: decrypt, ssh2)', 'channel → first data written (engine: relay, encrypt)',
      'data written → echo read (server: sshd, echo service)', 'echo read → written to the client (engine)'];
    const spans: number[][] = steps.map(() => []);
    let timed = 0;
    for (const c of connections) {
      if (c.length < order.length || order.some((s, i) => c[i][0] !== s)) continue;
      timed++;
      for (let i = 0; i < steps.length; i++) spans[i].push((c[i + 1][1] - c[i][1]) * 1000);
    }
    const shapes = new Map<string, number>();
    for (const c of connections) shapes.set(c.map((m) => m[0]).join(', '), (shapes.get(c.map((m) => m[0]).join(', ')) ?? 0) + 1);
    // --shapes: the commonest orders of steps, with the median time of each from the accept.
    if (process.argv.includes('--shapes')) {
      for (const [shape, n] of [...shapes].sort((a, b) => b[1] - a[1]).slice(0, 4)) {
        const same = connections.filter((c) => c.map((m) => m[0]).join(', ') === shape);
        console.log(n, same[0].map((m, i) => `${m[0]} @${median(same.map((c) => (c[i][1] - c[0][1]) * 1000)).toFixed(0)}`).join(', '));
      }
    }
    console.log(`new connection + 1-byte echo, ${count} one at a time after ${warm} untimed; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const ms = (samples: Sample[]) => samples.map((x) => x.end - x.start);
    console.log(`p50: engine ${median(ms(engine)).toFixed(3)} ms, ssh ${median(ms(openssh)).toFixed(3)} ms`);
    console.log(`steps of the engine's connections (${timed} of ${connections.length} in the usual order), medians in µs:`);
    // One connection at a time: the n-th accept is the n-th sample's.
    const paired = connections.length === engine.length;
    if (paired) {
      const toAccept = connections.map((c, i) => (c[0][1] - engine[i].start) * 1000);
      console.log(`  ${median(toAccept).toFixed(0).padStart(5)}  the client's connect() → the engine's accept (all connections)`);
    }
    for (let i = 0; i < steps.length; i++) console.log(`  ${median(spans[i]).toFixed(0).padStart(5)}  ${steps[i]}`);
    if (paired) {
      const toClient = connections.flatMap((c, i) => {
        const written = c.find((m) => m[0] === 'client write');
        return written ? [(engine[i].end - written[1]) * 1000] : [];
      });
      console.log(`  ${median(toClient).toFixed(0).padStart(5)}  echo written → the client has it (all connections)`);
    }
    const own = [0, 2, 3, 5].reduce((sum, i) => sum + median(spans[i]), 0);
    const server = [1, 4].reduce((sum, i) => sum + median(spans[i]), 0);
    console.log(`  the engine's own steps ${own.toFixed(0)} µs, the server's ${server.toFixed(0)} µs`);
  } finally {
    await manager.dispose();
    await ssh.close();
    services.kill();
    await sshd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
