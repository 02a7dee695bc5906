// `ssh -G` as the reference for ssh_config resolution: run it, and render ours the way it prints.
import { execFileSync } from 'node:child_process';
import type { ResolvedHost } from '../../src/config/sshConfig';
import { ALGORITHMS, type AlgorithmOption } from '../../src/config/sshAlgorithms';
import type { TunnelSpec } from '../../src/engine/base/types';

/** The algorithm lists `ssh -G` prints; ours hold only what ssh2 can use, so theirs are compared cut to that. */
const ALGORITHM_KEYS: [string, AlgorithmOption][] = [
  ['ciphers', 'ciphers'],
  ['macs', 'macs'],
  ['kexalgorithms', 'kexAlgorithms'],
  ['hostkeyalgorithms', 'hostKeyAlgorithms'],
  ['pubkeyacceptedalgorithms', 'pubkeyAcceptedAlgorithms'],
];

/** A comma-separated list as `ssh -G` prints it, cut to the names ssh2 can use. */
function usable(option: AlgorithmOption, list: string): string[] {
  return list.split(',').filter((n) => ALGORITHMS[option].ssh2.has(n));
}

/** `ssh -G` for one host: keyword → values (repeated keywords collect). No file: ssh's own (~/.ssh/config, then /etc/ssh/ssh_config). */
export function sshG(configFile: string | undefined, host: string): Map<string, string[]> {
  const out = execFileSync('ssh', ['-G', ...(configFile === undefined ? [] : ['-F', configFile]), host], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const map = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^(\S+) (.*)$/.exec(line);
    if (!m) continue;
    map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  for (const [key, option] of ALGORITHM_KEYS) if (map.has(key)) map.set(key, [usable(option, map.get(key)![0]).join(',')]);
  // ssh 9.2 also prints a LocalForward to a socket path as a DynamicForward: not a forward of its own.
  const localListens = new Set((map.get('localforward') ?? []).filter((f) => / \//.test(f)).map((f) => f.split(' ')[0]));
  if (map.has('dynamicforward')) map.set('dynamicforward', map.get('dynamicforward')!.filter((f) => !localListens.has(f)));
  return map;
}

const STRICT = { yes: 'true', no: 'false', 'accept-new': 'accept-new' } as const;
const bracket = (h: string) => `[${h}]`;

function forward(t: TunnelSpec): string {
  if (t.type === 'dynamic') return t.localHost ? `${bracket(t.localHost)}:${t.localPort}` : `${t.localPort}`;
  if (t.type === 'local') {
    const listen = t.localPath ?? `${t.localHost ? `${bracket(t.localHost)}:` : ''}${t.localPort}`;
    return `${listen} ${t.remotePath ?? `${bracket(t.remoteHost!)}:${t.remotePort}`}`;
  }
  const listen = t.remotePath ?? `${t.remoteHost ? `${bracket(t.remoteHost)}:` : ''}${t.remotePort}`;
  return `${listen} ${t.socks ? '[socks]:0' : t.localPath ?? `${bracket(t.localHost!)}:${t.localPort}`}`;
}

/** Our resolution rendered the way `ssh -G` prints it, defaults filled in. */
export function asSshG(r: ResolvedHost, home: string, localUser: string): Record<string, string[]> {
  const s = r.server;
  const forwards = (type: string) => r.tunnels.filter((t) => t.type === type).map(forward);
  return {
    hostname: [(s.hostName ?? s.alias).toLowerCase()],
    port: [String(s.port ?? 22)],
    user: [s.user ?? localUser],
    proxyjump: s.proxyJump ? [s.proxyJump] : [],
    proxycommand: s.proxyCommand ? [s.proxyCommand] : [],
    stricthostkeychecking: [s.strictHostKeyChecking ? STRICT[s.strictHostKeyChecking] : 'ask'],
    userknownhostsfile: [([] as string[]).concat(s.userKnownHostsFile ?? [`${home}/.ssh/known_hosts`, `${home}/.ssh/known_hosts2`]).join(' ')],
    globalknownhostsfile: [([] as string[]).concat(s.globalKnownHostsFile ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']).join(' ')],
    serveraliveinterval: [String(s.serverAliveInterval ?? 0)],
    serveralivecountmax: [String(s.serverAliveCountMax ?? 3)],
    connecttimeout: [String(s.connectTimeout ?? 'none')],
    identitiesonly: [s.identitiesOnly ? 'yes' : 'no'],
    ...Object.fromEntries(ALGORITHM_KEYS.map(([key, option]) => [key, [(s[option] ?? usable(option, ALGORITHMS[option].defaults.join(','))).join(',')]])),
    hostkeyalias: s.hostKeyAlias ? [s.hostKeyAlias] : [],
    hashknownhosts: [s.hashKnownHosts ? 'yes' : 'no'],
    localforward: forwards('local'),
    remoteforward: forwards('remote'),
    dynamicforward: forwards('dynamic'),
  };
}
