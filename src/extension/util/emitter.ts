/**
 * A minimal typed event, shaped like `vscode.Event` (listener in, disposable out) so the pure state
 * modules can be observed by VS Code code and by tests alike without importing `vscode`.
 */
export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (e: T) => void) => Disposable;

export class Emitter<T> {
  private readonly listeners = new Set<(e: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(e: T): void {
    // A copy: a listener that unsubscribes (or subscribes another) while being called is fine.
    for (const l of [...this.listeners]) l(e);
  }

  dispose(): void {
    this.listeners.clear();
  }
}
