import { CancelledError } from './errors';

/**
 * A minimal cancellation token, shaped like VS Code's so that the extension can pass its own token
 * straight through to core code, and the CLI/worker can use `CancelSource`.
 */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested?: (listener: () => void) => { dispose(): void };
}

export const neverCancelled: CancelToken = { isCancellationRequested: false };

export class CancelSource {
  private cancelled = false;
  private readonly listeners = new Set<() => void>();
  readonly token: CancelToken;

  constructor() {
    const isCancelled = (): boolean => this.cancelled;
    this.token = {
      get isCancellationRequested(): boolean {
        return isCancelled();
      },
      onCancellationRequested: (listener: () => void) => {
        this.listeners.add(listener);
        return { dispose: () => this.listeners.delete(listener) };
      },
    };
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const l of [...this.listeners]) l();
  }
}

export function throwIfCancelled(token: CancelToken | undefined): void {
  if (token?.isCancellationRequested) throw new CancelledError();
}

/** Progress reports: fraction in [0, 1] when known, and a short message. */
export type ProgressFn = (p: { fraction?: number; message?: string }) => void;
