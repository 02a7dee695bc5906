// `ssh-tunnels up`: opens a workspace's tunnels (the autoStart ones, those named, or forwards
// given as ssh takes them), shows them live until Ctrl-C, then closes everything.
import { parseForward } from '../config/forwardSpec';
import type { ConfiguredTunnel } from '../config/tunnelSettings';
import { defaultName, errorMessage, makeAddress, type TunnelInfo, type TunnelSpec } from '../engine';
import { describeOptions, parseArgs, UsageError, type OptionSpec } from './args';
import { LiveDisplay } from './display';
import { createCliHost } from './host';
import { renderTable, summary, type TableRow } from './table';
import { TerminalPrompts } from './terminalPrompts';

export const UP_OPTIONS: OptionSpec[] = [
  { flags: ['--workspace', '-w'], key: 'workspace', value: 'DIR', help: 'the folder whose .vscode/settings.json defines servers and tunnels (default: the current folder)' },
  { flags: ['--all'], key: 'all', help: 'open every tunnel of the settings, not only the autoStart ones' },
  { flags: ['--server', '-s'], key: 'server', value: 'NAME', help: 'the server that carries the forwards given with -L, -R or -D' },
  { flags: ['-L'], key: 'forwards', value: '[bind:]port:host:hostport', repeat: true, help: 'a local forward, as ssh -L (repeatable)' },
  { flags: ['-R'], key: 'forwards', value: '[bind:]port:host:hostport', repeat: true, help: 'a remote forward, as ssh -R (repeatable)' },
  { flags: ['-D'], key: 'forwards', value: '[bind:]port', repeat: true, help: 'a SOCKS proxy, as ssh -D (repeatable)' },
  { flags: ['-F', '--ssh-config'], key: 'sshConfig', value: 'FILE', help: 'the OpenSSH client config to read (default: the settings\' sshTunnels.sshConfigFile, else ~/.ssh/config)' },
  { flags: ['--verbose', '-v'], key: 'verbose', help: 'also show what the engine logs (connections, forwards, host keys)' },
  { flags: ['--help', '-h'], key: 'help', help: 'show this help' },
];

export const UP_HELP = `Usage: ssh-tunnels up [options] [NAME...]

Opens tunnels and shows them live (state, address, traffic, connections, reconnects) until
Ctrl-C, which closes them all. Without NAMEs it opens the tunnels of sshTunnels.tunnels that have
"autoStart": true; with NAMEs, those tunnels (by their "name"). Servers come from ~/.ssh/config
and sshTunnels.servers, as in VS Code. Exit status: 0 if every tunnel opened, 1 if one did not,
2 for a mistake on the command line.

Options:
${describeOptions(UP_OPTIONS)}

Examples:
  ssh-tunnels up                                  # the autoStart tunnels of ./.vscode/settings.json
  ssh-tunnels up --workspace ~/src/shop postgres  # the tunnel named "postgres" of that workspace
  ssh-tunnels up --server db -L 5432:localhost:5432 -D 1080
`;

interface Entry {
  spec: TunnelSpec;
  row: TableRow;
  id?: string;
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** Which tunnels the command line asks for. */
function selectTunnels(configured: readonly ConfiguredTunnel[], names: string[], all: boolean, server: string | undefined, forwards: string[], settingsFile: string): TunnelSpec[] {
  const specs: TunnelSpec[] = [];
  if (forwards.length > 0) {
    if (!server) throw new UsageError(`A forward needs its server: ssh-tunnels up --server NAME ${forwards[0]}`);
    for (const text of forwards) {
      const parsed = parseForward(text);
      if (!parsed.ok) throw new UsageError(`${text}: ${parsed.error}`);
      specs.push({ server, ...parsed.forward, openedBy: 'person' });
    }
  } else if (server) {
    throw new UsageError('--server names the server of -L, -R or -D forwards; give at least one, e.g. ssh-tunnels up --server db -L 5432:localhost:5432');
  }
  const known = configured.map((t) => t.spec.name).filter((n): n is string => n !== undefined);
  for (const name of names) {
    const t = configured.find((c) => c.spec.name === name);
    if (!t) {
      throw new UsageError(
        `No tunnel named ${JSON.stringify(name)} in ${settingsFile}. ${known.length ? `Named tunnels: ${known.join(', ')}.` : 'Its sshTunnels.tunnels has no named tunnel.'}`,
      );
    }
    specs.push({ ...t.spec, openedBy: 'settings' });
  }
  if (names.length === 0 && forwards.length === 0) {
    const chosen = configured.filter((t) => all || t.autoStart);
    if (chosen.length === 0) {
      throw new UsageError(
        configured.length === 0
          ? `${settingsFile} defines no tunnels (sshTunnels.tunnels). Give a forward instead: ssh-tunnels up --server NAME -L 8080:localhost:80`
          : `None of the ${configured.length} tunnel(s) in ${settingsFile} has "autoStart": true. Name the ones to open${known.length ? ` (${known.join(', ')})` : ''}, or use --all.`,
      );
    }
    specs.push(...chosen.map((t) => ({ ...t.spec, openedBy: 'settings' as const })));
  }
  return specs;
}

export async function runUp(argv: string[]): Promise<number> {
  const { options, positionals } = parseArgs(argv, UP_OPTIONS, 'up');
  if (options.help) {
    process.stdout.write(UP_HELP);
    return 0;
  }
  const workspace = (options.workspace as string | undefined) ?? process.cwd();
  let display: LiveDisplay | undefined;
  const prompts = new TerminalPrompts({ input: process.stdin, output: process.stderr }, { pause: () => display?.pause(), resume: () => display?.resume() });
  const log = options.verbose ? (message: string) => display?.event(`${clock()} log: ${message}`) : () => undefined;
  const host = await createCliHost({ workspace, sshConfig: options.sshConfig as string | undefined, prompts, log });
  const entries: Entry[] = [];
  let closing = false;
  let interrupt: () => void = () => undefined;
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  const onSignal = () => {
    if (closing) {
      process.stderr.write('Interrupted again: exiting without waiting.\n');
      process.exit(130);
    }
    closing = true;
    interrupt();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  try {
    const specs = selectTunnels(host.configured, positionals, options.all === true, options.server as string | undefined, (options.forwards as string[] | undefined) ?? [], host.settingsFile!);
    for (const problem of host.problems()) process.stderr.write(`warning: ${problem}\n`);
    // Until the engine names a tunnel (with its bound port), the row shows its default name, made distinct as the engine does.
    const seen = new Map<string, number>();
    for (const spec of specs) {
      const base = spec.name ?? defaultName(spec.type, spec.localHost ?? '127.0.0.1', spec.localPort, spec.remoteHost, spec.remotePort, spec);
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const name = spec.name === undefined && n > 1 ? `${base} (${n})` : base;
      entries.push({ spec, row: { name, server: spec.server, type: spec.type, pending: 'opening', reconnects: 0 } });
    }
    const rows = () =>
      entries.map((e) => {
        // Fresh numbers at each redraw: traffic changes without events.
        const info = e.id === undefined ? undefined : host.manager.getTunnel(e.id);
        if (info) e.row.info = info;
        return e.row;
      });
    display = new LiveDisplay(process.stdout, (width, final) => {
      const current = rows();
      return [...renderTable(current, width), summary(current, { running: !final })];
    });
    const say = (line: string) => display!.event(`${clock()} ${line}`);
    const byId = new Map<string, Entry>();
    host.manager.onDidChangeTunnel((info: TunnelInfo) => {
      const entry = byId.get(info.id);
      if (!entry) return;
      const before = entry.row.info?.state;
      entry.row.info = info;
      if (before === info.state) return;
      if (info.state === 'reconnecting') {
        entry.row.reconnects++;
        say(`${info.name}: reconnecting (${info.lastError ?? 'connection lost'})`);
      } else if (info.state === 'active' && before === 'reconnecting') say(`${info.name}: active again`);
      else if (info.state === 'failed') say(`${info.name}: failed: ${info.lastError ?? 'unknown error'}`);
      display!.render();
    });
    host.manager.onDidChangeServer((status) => {
      if (status.state === 'connected') say(`${status.name}: connected`);
      else if (status.state === 'reconnecting' || status.state === 'failed') say(`${status.name}: ${status.state}${status.lastError ? ` (${status.lastError})` : ''}`);
    });
    const fromSettings = entries.filter((e) => e.spec.openedBy === 'settings').length;
    say(`Opening ${entries.length} tunnel(s)${fromSettings ? ` (${fromSettings} from ${host.settingsFile})` : ''}…`);
    const opened = Promise.all(
      entries.map(async (entry) => {
        try {
          const info = await host.manager.createTunnel(entry.spec);
          entry.id = info.id;
          byId.set(info.id, entry);
          entry.row = { ...entry.row, name: info.name, info, pending: undefined };
          say(`${info.name}: open, ${info.type === 'remote' ? `${info.server} listens on` : 'listening on'} ${info.type === 'remote' ? (info.remotePath ?? makeAddress(info.remoteHost, info.remotePort)) : (info.localPath ?? makeAddress(info.localHost, info.localPort))}`);
          return true;
        } catch (err) {
          entry.row = { ...entry.row, pending: 'failed', error: errorMessage(err) };
          say(`${entry.row.name}: could not open: ${errorMessage(err)}`);
          return false;
        }
      }),
    );
    const ticker = setInterval(() => display!.render(), 1000);
    try {
      const results = await Promise.race([opened, interrupted.then(() => undefined)]);
      const allOpened = results !== undefined && results.every(Boolean);
      if (results && !results.some(Boolean)) {
        say('No tunnel could be opened.');
        return 1;
      }
      if (results && !allOpened) say('Some tunnels could not be opened; the others stay open until Ctrl-C.');
      await interrupted;
      return allOpened ? 0 : 1;
    } finally {
      clearInterval(ticker);
      display.stop();
    }
  } finally {
    const open = host.manager.listTunnels().length;
    if (open > 0) process.stderr.write(`Closing ${open} tunnel(s)…\n`);
    await host.dispose();
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, onSignal);
    if (open > 0) process.stderr.write('All tunnels closed.\n');
  }
}
