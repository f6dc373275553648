import type { ScalarSeries } from '../runs/model';

/**
 * Collects one tag's points in file order and resolves repeated steps at the end: when a step is logged
 * again (a run resumed from a checkpoint re-logs the steps after it), the last write wins and the series
 * comes back sorted by step. Logs that only move forward, the common case, are returned as written
 * with no extra work.
 *
 * Points are stored as (step, value, wall time) triples in Float64Array chunks and copied once, at the
 * end, into arrays of exactly the right size. Why (measured here, 300k points per tag): `number[]`
 * pushes cost ≈ 20–25 ns per element, mostly growth copies into fresh memory, which is slow to touch in
 * this VM (PERFORMANCE-NOTES.md); arrays that double also touch fresh memory at every doubling. Chunks
 * of at most 96 KiB never move, and once freed their memory is reused by the next reader without new
 * page faults. A Float64Array holds every number exactly (−0, NaN, ±Infinity, integers up to 2^53).
 */
export class SeriesBuilder {
  /** Full chunks, then `chunk`, whose first `used` entries are filled. */
  private readonly full: Float64Array[] = [];
  private chunk: Float64Array = new Float64Array(3 * FIRST_CHUNK_POINTS);
  private used = 0;
  private n = 0;
  /** Whether any point had a wall time (points without one hold NaN, as the result does). */
  private hasWallTimes = false;
  private monotone = true;
  private lastStep = -Infinity;

  push(step: number, value: number, wallTime?: number): void {
    if (step <= this.lastStep) this.monotone = false;
    this.lastStep = step;
    let c = this.chunk;
    let j = this.used;
    if (j === c.length) {
      c = this.nextChunk();
      j = 0;
    }
    c[j] = step;
    c[j + 1] = value;
    if (wallTime === undefined) c[j + 2] = NaN;
    else {
      c[j + 2] = wallTime;
      this.hasWallTimes = true;
    }
    this.used = j + 3;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  finish(): ScalarSeries {
    const n = this.n;
    const steps = new Array<number>(n);
    const values = new Array<number>(n);
    const walls = this.hasWallTimes ? new Array<number>(n) : undefined;
    let k = 0;
    for (const c of [...this.full, this.chunk]) {
      const end = c === this.chunk ? this.used : c.length;
      for (let j = 0; j < end; j += 3, k++) {
        steps[k] = c[j];
        values[k] = c[j + 1];
        if (walls) walls[k] = c[j + 2];
      }
    }
    if (this.monotone) return walls ? { steps, values, wallTimes: walls } : { steps, values };
    const lastIndexOfStep = new Map<number, number>();
    for (let i = 0; i < n; i++) lastIndexOfStep.set(steps[i], i);
    const order = [...lastIndexOfStep.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    const out: ScalarSeries = { steps: order.map((i) => steps[i]), values: order.map((i) => values[i]) };
    if (walls) out.wallTimes = order.map((i) => walls[i]);
    return out;
  }

  /** Chunks double from 64 points to 4,096 (96 KiB), so a short series stays small. */
  private nextChunk(): Float64Array {
    this.full.push(this.chunk);
    this.chunk = new Float64Array(Math.min(this.chunk.length * 2, 3 * MAX_CHUNK_POINTS));
    this.used = 0;
    return this.chunk;
  }
}

const FIRST_CHUNK_POINTS = 64;
const MAX_CHUNK_POINTS = 4096;

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

  /**
   * The builder of `tag`, created here if new (it then counts as appearing now, as with `push`): for
   * readers that look a tag up once and push its points straight to the builder (the event decoder).
   */
  builder(tag: string): SeriesBuilder {
    let b = this.byTag.get(tag);
    if (!b) {
      b = new SeriesBuilder();
      this.byTag.set(tag, b);
    }
    return b;
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
