/** A minimal typed event, shaped like VS Code's so the UI can subscribe the same way. */
export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (e: T) => void) => Disposable;

/** Where a listener's error goes: the composition roots point it at their log; until then, stderr. */
let listenerError: (err: unknown) => void = (err) => console.error('SSH Tunnels: an event listener failed:', err);

/** Sends the errors of failing event listeners to `report` (the log) instead of stderr. */
export function reportListenerErrors(report: (err: unknown) => void): void {
  listenerError = report;
}

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
      } catch (err) {
        // A failing listener must not break the engine or the other listeners; it is reported, not hidden.
        listenerError(err);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** Disposables disposed together, last added first; one added after `dispose()` is disposed at once. */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) item.dispose();
    else this.items.push(item);
    return item;
  }

  dispose(): void {
    this.disposed = true;
    for (const item of this.items.splice(0).reverse()) {
      try {
        item.dispose();
      } catch (err) {
        listenerError(err);
      }
    }
  }
}
