// Disposables released together: what a part subscribed to and created, given back in one call.
// (The lowest floor of the layers above the engine holds it, so every one of them can use it.)
import type { Disposable } from '../engine';

export class DisposableStore implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  /** Adds disposables to release with the store, in the order added; once it is disposed, they are released at once. */
  add(...items: Disposable[]): void {
    if (this.disposed) {
      for (const item of items) item.dispose();
      return;
    }
    this.items.push(...items);
  }

  dispose(): void {
    this.disposed = true;
    const items = this.items;
    this.items = [];
    for (const item of items) item.dispose();
  }
}
