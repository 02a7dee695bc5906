/**
 * The terminal as each platform has it: reading a line, shown or hidden (passwords), without
 * readline's history or completion (Ctrl-C at a prompt cancels it and interrupts the command, as
 * in ssh); the signals that close the command; what a Windows console shows of the table.
 */

export interface TerminalStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** Only written to: a caller may count what a prompt writes (the live table does). */
  output: { write(text: string): unknown };
}

/** Resolves to the line typed, or undefined if the person pressed Ctrl-C or Ctrl-D, or input ended. */
export function readLine(io: TerminalStreams, prompt: string, options: { echo: boolean }): Promise<string | undefined> {
  const { input, output } = io;
  output.write(prompt);
  // Input that ended (a pipe already read to its end) has no answer to give.
  if ((input as { readableEnded?: boolean }).readableEnded) {
    output.write('\n');
    return Promise.resolve(undefined);
  }
  const raw = input.isTTY === true && typeof input.setRawMode === 'function';
  if (raw) input.setRawMode!(true);
  input.resume();
  return new Promise((resolve) => {
    let line = '';
    let escape = false;
    const finish = (value: string | undefined, interrupted = false) => {
      input.off('data', onData);
      input.off('end', onEnd);
      if (raw) input.setRawMode!(false);
      input.pause();
      output.write('\n');
      resolve(value);
      if (interrupted) interrupt();
    };
    const onEnd = () => finish(undefined);
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (escape) {
          // Arrow keys and the like: skip the sequence up to its final letter.
          if (/[A-Za-z~]/.test(ch)) escape = false;
          continue;
        }
        if (ch === '\x1b') escape = true;
        else if (ch === '\r' || ch === '\n') return finish(line);
        else if (ch === '\x03') return finish(undefined, true);
        else if (ch === '\x04') {
          if (line === '') return finish(undefined);
        } else if (ch === '\x7f' || ch === '\b') {
          if (line.length > 0) {
            line = line.slice(0, -1);
            if (options.echo) output.write('\b \b');
          }
        } else if (ch === '\x15') {
          if (options.echo) output.write('\b \b'.repeat(line.length));
          line = '';
        } else if (ch >= ' ') {
          line += ch;
          if (options.echo && raw) output.write(ch);
        }
      }
    };
    input.on('data', onData);
    input.once('end', onEnd);
  });
}

/**
 * The signals that mean "close everything and exit": Ctrl-C, kill, a closed terminal; on Windows
 * also Ctrl-Break (Node's SIGBREAK; a closed console window comes as SIGHUP there).
 */
export function closingSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
}

/**
 * Ctrl-C typed while the terminal was raw, made the signal it would have been. On Windows
 * process.kill of its own pid would end the process at once (TerminateProcess), tunnels unclosed:
 * the command's own SIGINT handlers are called there instead.
 */
export function interrupt(platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32' && process.listenerCount('SIGINT') > 0) process.emit('SIGINT', 'SIGINT');
  else process.kill(process.pid, 'SIGINT');
}

/** How the live table is written to a terminal. */
export interface TerminalLook {
  /** Marks every font shows instead of those only fonts with fallback have (↻ ✗). */
  plainMarks: boolean;
  /** Lines stop a column short of the edge: Windows' console wraps a full line at once, and its newline then adds a blank row. */
  spareLastColumn: boolean;
}

/**
 * Windows Terminal (WT_SESSION), VS Code's terminal (TERM_PROGRAM), mintty and ConEmu (TERM,
 * ConEmuANSI) fall back to other fonts for a mark theirs lacks; the console host (conhost, what
 * cmd.exe and PowerShell open outside Windows Terminal) shows a box instead: its fonts (Consolas,
 * Lucida Console) have ● ○ → … but not ↻ or ✗. Control sequences work in both (libuv reads
 * them where the console does not).
 */
export function terminalLook(place: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv } = {}): TerminalLook {
  const platform = place.platform ?? process.platform;
  const env = place.env ?? process.env;
  if (platform !== 'win32') return { plainMarks: false, spareLastColumn: false };
  const fallbackFonts = Boolean(env.WT_SESSION || env.TERM_PROGRAM || env.TERM || env.ConEmuANSI === 'ON');
  return { plainMarks: !fallbackFonts, spareLastColumn: true };
}

const PLAIN_MARKS: Record<string, string> = { '↻': '~', '✗': '×' };

/** `text` with the marks the console's fonts lack replaced, one column for one. */
export function plainMarks(text: string): string {
  return text.replace(/[↻✗]/g, (mark) => PLAIN_MARKS[mark]);
}
