// `npx tsx bench/sshConfigScale.ts [hosts=5000]`
// Generates an ssh config of N hosts spread over Includes (with wildcard blocks and Match
// blocks, as large real configs have), then times loading it and resolving every host, and
// the longest the event loop is held by the registry's resolution, also with a slow `Match exec`
// that every host evaluates (it runs asynchronously). Prints one line per step.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ServerRegistry } from '../src/config/servers';
import { loadSshConfig, sshConfigServers } from '../src/config/sshConfig';

/** Writes a config of `hosts` hosts over `files` included files; returns the main file. */
export function generateConfig(dir: string, hosts: number, files = 50, extra: string[] = []): string {
  const incDir = path.join(dir, 'conf.d');
  fs.mkdirSync(incDir, { recursive: true });
  const perFile = Math.ceil(hosts / files);
  let n = 0;
  for (let f = 0; f < files && n < hosts; f++) {
    const lines: string[] = [`# team ${f}`, `Host team${f}-*`, `  User team${f}`, ''];
    for (let i = 0; i < perFile && n < hosts; i++, n++) {
      lines.push(`Host host${n} host${n}.example.com`, `  HostName 10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, `  Port ${2000 + (n % 1000)}`);
      if (n % 3 === 0) lines.push(`  ProxyJump bastion${f}`);
      if (n % 10 === 0) lines.push(`  LocalForward ${10000 + n} localhost:5432`);
      lines.push('');
    }
    fs.writeFileSync(path.join(incDir, `${String(f).padStart(3, '0')}.conf`), lines.join('\n'));
  }
  const main = path.join(dir, 'config');
  fs.writeFileSync(
    main,
    [`# hosts ${hosts}`, `Include ${incDir}/*.conf`, '', 'Match host 10.0.*', '  ServerAliveInterval 30', '', 'Host *.example.com', '  IdentityFile ~/.ssh/id_example', '', 'Host *', '  ServerAliveCountMax 4', '  IdentityFile ~/.ssh/id_ed25519', '', ...extra].join('\n'),
  );
  return main;
}

/** Loads and resolves everything; returns the times in ms. */
export function measure(configFile: string, home: string): { loadMs: number; resolveMs: number; hosts: number } {
  const t0 = performance.now();
  const loaded = loadSshConfig(configFile, { home, localUser: 'bench' });
  const t1 = performance.now();
  const resolved = sshConfigServers(loaded);
  const t2 = performance.now();
  return { loadMs: t1 - t0, resolveMs: t2 - t1, hosts: resolved.length };
}

/** The registry as the extension uses it: first list, then the full resolution in slices; the longest event-loop block. */
export async function measureRegistry(configFile: string, home: string, allowExec = false): Promise<{ firstListMs: number; namesMs: number; completeMs: number; longestBlockMs: number }> {
  let longest = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - 1);
    last = now;
  }, 1);
  const t0 = performance.now();
  const registry = new ServerRegistry({ configPath: configFile, env: { home, localUser: 'bench', allowExec } });
  last = performance.now();
  const total = 2 * Number(/^# hosts (\d+)$/m.exec(fs.readFileSync(configFile, 'utf8'))?.[1] ?? 0);
  let namesMs = registry.list().length >= total ? performance.now() - t0 : -1;
  const firstListMs = performance.now() - t0;
  registry.onDidChange(() => {
    if (namesMs < 0 && registry.list().length >= total) namesMs = performance.now() - t0;
  });
  longest = Math.max(longest, firstListMs);
  await registry.whenResolved();
  const completeMs = performance.now() - t0;
  clearInterval(ticker);
  registry.dispose();
  return { firstListMs, namesMs, completeMs, longestBlockMs: longest };
}

async function main(): Promise<void> {
  const hosts = Number(process.argv[2] ?? 5000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-config-scale-'));
  try {
    const file = generateConfig(path.join(dir, '.ssh'), hosts);
    const home = dir;
    measure(file, home); // warm-up: JIT and file cache
    const m = measure(file, home);
    console.log(`${hosts} hosts (${m.hosts} listed aliases) over 50 Includes: load ${m.loadMs.toFixed(1)} ms, resolve all ${m.resolveMs.toFixed(1)} ms`);
    // Event-loop lag also counts the machine's other load: the median of several runs is the figure.
    const report = async (label: string, configFile: string, allowExec: boolean) => {
      const runs: Awaited<ReturnType<typeof measureRegistry>>[] = [];
      for (let i = 0; i < 5; i++) runs.push(await measureRegistry(configFile, home, allowExec));
      const median = (f: (r: (typeof runs)[number]) => number) => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
      console.log(
        `${label} (median of ${runs.length}): first list() after ${median((r) => r.firstListMs).toFixed(1)} ms, every name listed after ${median((r) => r.namesMs).toFixed(1)} ms, every host resolved after ${median((r) => r.completeMs).toFixed(1)} ms, ` +
          `longest synchronous block ${median((r) => r.longestBlockMs).toFixed(1)} ms (worst run ${Math.max(...runs.map((r) => r.longestBlockMs)).toFixed(1)} ms)`,
      );
    };
    await report('registry', file, false);
    // A Match exec every host evaluates (one command, as `Match exec "nc -z vpn 22"` would be): it runs off the event loop.
    const withExec = generateConfig(path.join(dir, 'exec', '.ssh'), hosts, 50, ['Match exec "sleep 0.5; true"', '  ConnectTimeout 5', '']);
    await report('registry with a 0.5 s Match exec, trusted', withExec, true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
