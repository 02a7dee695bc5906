// Keeps a block of lines (the table) at the bottom of a terminal, redrawn in place, with event
// lines scrolling above it, and again at the new width when the terminal is resized. On a pipe
// or file it only writes the event lines and the final table. On a Windows console, as it shows
// them (terminalLook).
import { plainMarks, type TerminalLook } from './terminal';

export interface DisplayStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export class LiveDisplay {
  /** The lines on screen now, to know how many rows they take once the terminal is narrower. */
  private drawn: string[] = [];
  private paused = false;
  private stopped = false;
  private readonly onResize = () => this.render();
  /** Held for a prompt written under the block: event lines wait here until it is answered. */
  private held: string[] | undefined;
  /** Where the prompt's cursor is on its line, to count the rows a long line wraps onto. */
  private column = 0;

  /** `block` gives the lines for a width; `final` is true for the last one, left on screen after stop(). */
  constructor(
    private readonly out: DisplayStream,
    private readonly block: (width: number, final: boolean) => string[],
    private readonly look: TerminalLook = { plainMarks: false, spareLastColumn: false },
  ) {
    if (this.live) out.on?.('resize', this.onResize);
  }

  get live(): boolean {
    return this.out.isTTY === true;
  }

  private width(): number {
    const columns = this.out.columns && this.out.columns > 10 ? this.out.columns : 200;
    return this.look.spareLastColumn ? columns - 1 : columns;
  }

  /** Everything written goes through here: the marks the terminal shows. */
  private write(text: string): void {
    this.out.write(this.look.plainMarks ? plainMarks(text) : text);
  }

  /**
   * Rows the drawn lines take at the terminal's width now: a terminal narrowed since the draw
   * has re-wrapped each longer line onto several rows, all of which must go.
   */
  private drawnRows(): number {
    const columns = this.out.columns && this.out.columns > 0 ? this.out.columns : Infinity;
    return this.drawn.reduce((rows, line) => rows + Math.max(1, Math.ceil(line.length / columns)), 0);
  }

  private erase(): void {
    const rows = this.drawnRows();
    if (rows > 0) this.write(`\x1b[${rows}A\r\x1b[J`);
    this.drawn = [];
  }

  private draw(final: boolean): void {
    const lines = this.block(this.width(), final);
    this.erase();
    this.write(lines.join('\n') + '\n');
    this.drawn = lines;
  }

  /** Redraws the block in place (terminal only). */
  render(): void {
    if (!this.live || this.paused || this.stopped) return;
    this.draw(false);
  }

  /** Writes a line above the block. */
  event(line: string): void {
    if (this.stopped) return;
    if (!this.live) {
      this.write(line + '\n');
      return;
    }
    if (this.held) {
      this.held.push(line);
      return;
    }
    if (!this.paused) this.erase();
    this.write(line + '\n');
    this.render();
  }

  /** Takes the block away while someone else uses the terminal (a prompt). */
  pause(): void {
    if (this.paused) return;
    if (this.live) this.erase();
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const held = this.held ?? [];
    this.held = undefined;
    if (held.length && this.live && !this.stopped) {
      this.erase();
      this.write(held.join('\n') + '\n');
    }
    this.render();
  }

  /**
   * Keeps the block on screen (drawn once more, so it can say what it waits for) while a prompt
   * is written under it; resume() then takes the prompt's lines away with the block.
   */
  hold(): void {
    if (this.paused) return;
    this.render();
    this.paused = true;
    this.held = [];
    this.column = 0;
  }

  /** Text a prompt wrote under a held block: its lines (as the terminal wraps them) are erased with the block. */
  below(text: string): void {
    if (!this.held || !this.live) return;
    for (const ch of text) {
      if (ch === '\n') {
        // Counted as a drawn line of that length, so a resize re-wraps it as the terminal does.
        this.drawn.push(' '.repeat(this.column));
        this.column = 0;
      } else if (ch === '\b') this.column = Math.max(0, this.column - 1);
      else this.column++;
    }
  }

  /** Leaves the last block on screen (or prints it, off a terminal) and stops drawing. */
  stop(): void {
    if (this.stopped) return;
    this.out.off?.('resize', this.onResize);
    // Off a terminal, or with the block taken away for a prompt, the last block is written anew.
    if (!this.live || this.paused) this.write(this.block(this.width(), true).join('\n') + '\n');
    else this.draw(true);
    this.stopped = true;
  }
}
