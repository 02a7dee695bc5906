// `npm run bench [-- --quick] [-- --rounds N] [-- --only REGEX] [-- --profile] [-- --native]`
// Measures the engine against OpenSSH's ssh client on one loopback sshd, side by side and
// alternating, and writes bench/results/latest.json plus a table (see docs/performance.md).
import { execFileSync, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { SshdFixture } from '../test/fixtures/sshd';
import { editorLoop } from './editorLoop';
import { connectionsPerSecond, cpuSecondsOf, iperf, latency, openIdle, rssOf, socksPush } from './load';
import { EngineHost, EngineSide, engineServers, engineSpec, freePort, OpenSshSide, PlainProxySide, spawnSsh, stopProcess, type Forward, type Side } from './sides';

const root = path.resolve(__dirname, '..');
const resultsDir = path.join(root, 'bench', 'results');

interface Options {
  quick: boolean;
  rounds: number;
  only?: RegExp;
  profile: boolean;
  native: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { quick: false, rounds: 0, profile: false, native: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--profile') opts.profile = true;
    else if (a === '--native') opts.native = true;
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--only') opts.only = new RegExp(argv[++i], 'i');
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--quick] [--rounds N] [--only REGEX] [--profile] [--native]');
      process.exit(0);
    } else throw new Error(`Unknown option ${a}. Try --help.`);
  }
  if (!opts.rounds) opts.rounds = opts.quick ? 1 : 3;
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1 || opts.rounds > 20) throw new Error('--rounds takes a whole number from 1 to 20.');
  return opts;
}

interface Figure {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Target for engine/OpenSSH (a bound on the ratio), or on the engine's own value when `absolute`. */
  target?: { ratio?: number; absolute?: number };
  engine: number[];
  openssh: number[];
  /** What the engine column holds, when it is not the engine (a reference). */
  subject?: string;
  /** CPU seconds per wall second of the client process while it measured. */
  cpu?: { engine: number[]; openssh: number[] };
}

function sshVersion(): string {
  const out = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  return (out.stderr || out.stdout || 'ssh (version unknown)').trim();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function bundle(readable: boolean, native: boolean): Promise<{ host: string; services: string; plainProxy: string }> {
  // Built outside the tree, where the native add-ons could not be found even if asked for.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-bench-'));
  const out = { host: path.join(dir, 'engine-host.js'), services: path.join(dir, 'services.js'), plainProxy: path.join(dir, 'plain-proxy.js') };
  const common: esbuild.BuildOptions = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['cpu-features', '*.node'], logLevel: 'warning' };
  // --native: ssh2's crypto add-on is copied next to the bundle so it can load (it never ships).
  const engine: esbuild.BuildOptions = native ? { ...common, external: ['cpu-features'], loader: { '.node': 'copy' } } : common;
  // The engine built the way esbuild.mjs builds the extension (minified, no native add-ons);
  // left readable under --profile so the profile names functions.
  await esbuild.build({ ...engine, entryPoints: [path.join(root, 'bench', 'engineHost.ts')], outfile: out.host, minify: !readable });
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'services.ts')], outfile: out.services });
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'plainProxy.ts')], outfile: out.plainProxy, minify: true });
  return out;
}

function startServices(script: string): Promise<{ proc: ChildProcess; echoPort: number; sinkPort: number }> {
  const proc = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    proc.once('message', (m: { echoPort: number; sinkPort: number }) => resolve({ proc, ...m }));
    proc.once('exit', (code) => reject(new Error(`bench services exited with ${code}`)));
  });
}

async function startIperf(): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return { proc, port };
    if (proc.exitCode !== null) throw new Error('iperf3 -s exited at once. Is iperf3 installed? (bash scripts/install-system-deps.sh)');
    if (Date.now() > deadline) throw new Error('iperf3 -s did not listen within 5s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `measure` on an open forward of each side, alternating which side goes first. */
async function sideBySide(
  sides: Side[],
  rounds: number,
  forward: Forward,
  measure: (port: number, side: Side) => Promise<number[]>,
  record: (side: Side, values: number[], cpuPerSecond: number) => void,
): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const open = await side.open(forward);
      try {
        const cpu0 = cpuSecondsOf(open.pid);
        const t0 = Date.now();
        const values = await measure(open.port, side);
        const cpu = (cpuSecondsOf(open.pid) - cpu0) / ((Date.now() - t0) / 1000);
        record(side, values, cpu);
      } finally {
        await open.close();
      }
    }
  }
}

function figure(name: string, unit: string, better: Figure['better'], target?: Figure['target']): Figure {
  return { name, unit, better, target, engine: [], openssh: [], cpu: { engine: [], openssh: [] } };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(resultsDir, { recursive: true });
  const started = Date.now();
  const wanted = (name: string) => !opts.only || opts.only.test(name);
  const seconds = opts.quick ? 3 : 5;
  const socksBytes = (opts.quick ? 256 : 512) * 1024 * 1024;
  const latencyCount = opts.quick ? 300 : 500;
  const cpsTotal = opts.quick ? 1000 : 2000;
  const idleCount = 1000;
  const coldRounds = opts.quick ? 3 : 5;

  console.log(`bench: ${opts.quick ? 'quick, ' : ''}${opts.rounds} round(s); ${os.cpus().length} CPUs; node ${process.version}; ${sshVersion()}`);
  if (opts.native) process.env.SSH_TUNNELS_BENCH_NATIVE = '1';
  const scripts = await bundle(opts.profile, opts.native);
  const sshd = await SshdFixture.start({ extraConfig: ['MaxStartups 1000:30:2000'] });
  const services = await startServices(scripts.services);
  const iperfServer = await startIperf();
  const profileArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', path.join(resultsDir, 'profiles')] : [];
  const host = await EngineHost.start(scripts.host, engineServers(sshd), profileArgs);
  if (!opts.native && host.nativeCrypto) throw new Error('the engine host loaded ssh2\'s native crypto add-on, which the shipped bundle leaves out');
  if (opts.native) {
    if (!host.nativeCrypto) throw new Error('--native: ssh2 did not load its crypto add-on (is node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node built?)');
    console.log('bench: --native: the engine uses ssh2\'s native crypto add-on, which the extension does not ship; these figures are an experiment only');
  }
  const sides: Side[] = [new EngineSide(host), new OpenSshSide(sshd)];
  const figures: Figure[] = [];
  const add = (f: Figure) => {
    figures.push(f);
    return f;
  };
  const log = (f: Figure) => {
    const e = median(f.engine);
    const o = median(f.openssh);
    let cpu = '';
    if (f.unit === 'Mbit/s' && f.cpu?.engine.length) {
      // CPU seconds the client spent per GB moved: steadier than throughput on a busy machine.
      const perGB = (side: 'engine' | 'openssh') => median(f.cpu![side].map((c, i) => c / (f[side][i] / 8000)));
      cpu = `; client CPU s/GB engine ${perGB('engine').toFixed(2)}, OpenSSH ${perGB('openssh').toFixed(2)}`;
    }
    if (f.unit === 'conn/s' && f.cpu?.engine.length) {
      const perConn = (side: 'engine' | 'openssh') => median(f.cpu![side].map((c, i) => (c / f[side][i]) * 1000));
      cpu = `; client CPU ms/connection ${f.subject ?? 'engine'} ${perConn('engine').toFixed(3)}, OpenSSH ${perConn('openssh').toFixed(3)}`;
    }
    console.log(`  ${f.name}: ${f.subject ?? 'engine'} ${e.toFixed(2)} ${f.unit}, OpenSSH ${o.toFixed(2)} ${f.unit}, ratio ${(e / o).toFixed(2)}${cpu}`);
  };
  const push = (f: Figure) => (side: Side, values: number[], cpu: number) => {
    f[side.name].push(...values);
    f.cpu![side.name].push(cpu);
  };

  try {
    if (wanted('time to listen')) {
      const f = add(figure('time to listen (cold)', 'ms', 'lower', { ratio: 1.2 }));
      const forward: Forward = { type: 'local', targetPort: services.echoPort };
      for (let r = 0; r < coldRounds; r++) {
        // Engine: a fresh process that has loaded the bundle; timed from new TunnelManager to createTunnel resolving.
        const fresh = await EngineHost.start(scripts.host, engineServers(sshd));
        f.engine.push((await fresh.call<{ ms: number }>({ op: 'cold', spec: engineSpec(forward) })).ms);
        await fresh.stop();
        // OpenSSH: spawn `ssh -N -o ExitOnForwardFailure=yes` until its port accepts a connection.
        const port = await freePort();
        const t0 = process.hrtime.bigint();
        const { proc, stderr } = spawnSsh(sshd, forward, port);
        for (;;) {
          const ok = await new Promise<boolean>((resolve) => {
            const s = net.connect({ host: '127.0.0.1', port }, () => {
              s.destroy();
              resolve(true);
            });
            s.once('error', () => resolve(false));
          });
          if (ok) break;
          if (proc.exitCode !== null) throw new Error(`ssh exited: ${stderr()}`);
          if (Number(process.hrtime.bigint() - t0) > 10e9) throw new Error('ssh did not listen within 10s');
          await new Promise((r) => setTimeout(r, 1));
        }
        f.openssh.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await stopProcess(proc);
      }
      log(f);
    }

    if (wanted('memory')) {
      const f = add(figure(`memory per idle connection (${idleCount} open)`, 'KiB', 'lower', { absolute: 32 }));
      const forward: Forward = { type: 'local', targetPort: services.echoPort };
      for (let r = 0; r < Math.max(1, Math.min(opts.rounds, 2)); r++) {
        // The engine in a fresh process, so its RSS is only this tunnel's.
        const fresh = await EngineHost.start(scripts.host, engineServers(sshd));
        const freshSide = new EngineSide(fresh);
        for (const side of [freshSide, sides[1]]) {
          const open = await side.open(forward);
          try {
            (await openIdle(open.port, 1)).forEach((s) => s.destroy());
            await new Promise((r) => setTimeout(r, 200));
            const rss = async () => (side === freshSide ? (await fresh.call<{ rss: number }>({ op: 'rss' })).rss : rssOf(open.pid));
            const before = await rss();
            const sockets = await openIdle(open.port, idleCount);
            await new Promise((r) => setTimeout(r, 500));
            const after = await rss();
            for (const s of sockets) s.destroy();
            f[side.name].push((after - before) / idleCount / 1024);
          } finally {
            await open.close();
          }
        }
        await fresh.stop();
      }
      log(f);
    }

    const throughputs: Array<[string, Forward, (port: number) => Promise<number>]> = [
      ['throughput -L upload (iperf3)', { type: 'local', targetPort: iperfServer.port }, (p) => iperf(p, seconds, false)],
      ['throughput -L download (iperf3 -R)', { type: 'local', targetPort: iperfServer.port }, (p) => iperf(p, seconds, true)],
      ['throughput -R upload (iperf3)', { type: 'remote', targetPort: iperfServer.port }, (p) => iperf(p, seconds, false)],
      ['throughput -D upload (SOCKS5)', { type: 'dynamic' }, (p) => socksPush(p, services.sinkPort, socksBytes)],
      ['throughput -L upload, default ciphers', { type: 'local', targetPort: iperfServer.port, cipher: 'default' }, (p) => iperf(p, seconds, false)],
    ];
    for (const [name, forward, run] of throughputs) {
      if (!wanted(name)) continue;
      const f = add(figure(name, 'Mbit/s', 'higher', { ratio: 1.0 }));
      await sideBySide(sides, opts.rounds, forward, async (port) => [await run(port)], push(f));
      log(f);
    }

    if (wanted('latency')) {
      const measureLatency = async (label: string, over: Side[], target?: Figure['target'], subject?: string) => {
        const p50 = add({ ...figure(`${label}new connection + 1-byte echo, p50`, 'ms', 'lower', target && { ratio: 1.2 }), subject });
        const p99 = add({ ...figure(`${label}new connection + 1-byte echo, p99`, 'ms', 'lower', target && { ratio: 1.5 }), subject });
        await sideBySide(over, opts.rounds, { type: 'local', targetPort: services.echoPort }, async (port) => {
          const l = await latency(port, latencyCount);
          return [l.p50, l.p99];
        }, (side, [a, b], cpu) => {
          p50[side.name].push(a);
          p99[side.name].push(b);
          p50.cpu![side.name].push(cpu);
        });
        log(p50);
        log(p99);
      };
      await measureLatency('', sides, {});
      // The same through a plain Node TCP proxy (no SSH): what Node alone adds to a new connection.
      await measureLatency('reference, no SSH: a plain Node TCP proxy, ', [new PlainProxySide(scripts.plainProxy), sides[1]], undefined, 'plain Node proxy');
    }

    if (wanted('connections per second')) {
      const f = add(figure(`connections per second (50 concurrent, ${cpsTotal} total)`, 'conn/s', 'higher', { ratio: 1.0 }));
      await sideBySide(sides, opts.rounds, { type: 'local', targetPort: services.echoPort }, async (port) => [await connectionsPerSecond(port, cpsTotal, 50)], push(f));
      log(f);
      // The same load through a plain Node TCP proxy (no SSH): what Node alone costs per connection.
      const ref = add({ ...figure(`reference, no SSH: a plain Node TCP proxy, connections per second (50 concurrent, ${cpsTotal} total)`, 'conn/s', 'higher'), subject: 'plain Node proxy' });
      const proxySides: Side[] = [new PlainProxySide(scripts.plainProxy), sides[1]];
      await sideBySide(proxySides, opts.rounds, { type: 'local', targetPort: services.echoPort }, async (port) => [await connectionsPerSecond(port, cpsTotal, 50)], push(ref));
      log(ref);
    }

    // The editor under traffic, in real VS Code: bench/editorLoop.ts.
    await editorLoop({ quick: opts.quick, rounds: opts.rounds, wanted, add, sshd, services: { echoPort: services.echoPort, iperfPort: iperfServer.port } });
  } finally {
    await host.stop();
    iperfServer.proc.kill();
    services.proc.kill();
    await sshd.stop();
    fs.rmSync(path.dirname(scripts.host), { recursive: true, force: true });
  }

  let bundleBytes: number | undefined;
  if (wanted('bundle')) {
    execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: 'inherit' });
    bundleBytes = fs.statSync(path.join(root, 'dist', 'extension.js')).size;
  }

  const rows = figures.map((f) => {
    const engine = median(f.engine);
    const openssh = median(f.openssh);
    const ratio = engine / openssh;
    let ok: boolean | undefined;
    if (f.target?.absolute !== undefined) ok = engine <= f.target.absolute;
    else if (f.target?.ratio !== undefined) ok = f.better === 'higher' ? ratio >= f.target.ratio : ratio <= f.target.ratio;
    const cpu = f.cpu && f.cpu.engine.length ? { engine: median(f.cpu.engine), openssh: median(f.cpu.openssh) } : undefined;
    return { ...f, median: { engine, openssh }, ratio, ok, cpuMedian: cpu };
  });
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    options: { ...opts, only: opts.only?.source },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, ssh: sshVersion() },
    seconds: (Date.now() - started) / 1000,
    bundleBytes,
    figures: rows,
  };
  fs.writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');

  const fmt = (v: number) => (Number.isNaN(v) ? '' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const lines = [
    '| figure | engine | OpenSSH | engine / OpenSSH | target | met |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...rows.map((r) => {
      const target = r.target?.absolute !== undefined ? `≤ ${r.target.absolute} ${r.unit}` : r.target?.ratio !== undefined ? `${r.better === 'higher' ? '≥' : '≤'} ${r.target.ratio.toFixed(1)}×` : '';
      return `| ${r.name} | ${fmt(r.median.engine)} ${r.unit} | ${fmt(r.median.openssh)} ${r.unit} | ${Number.isNaN(r.ratio) ? '' : `${r.ratio.toFixed(2)}×`} | ${target} | ${r.ok === undefined ? '' : r.ok ? 'yes' : 'no'} |`;
    }),
  ];
  if (bundleBytes !== undefined) lines.push(`| bundle size (dist/extension.js, --production) | ${(bundleBytes / 1024).toFixed(0)} KiB | | | | |`);
  console.log('\n' + lines.join('\n'));
  console.log(`\n${result.command}: ${result.seconds.toFixed(0)}s; ${path.relative(root, path.join(resultsDir, 'latest.json'))} written`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
