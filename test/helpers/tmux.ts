// A pseudo-terminal for commands that draw on one (`ssh-tunnels up`): a private tmux server
// (its own socket, so no one else's sessions are touched), keys sent, the screen read back.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export class TmuxPane {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-tmux-'));
  private readonly socket = path.join(this.dir, 'socket');

  /** Runs `command` (a shell line) in a new terminal, 200x50 unless told. */
  constructor(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; columns?: number; rows?: number }) {
    const env = Object.entries(options.env).flatMap(([k, v]) => (v === undefined ? [] : ['-e', `${k}=${v}`]));
    this.tmux('new-session', '-d', '-s', 'test', '-x', String(options.columns ?? 200), '-y', String(options.rows ?? 50), '-c', options.cwd, ...env, command);
  }

  /** Resizes the terminal, as a person dragging its window's edge: the program gets SIGWINCH. */
  resize(columns: number, rows: number): void {
    this.tmux('resize-window', '-t', 'test', '-x', String(columns), '-y', String(rows));
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, TERM: 'xterm-256color' } });
  }

  /** The visible screen and its scrollback, as text. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-1000', '-t', 'test');
  }

  /** Only what is on screen now, without the scrollback. */
  visible(): string {
    return this.tmux('capture-pane', '-p', '-t', 'test');
  }

  /** Types text (literally) and optionally Enter. */
  type(text: string, enter = true): void {
    this.tmux('send-keys', '-t', 'test', '-l', text);
    if (enter) this.tmux('send-keys', '-t', 'test', 'Enter');
  }

  /** Sends a key by tmux's name for it, e.g. C-c. */
  key(name: string): void {
    this.tmux('send-keys', '-t', 'test', name);
  }

  /** Waits until the screen matches; the error shows the screen. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.screen().match(pattern);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs}ms waiting for ${pattern} on the screen:\n${this.screen()}`);
      // Each look runs tmux: a few per second is plenty.
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Ends the terminal, what runs in it, and the private server (whose socket tmux leaves behind). */
  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
