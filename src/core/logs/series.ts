import type { ScalarSeries } from '../runs/model';

/**
 * Collects one tag's points in file order and resolves repeated steps at the end: when a step is logged
 * again (a run resumed from a checkpoint re-logs the steps after it), the last write wins and the series
 * comes back sorted by step. Logs that only move forward, the common case, are returned as written
 * with no extra work.
 */
export class SeriesBuilder {
  private steps: number[] = [];
  private values: number[] = [];
  private wallTimes: number[] | undefined;
  private monotone = true;
  private lastStep = -Infinity;

  push(step: number, value: number, wallTime?: number): void {
    if (step <= this.lastStep) this.monotone = false;
    this.lastStep = step;
    this.steps.push(step);
    this.values.push(value);
    if (wallTime !== undefined) {
      if (!this.wallTimes) this.wallTimes = new Array<number>(this.steps.length - 1).fill(NaN);
      this.wallTimes.push(wallTime);
    } else if (this.wallTimes) this.wallTimes.push(NaN);
  }

  get count(): number {
    return this.steps.length;
  }

  finish(): ScalarSeries {
    if (this.monotone) return this.wallTimes ? { steps: this.steps, values: this.values, wallTimes: this.wallTimes } : { steps: this.steps, values: this.values };
    const lastIndexOfStep = new Map<number, number>();
    for (let i = 0; i < this.steps.length; i++) lastIndexOfStep.set(this.steps[i], i);
    const order = [...lastIndexOfStep.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    const out: ScalarSeries = { steps: order.map((i) => this.steps[i]), values: order.map((i) => this.values[i]) };
    if (this.wallTimes) {
      const w = this.wallTimes;
      out.wallTimes = order.map((i) => w[i]);
    }
    return out;
  }
}

/** Tag → series builder, in order of first appearance. */
export class SeriesSet {
  private readonly byTag = new Map<string, SeriesBuilder>();
  /** The last few tags and their builders: logs cycle through a handful of tags, so most pushes hit. */
  private readonly recentTags: string[] = [];
  private readonly recentBuilders: SeriesBuilder[] = [];
  private nextSlot = 0;

  push(tag: string, step: number, value: number, wallTime?: number): void {
    const recent = this.recentTags;
    for (let i = 0; i < recent.length; i++) {
      if (recent[i] === tag) {
        this.recentBuilders[i].push(step, value, wallTime);
        return;
      }
    }
    let b = this.byTag.get(tag);
    if (!b) {
      b = new SeriesBuilder();
      this.byTag.set(tag, b);
    }
    if (recent.length < 8) {
      recent.push(tag);
      this.recentBuilders.push(b);
    } else {
      this.nextSlot = (this.nextSlot + 1) % 8;
      recent[this.nextSlot] = tag;
      this.recentBuilders[this.nextSlot] = b;
    }
    b.push(step, value, wallTime);
  }

  get size(): number {
    return this.byTag.size;
  }

  has(tag: string): boolean {
    return this.byTag.has(tag);
  }

  finish(): Record<string, ScalarSeries> {
    // A null-prototype object: tags are untrusted text and may be named `__proto__` or `constructor`.
    const out: Record<string, ScalarSeries> = Object.create(null);
    for (const [tag, b] of this.byTag) out[tag] = b.finish();
    return out;
  }
}
