/**
 * Turns a burst of triggers (file-change events from a training job that writes every second) into
 * few runs of one task: the task runs after `quietMs` without a trigger, or at the latest `maxWaitMs`
 * after the first trigger of a burst (a log that never stops growing still refreshes), never twice at
 * once, and once more after a run if something changed during it.
 *
 * No `vscode` import (unit-tested with short real timers).
 */
import type { Disposable } from './emitter';

export interface RefreshSchedulerOptions {
  quietMs: number;
  maxWaitMs: number;
  /** Called with anything the task throws (the scheduler keeps working). */
  onError?: (e: unknown) => void;
}

export class RefreshScheduler implements Disposable {
  private timer: NodeJS.Timeout | undefined;
  private burstStart: number | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private disposed = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly opts: RefreshSchedulerOptions,
  ) {}

  trigger(): void {
    if (this.disposed) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    const now = Date.now();
    this.burstStart ??= now;
    const delay = Math.max(0, Math.min(this.opts.quietMs, this.burstStart + this.opts.maxWaitMs - now));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), delay);
  }

  /** Resolves once no run is in progress or scheduled (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.timer) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    this.burstStart = undefined;
    if (this.disposed) return;
    this.running = this.task()
      .catch((e) => this.opts.onError?.(e))
      .finally(() => {
        this.running = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.trigger();
        }
      });
  }
}
