/**
 * Whether the files of a read config (the file, its includes, the folders its globs list)
 * changed since: a signature of their stat, looked at no more often than an interval or by polling.
 */
import * as fs from 'node:fs';
import type { Disposable } from '../engine';
import type { LoadedSshConfig } from './sshConfig';

function fileSignature(loaded: LoadedSshConfig): string {
  const stamp = (p: string) => {
    try {
      const st = fs.statSync(p);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return 'missing';
    }
  };
  return [loaded.path, ...loaded.files, ...loaded.globDirs].map((p) => `${p}=${stamp(p)}`).join('\n');
}

export class ConfigWatch implements Disposable {
  private signature = '';
  private lastCheck = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly checkIntervalMs: number) {}

  /** Whether the last look at the files is older than the check interval. */
  due(): boolean {
    return Date.now() - this.lastCheck >= this.checkIntervalMs;
  }

  /** Notes a look at the files now. */
  checked(): void {
    this.lastCheck = Date.now();
  }

  /** Takes the files of a config just read as they are now. */
  remember(loaded: LoadedSshConfig): void {
    this.signature = fileSignature(loaded);
  }

  /** Whether none of the config's files changed since it was read. */
  unchanged(loaded: LoadedSshConfig): boolean {
    return fileSignature(loaded) === this.signature;
  }

  /** Calls `check` every `intervalMs` (a later call replaces the timer). */
  poll(intervalMs: number, check: () => void): Disposable {
    clearInterval(this.timer);
    this.timer = setInterval(check, intervalMs);
    this.timer.unref();
    return { dispose: () => clearInterval(this.timer) };
  }

  dispose(): void {
    clearInterval(this.timer);
  }
}
