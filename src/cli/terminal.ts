/**
 * Reading a line from the terminal, shown or hidden (passwords), without readline's history or
 * completion. Ctrl-C at a prompt cancels it and interrupts the command, as in ssh.
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
      if (interrupted) process.kill(process.pid, 'SIGINT');
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
