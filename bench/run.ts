// `npm run bench [-- --quick] [-- --rounds N] [-- --only REGEX] [-- --sides LIST] [-- --many N] [-- --profile] [-- --native]`
// Measures the engine against OpenSSH's ssh client on one loopback sshd, side by side and
// alternating, beside a plain Node TCP proxy and the Node tunnels other tools use, and writes
// bench/results/latest.json plus tables (see docs/performance.md).
import { execFileSync, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { freePort, SshdFixture } from '../test/fixtures/sshd';
import { coldConnections, steadyConnections, WARMUP_CONNECTIONS } from './connections';
import type { BenchContext, Measurement } from './context';
import { editorLoop } from './editorLoop';
import { SIDE_LABELS, summarize, tables, type Figure, type SideName } from './figures';
import { accepts } from './load';
import { MANY_DEFAULT, MANY_MAX, manyOpen } from './manyOpen';
import { EngineHost, EngineSide, engineServers, firstMessage, NodePeerSide, OpenSshSide, PlainProxySide, type Side } from './sides';
import { idleMemory, timeToListen } from './startup';
import { throughputs } from './throughput';

const root = path.resolve(__dirname, '..');
const resultsDir = path.join(root, 'bench', 'results');

/**
 * Every group of figures, in the order they run and print. To add one, write a `Measurement`
 * (bench/context.ts) in its own file and append it here.
 */
const measurements: Measurement[] = [timeToListen, idleMemory, manyOpen, throughputs, steadyConnections, coldConnections, editorLoop];

const SIDE_ARGS: Record<string, SideName> = { engine: 'engine', ssh: 'openssh', proxy: 'proxy', ssh2: 'ssh2', 'tunnel-ssh': 'tunnelSsh' };

interface Options {
  quick: boolean;
  rounds: number;
  connectionRounds: number;
  coldRounds: number;
  only?: RegExp;
  sides: SideName[];
  profile: boolean;
  native: boolean;
  many: number;
}

const USAGE = `usage: npm run bench -- [--quick] [--rounds N] [--only REGEX] [--sides LIST] [--many N] [--profile] [--native]
  --quick        1 round of the bulk figures, 2 of the connection figures, a shorter -D transfer
  --rounds N     rounds of every figure (default: bulk 3, steady connections 5, cold connections 3)
  --only REGEX   only the figures whose name matches (e.g. 'steady', 'cold', 'throughput -L')
  --sides LIST   comma-separated, from ${Object.keys(SIDE_ARGS).join(',')} (default: all; engine and ssh always run)
  --many N       connections open at once in the "N open at once" figures (default ${MANY_DEFAULT}; ssh takes minutes for 10000)
  --profile      --cpu-prof files of the engine, unminified, in bench/results/profiles/
  --native       the engine with ssh2's native crypto add-on (an experiment: it never ships)`;

function parseArgs(argv: string[]): Options {
  const opts: Options = { quick: false, rounds: 0, connectionRounds: 0, coldRounds: 0, profile: false, native: false, sides: Object.values(SIDE_ARGS), many: MANY_DEFAULT };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--profile') opts.profile = true;
    else if (a === '--native') opts.native = true;
    else if (a === '--rounds') opts.rounds = opts.connectionRounds = opts.coldRounds = Number(argv[++i]);
    else if (a === '--only') opts.only = new RegExp(argv[++i], 'i');
    else if (a === '--many') opts.many = Number(argv[++i]);
    else if (a === '--sides') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = names.filter((n) => !(n in SIDE_ARGS));
      if (unknown.length) throw new Error(`Unknown side ${unknown.join(', ')} in --sides; choose from ${Object.keys(SIDE_ARGS).join(', ')}.`);
      opts.sides = [...new Set<SideName>(['engine', 'openssh', ...names.map((n) => SIDE_ARGS[n])])];
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`Unknown option ${a}. Try --help.`);
  }
  if (!opts.rounds) opts.rounds = opts.quick ? 1 : 3;
  if (!opts.connectionRounds) opts.connectionRounds = opts.quick ? 2 : 5;
  if (!opts.coldRounds) opts.coldRounds = opts.quick ? 2 : 3;
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1 || opts.rounds > 20) throw new Error('--rounds takes a whole number from 1 to 20.');
  // Up to what one process may hold (20,000 files here) and sshd and ssh allow on one connection (16,384 channels).
  if (!Number.isInteger(opts.many) || opts.many < 100 || opts.many > MANY_MAX) throw new Error(`--many takes a whole number from 100 to ${MANY_MAX}.`);
  return opts;
}

function sshVersion(): string {
  const out = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  return (out.stderr || out.stdout || 'ssh (version unknown)').trim();
}

/** NODE_PATH's folders: where the bench also looks for tunnel-ssh (e.g. an install outside the repo). */
function nodePaths(): string[] {
  return (process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean);
}

function resolvable(pkg: string): boolean {
  try {
    require.resolve(pkg, { paths: [root, ...nodePaths()] });
    return true;
  } catch {
    return false;
  }
}

interface Scripts {
  dir: string;
  host: string;
  services: string;
  plainProxy: string;
  ssh2: string;
  tunnelSsh?: string;
}

async function bundle(readable: boolean, native: boolean, withTunnelSsh: boolean): Promise<Scripts> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-bench-'));
  const out: Scripts = {
    dir,
    host: path.join(dir, 'engine-host.js'),
    services: path.join(dir, 'services.js'),
    plainProxy: path.join(dir, 'plain-proxy.js'),
    ssh2: path.join(dir, 'peer-ssh2.js'),
    tunnelSsh: withTunnelSsh ? path.join(dir, 'peer-tunnel-ssh.js') : undefined,
  };
  const common: esbuild.BuildOptions = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['cpu-features', '*.node'], logLevel: 'warning', nodePaths: nodePaths() };
  // --native: ssh2's crypto add-on is copied next to the bundle so it can load (it never ships).
  const engine: esbuild.BuildOptions = native ? { ...common, external: ['cpu-features'], loader: { '.node': 'copy' } } : common;
  // The engine built the way esbuild.mjs builds the extension (minified, no native add-ons);
  // left readable under --profile so the profile names functions. The Node peers likewise.
  const builds = [
    esbuild.build({ ...engine, entryPoints: [path.join(root, 'bench', 'engineHost.ts')], outfile: out.host, minify: !readable }),
    esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'services.ts')], outfile: out.services }),
    esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'plainProxy.ts')], outfile: out.plainProxy, minify: true }),
    esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'peerSsh2.ts')], outfile: out.ssh2, minify: true }),
  ];
  if (out.tunnelSsh) builds.push(esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'peerTunnelSsh.ts')], outfile: out.tunnelSsh, minify: true }));
  await Promise.all(builds);
  return out;
}

async function startServices(script: string): Promise<{ proc: ChildProcess; echoPort: number; sinkPort: number }> {
  const proc = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return { proc, ...(await firstMessage<{ echoPort: number; sinkPort: number }>(proc, 'the bench services')) };
}

async function startIperf(): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await accepts(port);
    if (ok) return { proc, port };
    if (proc.exitCode !== null) throw new Error('iperf3 -s exited at once. Is iperf3 installed? (bash scripts/install-system-deps.sh)');
    if (Date.now() > deadline) throw new Error('iperf3 -s did not listen within 5s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(', ');

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(resultsDir, { recursive: true });
  const started = Date.now();
  const loadAtStart = loadAverage();
  const wanted = (name: string) => !opts.only || opts.only.test(name);

  let sideNames = opts.sides;
  const withTunnelSsh = sideNames.includes('tunnelSsh') && resolvable('tunnel-ssh');
  if (sideNames.includes('tunnelSsh') && !withTunnelSsh) {
    console.log('bench: tunnel-ssh is not installed (npm ci installs it; NODE_PATH may point at another install): its column is left out');
    sideNames = sideNames.filter((s) => s !== 'tunnelSsh');
  }
  console.log(`bench: ${opts.quick ? 'quick, ' : ''}rounds: ${opts.rounds} bulk, ${opts.connectionRounds} steady, ${opts.coldRounds} cold; ${os.cpus().length} CPUs, load average ${loadAtStart}; node ${process.version}; ${sshVersion()}`);
  console.log(`bench: sides ${sideNames.map((s) => SIDE_LABELS[s]).join(', ')}; steady figures after ${WARMUP_CONNECTIONS} untimed connections on each`);
  if (opts.native) process.env.SSH_TUNNELS_BENCH_NATIVE = '1';
  const scripts = await bundle(opts.profile, opts.native, withTunnelSsh);
  const sshd = await SshdFixture.start({ extraConfig: ['MaxStartups 1000:30:2000'] });
  const services = await startServices(scripts.services);
  const iperfServer = await startIperf();
  const profileArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', path.join(resultsDir, 'profiles')] : [];
  const startEngine = () => EngineHost.start(scripts.host, engineServers(sshd), profileArgs);
  const host = await startEngine();
  if (!opts.native && host.nativeCrypto) throw new Error('the engine host loaded ssh2\'s native crypto add-on, which the shipped bundle leaves out');
  if (opts.native) {
    if (!host.nativeCrypto) throw new Error('--native: ssh2 did not load its crypto add-on (is node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node built?)');
    console.log('bench: --native: the engine uses ssh2\'s native crypto add-on, which the extension does not ship; these figures are an experiment only');
  }
  const allSides: Record<SideName, () => Side> = {
    engine: () => new EngineSide(host, startEngine),
    openssh: () => new OpenSshSide(sshd),
    proxy: () => new PlainProxySide(scripts.plainProxy),
    ssh2: () => new NodePeerSide('ssh2', scripts.ssh2, sshd),
    tunnelSsh: () => new NodePeerSide('tunnelSsh', scripts.tunnelSsh!, sshd),
  };
  const figures: Figure[] = [];
  const ctx: BenchContext = {
    quick: opts.quick,
    rounds: opts.rounds,
    connectionRounds: opts.connectionRounds,
    coldRounds: opts.coldRounds,
    many: opts.many,
    wanted,
    add: (f) => {
      figures.push(f);
      return f;
    },
    sides: sideNames.map((s) => allSides[s]()),
    sshd,
    services: { echoPort: services.echoPort, sinkPort: services.sinkPort, iperfPort: iperfServer.port },
    engine: { host, start: startEngine },
  };

  try {
    for (const m of measurements) {
      const [t0, before] = [Date.now(), figures.length];
      await m(ctx);
      if (figures.length > before) console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
    }
  } finally {
    await host.stop();
    iperfServer.proc.kill();
    services.proc.kill();
    await sshd.stop();
    fs.rmSync(scripts.dir, { recursive: true, force: true });
  }

  let bundleBytes: number | undefined;
  if (wanted('bundle')) {
    execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: 'inherit' });
    bundleBytes = fs.statSync(path.join(root, 'dist', 'extension.js')).size;
  }

  const rows = figures.map(summarize);
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    options: { ...opts, only: opts.only?.source, sides: sideNames },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, ssh: sshVersion(), loadAverage: { start: loadAtStart, end: loadAverage() } },
    warmupConnections: WARMUP_CONNECTIONS,
    seconds: (Date.now() - started) / 1000,
    bundleBytes,
    figures: rows,
  };
  fs.writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');

  console.log('\n' + tables(rows));
  if (bundleBytes !== undefined) console.log(`\nbundle size (dist/extension.js, --production): ${(bundleBytes / 1024).toFixed(0)} KiB`);
  console.log(`\n${result.command}: ${result.seconds.toFixed(0)}s; load average ${loadAtStart} at start, ${result.machine.loadAverage.end} at end; ${path.relative(root, path.join(resultsDir, 'latest.json'))} written`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
