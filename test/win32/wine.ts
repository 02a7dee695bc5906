// The Windows tier's side of Wine: Node for Windows (node.exe) run by wine64 in the prefix the
// runner made (test/runners/wine.mjs sets SSH_TUNNELS_WINE, _NODE_EXE and WINEPREFIX), the
// person's profile there (C:\users\<user>), and processes whose output is a file (a Windows
// program's stdout cannot be a Linux pipe under Wine: EBADF).
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SshdFixture } from '../fixtures/sshd';
import { startEchoServer } from '../helpers/net';

type Echo = Awaited<ReturnType<typeof startEchoServer>>;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the Windows tier through node test/runners/wine.mjs`);
  return value;
}

export const WINE = required('SSH_TUNNELS_WINE');
export const NODE_EXE = required('SSH_TUNNELS_NODE_EXE');
export const PREFIX = required('WINEPREFIX');
export const ROOT = path.resolve(__dirname, '..', '..');

/** Wine names the Windows user after the Linux one. */
export const WIN_USER = os.userInfo().username;
export const DRIVE_C = path.join(PREFIX, 'drive_c');
/** The profile folder, as Linux sees it and as Windows does (%USERPROFILE%). */
export const HOME = path.join(DRIVE_C, 'users', WIN_USER);
export const WIN_HOME = `C:\\users\\${WIN_USER}`;

/** A Linux path as Windows programs under Wine see it: drive Z: is /. */
export function z(linuxPath: string): string {
  return `Z:${linuxPath.replace(/\//g, '\\')}`;
}

/** A path on drive C:, from its Linux path in the prefix. */
export function onC(linuxPath: string): string {
  return `C:\\${path.relative(DRIVE_C, linuxPath).replace(/\//g, '\\')}`;
}

/** The bundle as shipped, and the stand-ins of test/win32, as node.exe opens them. */
export const CLI = z(path.join(ROOT, 'dist', 'cli.js'));
export const script = (name: string) => z(path.join(__dirname, name));

/** Writes `text` at `linuxPath`, folders made, lines ended as Windows editors end them when `crlf`. */
export function writeFile(linuxPath: string, text: string, options: { crlf?: boolean; bom?: boolean } = {}): void {
  fs.mkdirSync(path.dirname(linuxPath), { recursive: true });
  const body = options.crlf ? text.replace(/\r?\n/g, '\r\n') : text;
  fs.writeFileSync(linuxPath, (options.bom ? '\uFEFF' : '') + body);
}

/** The environment of a Windows process: Wine's own, nothing of this machine's agent or runtime folder. */
function wineEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME,
    USER: WIN_USER,
    LANG: 'C.UTF-8',
    WINEPREFIX: PREFIX,
    WINEDEBUG: '-all',
    // No Mono or Gecko installer for a prefix that node.exe alone needs.
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    NODE_SKIP_PLATFORM_CHECK: '1',
    ...extra,
  };
}

const running = new Set<WinProcess>();

/** A node.exe process under Wine, its stdout and stderr in a file. */
export class WinProcess {
  readonly output: string;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private code: number | null | undefined;

  constructor(args: string[], options: { input?: string; env?: Record<string, string>; cwd?: string } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'win32-'));
    this.output = path.join(dir, 'output.txt');
    const out = fs.openSync(this.output, 'w');
    let input: number | 'ignore' = 'ignore';
    if (options.input !== undefined) {
      fs.writeFileSync(path.join(dir, 'input.txt'), options.input);
      input = fs.openSync(path.join(dir, 'input.txt'), 'r');
    }
    this.child = spawn(WINE, [NODE_EXE, ...args], { env: wineEnv(options.env ?? {}), stdio: [input, out, out], cwd: options.cwd ?? dir });
    fs.closeSync(out);
    if (typeof input === 'number') fs.closeSync(input);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.code = code;
        running.delete(this);
        resolve(code);
      }),
    );
    running.add(this);
  }

  /** Its Linux pid: where a Unix SIGINT becomes the console's Ctrl-C (Wine raises CTRL_C_EVENT). */
  get pid(): number {
    return this.child.pid!;
  }

  text(): string {
    return fs.readFileSync(this.output, 'utf8');
  }

  /** Resolves with the first match of `pattern` in its output; rejects, with the output, if it exits or the time runs out. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.text().match(pattern);
      if (match) return match;
      if (this.code !== undefined || Date.now() > deadline) {
        throw new Error(`${this.code !== undefined ? `exited (${this.code})` : `no ${pattern} within ${timeoutMs} ms`}; its output:\n${this.text()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ctrl-C in its console. */
  interrupt(): void {
    this.child.kill('SIGINT');
  }

  /** Ends it outright, as a crash or Task Manager's End task would. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Ctrl-C, then the exit code; killed if it has not ended within `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    if (this.code !== undefined) return this.code;
    this.interrupt();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** `ssh-tunnels ARGS…` of the bundle, by node.exe. */
export function cli(args: string[], options: ConstructorParameters<typeof WinProcess>[1] = {}): WinProcess {
  return new WinProcess([CLI, ...args], options);
}

/** Every Windows process left running is stopped after each test, or after the suite (call inside `describe`). */
export function stopWindowsProcesses(when: 'each' | 'all' = 'each'): void {
  (when === 'each' ? afterEach : after)(async () => {
    await Promise.all([...running].map((p) => p.stop()));
  });
}

/** Resolves once `file` exists and its text matches `pattern`. */
export async function fileMatches(file: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`${file}: no ${pattern} within ${timeoutMs} ms; it says:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A key pair for the stand-in agent: its private key as PKCS#8 PEM at `file`, the SSH public
 * key blob in base64 at `file.pub`; returns the authorized_keys line.
 */
export function agentKey(file: string, type: 'ed25519' | 'rsa' | 'ecdsa'): string {
  const pair =
    type === 'ed25519' ? crypto.generateKeyPairSync('ed25519') : type === 'rsa' ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.publicKey.export({ format: 'jwk' });
  const str = (b: Buffer | string) => {
    const buf = Buffer.from(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
  };
  const mpint = (b64: string) => {
    const raw = Buffer.from(b64, 'base64url');
    return str(raw[0] & 0x80 ? Buffer.concat([Buffer.from([0]), raw]) : raw);
  };
  let name: string;
  let blob: Buffer;
  if (type === 'ed25519') {
    name = 'ssh-ed25519';
    blob = Buffer.concat([str(name), str(Buffer.from(jwk.x!, 'base64url'))]);
  } else if (type === 'rsa') {
    name = 'ssh-rsa';
    blob = Buffer.concat([str(name), mpint(jwk.e!), mpint(jwk.n!)]);
  } else {
    name = 'ecdsa-sha2-nistp256';
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    blob = Buffer.concat([str(name), str('nistp256'), str(point)]);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  fs.writeFileSync(`${file}.pub`, blob.toString('base64'));
  return `${name} ${blob.toString('base64')} agent-${type}`;
}

/**
 * A suite's sshd and echo service (call inside `describe`), with the profile's `.ssh` as a Windows
 * person keeps it: the fixture's key as the default `id_ed25519`, its host key in `known_hosts`,
 * and `Host box` (then `more(sshd)`'s lines; CRLF). Removed after the suite.
 */
export function boxSuite(more: (sshd: SshdFixture) => string = () => ''): { readonly sshd: SshdFixture; readonly echo: Echo } {
  const suite = {} as { sshd: SshdFixture; echo: Echo };
  before(async () => {
    suite.sshd = await SshdFixture.start();
    suite.echo = await startEchoServer();
    const { sshd } = suite;
    writeFile(path.join(HOME, '.ssh', 'id_ed25519'), fs.readFileSync(sshd.clientKeyPath, 'utf8'));
    writeFile(path.join(HOME, '.ssh', 'known_hosts'), fs.readFileSync(sshd.knownHostsPath, 'utf8'));
    writeFile(path.join(HOME, '.ssh', 'config'), `Host box\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n${more(sshd)}`, { crlf: true });
  });
  after(async () => {
    await suite.sshd?.stop();
    await suite.echo?.close();
    fs.rmSync(path.join(HOME, '.ssh'), { recursive: true, force: true });
  });
  return suite;
}
