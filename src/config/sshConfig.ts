/**
 * Reads OpenSSH client config (`~/.ssh/config`) into ServerConfig and TunnelSpec entries,
 * answering for each host what `ssh -G host` would. The jobs live in their own files:
 * sshConfigLines (tokenizing lines as readconf.c does), sshConfigLoad (files, Includes, the
 * per-host index), sshConfigEval + sshConfigMatch (which lines apply: Host, Match, the final
 * pass); this file builds the server and its forwards from the lines that apply.
 */
import * as os from 'node:os';
import { envValue, expandHome, type ServerConfig, type TunnelSpec } from '../engine';
import { parseForward } from './forwardSpec';
import { ALGORITHMS, algorithmSetting, assembleAlgorithms, type AlgorithmOption } from './sshAlgorithms';
import { collect, expandTokens, tokensFor } from './sshConfigEval';
import type { ExecResult } from './sshConfigExec';
import type { ConfigLine } from './sshConfigLines';
import { expandEnv, loadSshConfig, type LoadedSshConfig, type SshConfigEnv } from './sshConfigLoad';

export { hostPatternsMatch } from './sshConfigPatterns';
export { expandTokens, loadSshConfig };
export type { LoadedSshConfig, SshConfigEnv };

export interface ResolvedHost {
  server: ServerConfig;
  /** LocalForward / RemoteForward / DynamicForward of this host, ready to start. */
  tunnels: TunnelSpec[];
  /** Values that were ignored, and why. */
  warnings: string[];
  /** Set when ssh would refuse to connect to this host (e.g. a bad Port): the host must not be dialled. */
  error?: string;
}

export interface ResolveOptions {
  /** Overrides the config's allowExec for this resolution. */
  allowExec?: boolean;
  /** Shares `Match exec` results between resolutions (same expanded command, same answer). */
  execCache?: Map<string, ExecResult>;
  /** Throw ExecPending for a `Match exec` result not in execCache instead of running the command here. */
  deferExec?: boolean;
}

/** OpenSSH's default Ciphers, what `+`, `-` and `^` apply to. */
export const DEFAULT_CIPHERS = ALGORITHMS.ciphers.defaults;

/** Ciphers' `+`, `-` and `^` (kex_assemble_names), as every algorithm option has them. */
export function assembleCiphers(spec: string): { ciphers: string[]; dropped: string[] } {
  const { usable, dropped } = assembleAlgorithms('ciphers', spec);
  return { ciphers: usable, dropped };
}

/** ssh_config keywords (lowercase) of the algorithm lists, and their ServerConfig fields. */
const ALGORITHM_KEYWORDS: [string, AlgorithmOption][] = [
  ['ciphers', 'ciphers'],
  ['macs', 'macs'],
  ['kexalgorithms', 'kexAlgorithms'],
  ['hostkeyalgorithms', 'hostKeyAlgorithms'],
  ['pubkeyacceptedalgorithms', 'pubkeyAcceptedAlgorithms'],
];

function parseYesNo(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  return undefined;
}

/** One LocalForward / RemoteForward / DynamicForward line as a TunnelSpec, or why not. */
function forwardOf(line: ConfigLine, alias: string, type: TunnelSpec['type']): TunnelSpec | string {
  const [listen, target, extra] = line.args;
  if (listen === undefined || extra !== undefined) return 'needs one listen address and one target';
  const isPath = (w: string) => w.includes('/');
  const spec: TunnelSpec = { server: alias, type, localPort: 0 };
  if (type === 'dynamic') {
    if (target !== undefined) return 'takes only [bind_address:]port';
    const parsed = parseForward(listen, 'dynamic');
    if (!parsed.ok) return parsed.error;
    if (parsed.forward.localHost !== undefined) spec.localHost = parsed.forward.localHost;
    spec.localPort = parsed.forward.localPort;
    return spec;
  }
  if (type === 'remote' && target === undefined) {
    // RemoteForward [addr:]port with no target: a SOCKS proxy on the server (ssh -R port).
    if (isPath(listen)) return 'a reverse SOCKS proxy needs [bind_address:]port, not a socket path';
    const parsed = parseForward(listen, 'dynamic');
    if (!parsed.ok) return parsed.error;
    const out: TunnelSpec = { server: alias, type: 'remote', localPort: 0, socks: true, remotePort: parsed.forward.localPort };
    if (parsed.forward.localHost !== undefined) out.remoteHost = parsed.forward.localHost;
    return out;
  }
  if (target === undefined) return 'needs a target host:port or socket path';
  // local: listen here, connect there; remote: listen there, connect here.
  const here = type === 'local' ? listen : target;
  const there = type === 'local' ? target : listen;
  if (!isPath(here) && !isPath(there)) {
    const parsed = parseForward(`${listen}:${target}`, type);
    if (!parsed.ok) return parsed.error;
    const { localHost, localPort, remoteHost, remotePort } = parsed.forward;
    spec.localPort = localPort;
    if (localHost !== undefined) spec.localHost = localHost;
    // forwardSpec fills the remote bind address in; from the config, only what was written counts.
    if (remoteHost !== undefined && !(type === 'remote' && /^\d+$/.test(listen))) spec.remoteHost = remoteHost;
    if (remotePort !== undefined) spec.remotePort = remotePort;
    return spec;
  }
  // At least one Unix socket: the other side is [bind:]port (listen) or host:port (target).
  const listenSide = type === 'local' ? here : there;
  const targetSide = type === 'local' ? there : here;
  if (isPath(listenSide)) {
    if (type === 'local') spec.localPath = listenSide;
    else spec.remotePath = listenSide;
  } else {
    const parsed = parseForward(listenSide, 'dynamic');
    if (!parsed.ok) return parsed.error;
    if (type === 'local') {
      spec.localPort = parsed.forward.localPort;
      if (parsed.forward.localHost !== undefined) spec.localHost = parsed.forward.localHost;
    } else {
      spec.remotePort = parsed.forward.localPort;
      if (parsed.forward.localHost !== undefined) spec.remoteHost = parsed.forward.localHost;
    }
  }
  if (isPath(targetSide)) {
    if (type === 'local') spec.remotePath = targetSide;
    else spec.localPath = targetSide;
  } else {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(targetSide);
    if (!m || Number(m[3]) > 65535 || Number(m[3]) === 0) return `target ${JSON.stringify(targetSide)} must be host:port or a socket path`;
    if (type === 'local') {
      spec.remoteHost = m[1] ?? m[2];
      spec.remotePort = Number(m[3]);
    } else {
      spec.localHost = m[1] ?? m[2];
      spec.localPort = Number(m[3]);
    }
  }
  return spec;
}

/** The settings that apply to `alias`, as `ssh -G alias` would compute them. */
export function resolveHost(config: LoadedSshConfig, alias: string, options: ResolveOptions = {}): ResolvedHost {
  const collected = collect(config, alias, { allowExec: options.allowExec ?? config.env.allowExec, execTimeoutMs: config.env.execTimeoutMs, execCache: options.execCache, deferExec: options.deferExec });
  const { values } = collected;
  const warnings = [...collected.warnings];
  let error: string | undefined;
  const line = (key: string): ConfigLine | undefined => values.get(key)?.[0];
  const first = (key: string): string | undefined => line(key)?.args[0];
  const firstArgs = (key: string): string[] | undefined => line(key)?.args;
  const where = (key: string) => {
    const l = line(key);
    return l ? `${l.file}:${l.line}` : config.path;
  };
  const server: ServerConfig = { alias };
  const { home, localUser } = config.env;

  const integer = (key: string, keyword: string, min: number, max: number): number | undefined => {
    const raw = first(key);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      warnings.push(`${where(key)}: ${keyword} ${JSON.stringify(raw)} for ${alias} must be a whole number from ${min} to ${max}; ignored.`);
      return undefined;
    }
    return Number(raw);
  };

  const hostNameRaw = first('hostname');
  let hostName = collected.finalHost ?? (hostNameRaw === undefined ? alias : expandTokens(hostNameRaw, { h: alias }));
  // The final pass lowercases a name ssh was given only as the alias; keep the alias as written then.
  if (hostNameRaw === undefined && hostName === alias.toLowerCase()) hostName = alias;
  if (hostName !== alias) server.hostName = hostName;
  const portRaw = first('port');
  if (portRaw !== undefined) {
    if (!/^\d{1,5}$/.test(portRaw) || Number(portRaw) < 1 || Number(portRaw) > 65535) {
      // ssh refuses the whole config over a bad Port ("Bad port"); we refuse this host only.
      error = `${where('port')}: Port ${JSON.stringify(portRaw)} for ${alias} must be a whole number from 1 to 65535 (ssh refuses this config: "Bad port").`;
    } else {
      server.port = Number(portRaw);
    }
  }
  const user = first('user');
  if (user !== undefined) server.user = user;

  let tokens: Record<string, string> | undefined;
  const hostKeyAlias = first('hostkeyalias');
  if (hostKeyAlias !== undefined) server.hostKeyAlias = hostKeyAlias;
  // %k is the HostKeyAlias when there is one (ssh's keyalias), else the alias.
  const tokensNow = () => (tokens ??= { ...tokensFor(hostName, alias, String(server.port ?? 22), server.user ?? localUser, localUser, home, collected.proxyJump?.rest ?? ''), ...(hostKeyAlias ? { k: hostKeyAlias } : {}) });
  const pathValue = (p: string) => {
    const withEnv = expandEnv(p, config.env);
    return expandHome(withEnv.includes('%') ? expandTokens(withEnv, tokensNow()) : withEnv, home, config.env.platform);
  };

  const identityFiles = (values.get('identityfile') ?? []).map((v) => v.args[0]).filter((v): v is string => v !== undefined);
  if (identityFiles.length) server.identityFile = identityFiles.map(pathValue);
  const certificateFiles = (values.get('certificatefile') ?? []).map((v) => v.args[0]).filter((v): v is string => v !== undefined);
  if (certificateFiles.length) server.certificateFile = certificateFiles.map(pathValue);
  const yesNo = (key: string, keyword: string, set: (v: boolean) => void) => {
    const raw = first(key);
    if (raw === undefined) return;
    const v = parseYesNo(raw);
    if (v === undefined) warnings.push(`${where(key)}: ${keyword} ${JSON.stringify(raw)} for ${alias} must be yes or no; ignored.`);
    else set(v);
  };
  yesNo('identitiesonly', 'IdentitiesOnly', (v) => (server.identitiesOnly = v));
  yesNo('streamlocalbindunlink', 'StreamLocalBindUnlink', (v) => (server.streamLocalBindUnlink = v));
  yesNo('hashknownhosts', 'HashKnownHosts', (v) => (server.hashKnownHosts = v));
  // Read only where Apple's ssh knows it (elsewhere it is an unknown keyword, set aside while reading).
  yesNo('usekeychain', 'UseKeychain', (v) => (server.useKeychain = v));
  const agent = first('identityagent');
  if (agent !== undefined) {
    if (agent.toLowerCase() === 'none') server.identityAgent = false;
    else if (agent !== 'SSH_AUTH_SOCK') server.identityAgent = pathValue(agent.startsWith('$') ? envValue(agent.slice(1), config.env.vars, config.env.platform) ?? '' : agent);
  }
  if (collected.proxyJump) server.proxyJump = collected.proxyJump.rest;
  if (collected.proxyCommand) server.proxyCommand = collected.proxyCommand.rest;
  const alive = integer('serveraliveinterval', 'ServerAliveInterval', 0, 2 ** 31 - 1);
  if (alive !== undefined) server.serverAliveInterval = alive;
  const aliveCount = integer('serveralivecountmax', 'ServerAliveCountMax', 1, 2 ** 31 - 1);
  if (aliveCount !== undefined) server.serverAliveCountMax = aliveCount;
  const connectTimeout = integer('connecttimeout', 'ConnectTimeout', 1, 2 ** 31 - 1);
  if (connectTimeout !== undefined) server.connectTimeout = connectTimeout;

  const strict = first('stricthostkeychecking')?.toLowerCase();
  if (strict !== undefined) {
    if (strict === 'yes' || strict === 'true') server.strictHostKeyChecking = 'yes';
    else if (strict === 'no' || strict === 'false' || strict === 'off') server.strictHostKeyChecking = 'no';
    else if (strict === 'accept-new') server.strictHostKeyChecking = 'accept-new';
    else if (strict !== 'ask') {
      warnings.push(`${where('stricthostkeychecking')}: StrictHostKeyChecking ${JSON.stringify(strict)} for ${alias} must be yes, accept-new, no or ask; asking instead.`);
    }
  }
  const knownHosts = firstArgs('userknownhostsfile');
  if (knownHosts?.length) {
    // `none`: nothing is known and nothing is remembered; os.devNull reads empty and swallows appends.
    if (knownHosts.length === 1 && knownHosts[0].toLowerCase() === 'none') server.userKnownHostsFile = [os.devNull];
    else server.userKnownHostsFile = knownHosts.map(pathValue);
  }
  const globalKnownHosts = firstArgs('globalknownhostsfile');
  if (globalKnownHosts?.length) {
    if (globalKnownHosts.length === 1 && globalKnownHosts[0].toLowerCase() === 'none') server.globalKnownHostsFile = [os.devNull];
    else server.globalKnownHostsFile = globalKnownHosts; // as ssh: no ~ or % expansion here
  }
  for (const [key, option] of ALGORITHM_KEYWORDS) {
    const spec = first(key);
    if (spec === undefined) continue;
    const { list, warnings: why } = algorithmSetting(option, spec, where(key), alias);
    warnings.push(...why);
    if (list) server[option] = list;
    if (list && option === 'hostKeyAlgorithms' && !/^[+-]/.test(spec)) server.hostKeyAlgorithmsVerbatim = true;
  }
  if (first('canonicaldomains') !== undefined && /^(yes|always)$/i.test(first('canonicalizehostname') ?? '')) {
    warnings.push(`${where('canonicalizehostname')}: CanonicalizeHostname for ${alias}: names are not looked up in CanonicalDomains; the final Match pass uses HostName as written.`);
  }

  const tunnels: TunnelSpec[] = [];
  const clearAll = parseYesNo(first('clearallforwardings') ?? 'no') === true;
  if (!clearAll) {
    for (const [key, type] of [['localforward', 'local'], ['remoteforward', 'remote'], ['dynamicforward', 'dynamic']] as const) {
      for (const entry of values.get(key) ?? []) {
        const spec = forwardOf(entry, alias, type);
        if (typeof spec === 'string') warnings.push(`${entry.file}:${entry.line}: ${entry.keyword} ${entry.args.join(' ')} for ${alias}: ${spec.replace(/\.$/, '')}; skipped.`);
        else tunnels.push(spec);
      }
    }
  }
  return error === undefined ? { server, tunnels, warnings } : { server, tunnels, warnings, error };
}

/** Every non-wildcard Host of the file (and its includes), resolved. */
export function sshConfigServers(config: LoadedSshConfig, options: ResolveOptions = {}): ResolvedHost[] {
  return config.aliases.map((alias) => resolveHost(config, alias, options));
}
