import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { TunnelError } from '../base/errors';
import { endCommandTree, shellCommand } from '../base/shell';

/** What `%` tokens of a ProxyCommand stand for, as ssh fills them in. */
export interface ProxyTokens {
  /** %h: the host name dialled. */
  host: string;
  /** %p */
  port: number;
  /** %r: the remote user. */
  user: string;
  /** %n: the alias as given. */
  alias: string;
  /** %k: the HostKeyAlias, if any (else the alias). */
  hostKeyAlias?: string;
  /** %j: the ProxyJump value, if any. */
  proxyJump?: string;
}

const STDERR_TAIL = 2000;
/** After SIGTERM, how long a command may take before it is killed outright. */
const KILL_GRACE_MS = 3000;
/** How long a failed handshake waits for the command to exit, so its exit code can be told. */
const EXIT_WAIT_MS = 1000;

/** Expands `%h %p %r %n %% %C %d %u %l %L %j %k %i`; an unknown token is an error, as in ssh. */
export function expandProxyCommand(command: string, t: ProxyTokens): string {
  const l = os.hostname();
  const localUser = os.userInfo().username;
  const values: Record<string, string> = {
    '%': '%',
    h: t.host,
    p: String(t.port),
    r: t.user,
    n: t.alias,
    k: t.hostKeyAlias ?? t.alias,
    j: t.proxyJump ?? '',
    d: os.homedir(),
    u: localUser,
    l,
    L: l.split('.')[0],
    i: String(process.getuid?.() ?? ''),
  };
  return command.replace(/%(.?)/g, (whole, ch: string) => {
    // %C as OpenSSH 9.x computes it: SHA-1 of %l%h%p%r.
    if (ch === 'C') return createHash('sha1').update(l + t.host + String(t.port) + t.user).digest('hex');
    const value = values[ch];
    if (value === undefined) {
      throw new TunnelError('CONNECT_FAILED', `ProxyCommand for ${t.alias} has an unknown token ${JSON.stringify(whole)}: use %h, %p, %r, %n or %% (write a literal % as %%).`);
    }
    return value;
  });
}

/**
 * A command's stdout and stdin as one stream for ssh2. Unlike Duplex.from, it never emits
 * 'error': a broken pipe or a kill only ends it (the command's exit says why), so nothing
 * reaches an ssh2 client that no longer listens for errors (a jump host's).
 */
class ProcessStream extends Duplex {
  constructor(
    private readonly stdin: Writable,
    private readonly stdout: Readable,
    /** Resolves once the command has exited (or soon after its stdout ended), so the end can say why. */
    exitedOrLate: () => Promise<unknown>,
  ) {
    super({ allowHalfOpen: true });
    stdin.on('error', () => undefined);
    stdout.on('error', () => undefined);
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.once('end', () => void exitedOrLate().then(() => this.push(null)));
  }

  override _read(): void {
    this.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.stdin.destroyed || !this.stdin.writable) return callback();
    this.stdin.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.stdin.end();
    callback();
  }

  override _destroy(_error: Error | null, callback: (error?: Error | null) => void): void {
    this.stdin.destroy();
    this.stdout.destroy();
    callback();
  }
}

/**
 * A ProxyCommand running for one connection: its stdin and stdout are the SSH transport,
 * its stderr goes to the log and, when it fails, into the error.
 */
export class ProxyCommandProcess {
  readonly stream: Duplex;
  private readonly child: ChildProcess;
  private stderr = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly command: string,
    private readonly server: string,
    log: (line: string) => void,
  ) {
    // As ssh: through the user's shell (cmd.exe on Windows), with `exec` so a Unix shell does not linger as a parent.
    const shell = shellCommand(command, { replace: true });
    this.child = spawn(shell.file, shell.args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true, windowsVerbatimArguments: shell.windowsVerbatimArguments });
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
      this.child.once('error', (err) => {
        this.spawnError = err;
        resolve();
      });
    });
    let partial = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL);
      const lines = (partial + text).split(/\r?\n/);
      partial = (lines.pop() ?? '').slice(-STDERR_TAIL);
      for (const line of lines) if (line.trim()) log(`${server}: ProxyCommand: ${line}`);
    });
    this.child.stderr!.once('end', () => {
      if (partial.trim()) log(`${server}: ProxyCommand: ${partial}`);
    });
    this.stream = new ProcessStream(this.child.stdin!, this.child.stdout!, () => Promise.race([this.exited, new Promise((r) => setTimeout(r, EXIT_WAIT_MS))]));
    // The command's stdout ending is the connection ending (ssh2 waits for a close that a
    // half-open duplex never gives); closing its stdin in turn lets tools like nc exit.
    this.stream.once('end', () => setImmediate(() => this.stream.destroy()));
    this.child.once('close', () => this.stream.destroy());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.spawnError === undefined;
  }

  /** Why the command stopped, with the tail of its stderr; undefined while it runs. */
  describeExit(): string | undefined {
    if (this.spawnError) return `ProxyCommand for ${this.server} could not start: ${this.spawnError.message}`;
    if (!this.exit) return undefined;
    const how = this.exit.signal ? `was killed by ${this.exit.signal}` : `exited with code ${this.exit.code}`;
    const tail = this.stderr.trim();
    return `ProxyCommand ${how}${tail ? `: ${tail}` : ' (it wrote nothing to stderr)'}`;
  }

  /** After a failed handshake: the command's own failure if it exits soon, else undefined. */
  async failure(): Promise<TunnelError | undefined> {
    if (this.running) await Promise.race([this.exited, new Promise((r) => setTimeout(r, EXIT_WAIT_MS))]);
    const why = this.describeExit();
    return why === undefined ? undefined : new TunnelError('CONNECT_FAILED', `${why} (command: ${this.command})`, {}, 'proxy');
  }

  /** Ends the command: SIGTERM, then SIGKILL if it does not go. */
  kill(): void {
    this.stream.destroy();
    if (!this.running) return;
    // On Windows cmd.exe and the program it started go together.
    if (endCommandTree(this.child)) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, KILL_GRACE_MS);
    timer.unref();
    void this.exited.then(() => clearTimeout(timer));
  }
}
