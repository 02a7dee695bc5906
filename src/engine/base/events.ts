/** A minimal typed event, shaped like VS Code's so the UI can subscribe the same way. */
export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (e: T) => void) => Disposable;

export class Emitter<T> {
  private listeners = new Set<(e: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  /** Whether anyone listens: an event that is costly to build need not be built for no one. */
  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  fire(e: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(e);
      } catch {
        // A failing listener must not break the engine or the other listeners.
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
