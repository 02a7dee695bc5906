// `ssh-tunnels ports SERVER`: what the server listens on (ports, Unix sockets, their processes),
// as the agent tool ssh_server_ports and VS Code's "Forward a Port from Server…" list it, with
// the -L that forwards each.
import { errorMessage, TunnelError } from '../engine';
import { hiddenNote, portRows } from '../tools';
import { describeOptions, parseArgs, UsageError, type OptionSpec } from './args';
import { createCliHost } from './host';
import { TerminalPrompts } from './terminalPrompts';

export const PORTS_OPTIONS: OptionSpec[] = [
  { flags: ['--workspace', '-w'], key: 'workspace', value: 'DIR', help: 'also read the servers of DIR/.vscode/settings.json (asked first unless allowed: ssh-tunnels allow DIR)' },
  { flags: ['-F', '--ssh-config'], key: 'sshConfig', value: 'FILE', help: 'the OpenSSH client config to read (default ~/.ssh/config)' },
  { flags: ['--json'], key: 'json', help: 'print the listing as JSON (the agent tool\'s result)' },
  { flags: ['--help', '-h'], key: 'help', help: 'show this help' },
];

export const PORTS_HELP = `Usage: ssh-tunnels ports [options] SERVER

Lists what SERVER listens on: TCP ports with their addresses (loopback, all interfaces, one
address) and Unix sockets, with the process when the server names it (only the login user's own
unless it is root), and the -L that forwards each here. It connects (asking in the terminal what
it must: a host key, a password) and runs one read-only command there without a terminal: ss,
else netstat, else /proc (macOS and the BSDs: netstat -an and lsof). A server that allows no
commands of this login (ForceCommand, a restricted shell) is said as such: exit status 1.

Options:
${describeOptions(PORTS_OPTIONS)}
`;

/** Columns padded to their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export async function runPorts(argv: string[]): Promise<number> {
  const { options, positionals } = parseArgs(argv, PORTS_OPTIONS, 'ports');
  if (options.help) {
    process.stdout.write(PORTS_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('Name one server: ssh-tunnels ports SERVER');
  const [name] = positionals;
  const prompts = new TerminalPrompts({ input: process.stdin, output: process.stderr });
  const host = await createCliHost({ workspace: options.workspace as string | undefined, sshConfig: options.sshConfig as string | undefined, prompts, log: () => undefined });
  try {
    if (!host.servers.get(name)) throw new UsageError(host.servers.unknownServerError(name).message);
    let listed;
    try {
      listed = await host.manager.listServerPorts(name);
    } catch (err) {
      if (!(err instanceof TunnelError)) throw err;
      process.stderr.write(`ssh-tunnels: ${errorMessage(err)}\n`);
      return 1;
    }
    const rows = portRows(listed, []);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...listed, rows }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${name} listens on ${listed.tcp.length} TCP ${listed.tcp.length === 1 ? 'port' : 'ports'} and ${listed.unix.length} Unix ${listed.unix.length === 1 ? 'socket' : 'sockets'} (from ${listed.source}${listed.system ? ` on ${listed.system}` : ''}).${hiddenNote(listed)}\n`);
    if (rows.length === 0) return 0;
    const forward = (r: (typeof rows)[number]) => (r.path !== undefined ? `-L 0:${r.path}` : `-L ${r.port! < 1024 ? r.port! + 8000 : r.port}:${r.remoteHost!.includes(':') ? `[${r.remoteHost}]` : r.remoteHost}:${r.port}`);
    const tcp = rows.filter((r) => r.port !== undefined);
    const sockets = rows.filter((r) => r.path !== undefined);
    if (tcp.length) process.stdout.write(`${table([['PORT', 'WHERE', 'PROCESS', 'FORWARD WITH'], ...tcp.map((r) => [r.what, r.where, r.process ?? '-', forward(r)])])}\n`);
    if (sockets.length) process.stdout.write(`${tcp.length ? '\n' : ''}${table([['UNIX SOCKET', 'PROCESS', 'FORWARD WITH'], ...sockets.map((r) => [r.what, r.process ?? '-', forward(r)])])}\n`);
    return 0;
  } finally {
    await host.dispose();
  }
}
