// The command run on a server to learn what it listens on, and how its output is read. One line
// of POSIX sh, run through `sh -c '…'` so the login shell (bash, fish, csh, rbash…) only starts
// it: no single quote, `!` or newline inside. It marks each tool's output with a heading and
// uses the first tool the server has: ss, then Linux's netstat, then /proc, then (macOS, the
// BSDs) netstat -an with lsof for the processes.
import { TunnelError } from '../base/errors';
import { namedBy, parseBsdNetstat, parseLsofListen } from './bsdOutput';
import {
  parseNetstatTcp,
  parseNetstatUnix,
  parseProcComms,
  parseProcFds,
  parseProcTcp,
  parseProcUnix,
  parseSsTcp,
  parseSsUnix,
  withProcesses,
} from './linuxOutput';
import { groupListeners, type PortSource, type RawListener, type ServerPorts } from './listeners';

/** The first line the listing prints: without it, something else ran (ForceCommand, a restricted shell). */
export const LISTING_MARK = '@@ssh-tunnels-ports';

const SECTION = '@@';

const SCRIPT = [
  // ss and netstat live in /usr/sbin on some systems, outside a login's PATH.
  'PATH="$PATH:/usr/sbin:/sbin"; export PATH;',
  `echo "${LISTING_MARK} 1 $(uname -s 2>/dev/null)";`,
  'if command -v ss >/dev/null 2>&1; then',
  'echo @@ss-tcp; ss -ltnpH 2>/dev/null || ss -ltnp 2>/dev/null; echo @@ss-unix; ss -lxpH 2>/dev/null || ss -lxp 2>/dev/null;',
  'elif [ "$(uname -s)" = Linux ] && command -v netstat >/dev/null 2>&1; then',
  'echo @@netstat-tcp; netstat -ltnp 2>/dev/null; echo @@netstat-unix; netstat -lxp 2>/dev/null;',
  'elif [ -r /proc/net/tcp ]; then',
  'echo @@proc-tcp; cat /proc/net/tcp; echo @@proc-tcp6; cat /proc/net/tcp6 2>/dev/null; echo @@proc-unix; cat /proc/net/unix 2>/dev/null;',
  'echo @@proc-fd; ls -l /proc/[0-9]*/fd 2>/dev/null | grep -e "^/proc" -e "socket:"; echo @@proc-comm; head -n 1 /proc/[0-9]*/comm 2>/dev/null;',
  'else',
  'if command -v netstat >/dev/null 2>&1; then echo @@bsd-netstat; netstat -an -p tcp 2>/dev/null; fi;',
  'if command -v lsof >/dev/null 2>&1; then echo @@lsof; lsof -nP -iTCP -sTCP:LISTEN -Fpcn 2>/dev/null; fi;',
  'fi;',
  'echo @@end',
].join(' ');

/** The command given to the server's exec channel. */
export function listingCommand(): string {
  return `sh -c '${SCRIPT}'`;
}

/** What the command printed, by heading. */
function sections(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  const close = () => {
    if (name !== undefined) out.set(name, body.join('\n'));
  };
  for (const line of stdout.split(/\r?\n/)) {
    if (line.startsWith(SECTION) && /^@@[\w-]+$/.test(line.trim())) {
      close();
      name = line.trim().slice(SECTION.length);
      body = [];
    } else if (name !== undefined) body.push(line);
  }
  close();
  return out;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
  /** The exit status, when the server sent one. */
  code?: number;
  signal?: string;
}

/** Why the listing did not run, for a person: what the server did instead. */
export function listingRefused(server: string, output: CommandOutput): TunnelError {
  const said = (output.stderr.trim() || output.stdout.trim()).split(/\r?\n/).slice(0, 3).join(' ').slice(0, 300);
  const status = output.code !== undefined ? `exit status ${output.code}` : output.signal ? `ended by ${output.signal}` : 'no exit status';
  return new TunnelError('COMMAND_REFUSED',
    `${server} did not run the command that lists its ports: this login allows no commands of its own (a ForceCommand in sshd_config, a command= in authorized_keys, or a restricted shell). ` +
      `The server ${said ? `said: ${JSON.stringify(said)}` : 'printed nothing'} (${status}). Tunnels still work: forward a port by its number (Create Tunnel).`,
    { server, code: output.code, said });
}

/** Reads the listing's output into what the server listens on; a COMMAND_REFUSED error when the listing did not run. */
export function readListing(server: string, output: CommandOutput): ServerPorts {
  const markLine = output.stdout.split(/\r?\n/).find((l) => l.startsWith(LISTING_MARK));
  if (!markLine) throw listingRefused(server, output);
  const system = markLine.slice(LISTING_MARK.length).trim().replace(/^1\s*/, '') || undefined;
  const parts = sections(output.stdout);
  let source: PortSource;
  let raw: RawListener[];
  if (parts.has('ss-tcp')) {
    source = 'ss';
    raw = [...parseSsTcp(parts.get('ss-tcp')!), ...parseSsUnix(parts.get('ss-unix') ?? '')];
  } else if (parts.has('netstat-tcp')) {
    source = 'netstat';
    raw = [...parseNetstatTcp(parts.get('netstat-tcp')!), ...parseNetstatUnix(parts.get('netstat-unix') ?? '')];
  } else if (parts.has('proc-tcp')) {
    source = '/proc';
    const sockets = [...parseProcTcp(parts.get('proc-tcp')!), ...parseProcTcp(parts.get('proc-tcp6') ?? ''), ...parseProcUnix(parts.get('proc-unix') ?? '')];
    raw = withProcesses(sockets, parseProcFds(parts.get('proc-fd') ?? ''), parseProcComms(parts.get('proc-comm') ?? ''));
  } else if (parts.has('bsd-netstat')) {
    source = 'netstat (BSD)';
    raw = namedBy(parseBsdNetstat(parts.get('bsd-netstat')!), parseLsofListen(parts.get('lsof') ?? ''));
  } else if (parts.has('lsof')) {
    source = 'lsof';
    raw = parseLsofListen(parts.get('lsof')!);
  } else {
    throw new TunnelError('COMMAND_REFUSED',
      `${server} has none of the tools that list listening ports (ss, netstat, lsof, /proc/net/tcp)${system ? ` on ${system}` : ''}. Forward a port by its number instead (Create Tunnel).`,
      { server, system });
  }
  const { tcp, unix } = groupListeners(raw);
  const processesHidden = [...tcp, ...unix].some((l) => l.processes.length === 0);
  return { server, source, ...(system ? { system } : {}), tcp, unix, processesHidden };
}
