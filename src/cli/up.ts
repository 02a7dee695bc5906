// `ssh-tunnels up`: opens a workspace's tunnels (the autoStart ones, those named, or forwards
// given as ssh takes them), shows them live until Ctrl-C, then closes everything.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandHome, plural, REFUSALS, TunnelError } from '../engine';
import { FrontDoor, managerActions } from '../catalogue';
import { Peers } from '../peers';
import { describeOptions, parseArgs, UsageError, type OptionSpec } from './args';
import { LiveDisplay } from './display';
import { createCliHost } from './host';
import { cutErrors, renderTable, shorten, summary } from './table';
import { closingSignals, terminalLook } from './terminal';
import { TerminalPrompts } from './terminalPrompts';
import { selectTunnels } from './upSelect';
import { resolveServers } from './upServers';
import { retryLine, UpEvents } from './upEvents';
import { entriesOf, openEntry, otherRows, peerRow, takeOver, type Entry, type UpTunnels } from './upTunnels';

export const UP_OPTIONS: OptionSpec[] = [
  { flags: ['--workspace', '-w'], key: 'workspace', value: 'DIR', help: 'the folder whose .vscode/settings.json defines servers and tunnels (default: the current folder)' },
  { flags: ['--all'], key: 'all', help: 'open every tunnel of the settings, not only the autoStart ones' },
  { flags: ['--server', '-s'], key: 'server', value: '[USER@]HOST[:PORT]', help: 'the server that carries the forwards given with -L, -R or -D: a Host of the ssh config, or any host as ssh takes it' },
  { flags: ['-L'], key: 'forwards', value: '[bind:]port:host:hostport', repeat: true, help: 'a local forward, as ssh -L (repeatable)' },
  { flags: ['-R'], key: 'forwards', value: '[bind:]port:host:hostport', repeat: true, help: 'a remote forward, as ssh -R (repeatable)' },
  { flags: ['-D'], key: 'forwards', value: '[bind:]port', repeat: true, help: 'a SOCKS proxy, as ssh -D (repeatable)' },
  { flags: ['-i'], key: 'identityFiles', value: 'FILE', repeat: true, help: 'a private key for --server, tried before those of the ssh config, as ssh -i (repeatable)' },
    { flags: ['-F', '--ssh-config'], key: 'sshConfig', value: 'FILE', help: 'the OpenSSH client config to read (default: the settings\' sshTunnels.sshConfigFile, else ~/.ssh/config)' },
  { flags: ['--exit-on-failure'], key: 'exitOnFailure', help: 'exit with status 1 as soon as a tunnel cannot open or fails (for scripts), instead of waiting for its server' },
  { flags: ['--keep-trying'], key: 'keepTrying', help: 'after a refused host key or login, keep the tunnels and retry (while known_hosts is fixed) instead of exiting' },
  { flags: ['--verbose', '-v'], key: 'verbose', help: 'also show what the engine logs (connections, forwards, host keys)' },
  { flags: ['--help', '-h'], key: 'help', help: 'show this help' },
];

export const UP_HELP = `Usage: ssh-tunnels up [options] [NAME...]

Opens tunnels and shows them live (state, address, traffic, connections, reconnects) until
Ctrl-C, which closes them all. Without NAMEs it opens the tunnels of sshTunnels.tunnels that have
"autoStart": true; with NAMEs, those tunnels (by their "name"). Servers come from ~/.ssh/config
and sshTunnels.servers, as in VS Code; --server also takes any [user@]host[:port], as ssh does.
A server that is down, at start or later, is retried with backoff until Ctrl-C; a refused host
key or login ends the command (unless --keep-trying). Exit status: 0 if every tunnel opened,
1 if one did not (or a host key or login was refused), 2 for a mistake on the command line.
A folder's settings are used only once you allow that folder: the command shows what they would
run, expose and connect to, and asks (or run ssh-tunnels allow DIR first; ssh-tunnels deny DIR).
A tunnel another of your processes already serves (a VS Code window, another up, an agent
through ssh-tunnels mcp) is shown as served by it, and taken over when that process ends; the
table also lists the other processes' tunnels.

Options:
${describeOptions(UP_OPTIONS)}

Examples:
  ssh-tunnels up                                  # the autoStart tunnels of ./.vscode/settings.json
  ssh-tunnels up --workspace ~/src/shop postgres  # the tunnel named "postgres" of that workspace
  ssh-tunnels up --server db -L 5432:localhost:5432 -D 1080
  ssh-tunnels up --server admin@10.0.0.5:2222 -L 8080:localhost:80
`;

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

export async function runUp(argv: string[]): Promise<number> {
  const { options, positionals } = parseArgs(argv, UP_OPTIONS, 'up');
  if (options.help) {
    process.stdout.write(UP_HELP);
    return 0;
  }
  const exitOnFailure = options.exitOnFailure === true;
  const keepTrying = options.keepTrying === true;
  if (exitOnFailure && keepTrying) throw new UsageError('--exit-on-failure and --keep-trying contradict each other: give one.');
  const workspace = (options.workspace as string | undefined) ?? process.cwd();
  let display: LiveDisplay | undefined;
  /** What a question in the terminal waits for, shown under the table while it is asked. */
  let waitingFor: string | undefined;
  const prompts = new TerminalPrompts(
    { input: process.stdin, output: process.stderr },
    {
      pause: (what) => {
        waitingFor = what;
        display?.hold();
      },
      wrote: (text) => display?.below(text),
      resume: () => {
        waitingFor = undefined;
        display?.resume();
      },
    },
  );
  const log = options.verbose ? (message: string) => display?.event(`${clock()} log: ${message}`) : () => undefined;
  const host = await createCliHost({
    workspace,
    sshConfig: options.sshConfig as string | undefined,
    prompts,
    log,
    // Down at start is waited for as a drop is, unless a script wants to know at once.
    reconnect: { retryFirstConnect: !exitOnFailure, retryRefusals: keepTrying },
  });
  const entries: Entry[] = [];
  const byId = new Map<string, Entry>();
  // Every tunnel of this command opens (and reopens) through the front door.
  const door = new FrontDoor(host.manager);
  // The peers (VS Code windows, other `up`s, agents through MCP): their tunnels show here, and this one's there.
  const peers = Peers.start({
    kind: 'up',
    manager: host.manager,
    actions: managerActions(host.manager, {
      door,
      settingsKey: (id) => byId.get(id)?.key,
      restarted: (oldId, info) => {
        const entry = byId.get(oldId);
        if (!entry) return;
        byId.delete(oldId);
        byId.set(info.id, entry);
        entry.id = info.id;
        entry.row.info = info;
      },
    }),
    // A runtime folder that cannot be used is said even without --verbose.
    log: (message) => (options.verbose || /not shared/.test(message) ? (display ? display.event(`${clock()} ${message}`) : process.stderr.write(`${message}\n`)) : undefined),
  });
  door.usePeers(peers);
  let closing = false;
  let finish: (status: number | undefined) => void = () => undefined;
  /** Settles with the exit status when `up` must end by itself, or undefined on Ctrl-C. */
  const finished = new Promise<number | undefined>((resolve) => (finish = resolve));
  const onSignal = () => {
    if (closing) {
      process.stderr.write('Interrupted again: exiting without waiting.\n');
      process.exit(130);
    }
    closing = true;
    finish(undefined);
  };
  for (const signal of closingSignals()) process.on(signal, onSignal);
  let running = true;
  try {
    const selected = selectTunnels(host.configured, positionals, options.all === true, options.server as string | undefined, (options.forwards as string[] | undefined) ?? [], host.settingsFile!);
    const specs = selected.map((s) => s.spec);
    const identityFiles = ((options.identityFiles as string[] | undefined) ?? []).map((f) => path.resolve(expandHome(f, os.homedir())));
    if (identityFiles.length && options.server === undefined) throw new UsageError('-i gives a key for the server of --server: ssh-tunnels up --server HOST -i FILE -L …');
    for (const file of identityFiles) if (!fs.existsSync(file)) throw new UsageError(`-i ${file}: no such file.`);
    await resolveServers(host.servers, specs.map((s) => s.server), (name) => (name === options.server ? identityFiles : []));
    for (const problem of host.problems()) process.stderr.write(`warning: ${problem}\n`);
    entries.push(...entriesOf(selected));
    const say = (line: string) => display!.event(`${clock()} ${line}`);
    /** Ends `up` with status 1, saying why (a refusal, or a failure under --exit-on-failure). */
    const stop = (why: string) => {
      if (closing) return;
      closing = true;
      say(why);
      finish(1);
    };
    const refused = (code: string | undefined) => !keepTrying && code !== undefined && REFUSALS.includes(code);
    const events = new UpEvents({ byId, entries, say, stop, refused, exitOnFailure });
    const retrying = events.retrying;
    const rows = () => {
      const own = entries.map((e) => {
        if (e.atPeer) return peerRow(peers, e);
        // Fresh numbers at each redraw: traffic changes without events.
        const info = e.id === undefined ? undefined : host.manager.getTunnel(e.id);
        if (info) e.row.info = info;
        const retry = retrying.get(e.spec.server);
        e.row.retry = retry?.nextAttemptAt !== undefined && e.row.info?.state === 'reconnecting' ? { attempt: retry.attempt ?? 1, at: retry.nextAttemptAt } : undefined;
        return e.row;
      });
      // Then the tunnels other processes serve, that this command did not ask for.
      const others = otherRows(peers, entries);
      return [...own, ...others];
    };
    display = new LiveDisplay(process.stdout, (width, final) => {
      const current = rows();
      const live = running && !final;
      const below = live ? [...retrying.values()].map(retryLine) : [];
      if (live && waitingFor) below.push(`… waiting for ${waitingFor} (asked below)`);
      const table = renderTable(current, width);
      // A cut error is no use to act on: each is written whole under the table (it may wrap).
      const errors = cutErrors(current, table).map((l) => shorten(l, 3 * width, 'end'));
      return [...table, summary(current, { running: live }), ...errors, ...below.map((l) => shorten(l, width, 'end'))];
    }, terminalLook());
    host.manager.onDidChangeTunnel((info) => {
      if (events.tunnelChanged(info)) display!.render();
    });
    host.manager.onDidChangeServer((status) => {
      events.serverChanged(status);
      display!.render();
    });
    const fromSettings = entries.filter((e) => e.spec.openedBy === 'settings').length;
    say(`Opening ${plural(entries.length, 'tunnel')}${fromSettings ? ` (${fromSettings} from ${host.settingsFile})` : ''}…`);
    const tunnels: UpTunnels = {
      door,
      byId,
      say,
      failed: (entry, err) => {
        if (refused(err instanceof TunnelError ? err.code : undefined)) stop(`${entry.spec.server} refused: closing every tunnel (--keep-trying would keep them and retry).`);
        else if (exitOnFailure) stop(`${entry.row.name} could not open: exiting (--exit-on-failure).`);
      },
    };
    peers.onDidLose(({ peer }) => {
      takeOver(tunnels, entries, peer, () => closing);
      display!.render();
    });
    peers.onDidChange(() => display!.render());
    await peers.ready();
    const opened = Promise.all(entries.map((entry) => openEntry(tunnels, entry)));
    const ticker = setInterval(() => display!.render(), 1000);
    try {
      const results = await Promise.race([opened, finished]);
      if (!Array.isArray(results)) return results ?? 1;
      const allOpened = results.every(Boolean);
      if (!results.some(Boolean)) {
        say('No tunnel could be opened.');
        return 1;
      }
      if (!allOpened) say('Some tunnels could not be opened; the others stay open until Ctrl-C.');
      return (await finished) ?? (allOpened ? 0 : 1);
    } finally {
      clearInterval(ticker);
      running = false;
      display.stop();
    }
  } finally {
    const open = host.manager.listTunnels().length;
    if (open > 0) process.stderr.write(`Closing ${plural(open, 'tunnel')}…\n`);
    // The tunnels close first, as a shutdown: the other processes then take over those they want.
    await peers.dispose(() => host.dispose());
    for (const signal of closingSignals()) process.off(signal, onSignal);
    if (open > 0) process.stderr.write(`${open === 1 ? 'The tunnel is' : 'All tunnels are'} closed.\n`);
  }
}
