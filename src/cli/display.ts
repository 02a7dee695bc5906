// Keeps a block of lines (the table) at the bottom of a terminal, redrawn in place, with event
// lines scrolling above it. On a pipe or file it only writes the event lines and final tables.

export interface DisplayStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class LiveDisplay {
  private drawn = 0;
  private paused = false;
  private stopped = false;
  /** Held for a prompt written under the block: event lines wait here until it is answered. */
  private held: string[] | undefined;
  /** Where the prompt's cursor is on its line, to count the rows a long line wraps onto. */
  private column = 0;

  constructor(
    private readonly out: DisplayStream,
    private readonly block: (width: number) => string[],
  ) {}

  get live(): boolean {
    return this.out.isTTY === true;
  }

  private width(): number {
    return this.out.columns && this.out.columns > 10 ? this.out.columns : 200;
  }

  private erase(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }

  /** Redraws the block in place (terminal only). */
  render(): void {
    if (!this.live || this.paused || this.stopped) return;
    const lines = this.block(this.width());
    this.erase();
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Writes a line above the block. */
  event(line: string): void {
    if (this.stopped) return;
    if (!this.live) {
      this.out.write(line + '\n');
      return;
    }
    if (this.held) {
      this.held.push(line);
      return;
    }
    if (!this.paused) this.erase();
    this.out.write(line + '\n');
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
      this.out.write(held.join('\n') + '\n');
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
    const width = this.width();
    for (const ch of text) {
      if (ch === '\n') {
        this.drawn += Math.max(1, Math.ceil(this.column / width));
        this.column = 0;
      } else if (ch === '\b') this.column = Math.max(0, this.column - 1);
      else this.column++;
    }
  }

  /** Leaves the last block on screen (or prints it, off a terminal) and stops drawing. */
  stop(): void {
    if (this.stopped) return;
    if (!this.live) this.out.write(this.block(this.width()).join('\n') + '\n');
    else this.render();
    this.stopped = true;
  }
}
