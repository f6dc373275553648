import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { SeriesBuilder, SeriesSet } from '../../../src/core/logs/series';
import type { ScalarSeries } from '../../../src/core/runs/model';

/** The builder as first written (number[] pushes), kept as the oracle for the chunked one. */
class ArraySeriesBuilder {
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

describe('series building', () => {
  it('keeps forward-moving logs as written', () => {
    const b = new SeriesBuilder();
    b.push(1, 10, 100);
    b.push(2, 20, 200);
    assert.deepEqual(b.finish(), { steps: [1, 2], values: [10, 20], wallTimes: [100, 200] });
  });

  it('resolves a restart: last write per step wins, sorted by step', () => {
    const b = new SeriesBuilder();
    for (const [s, v] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [2, 20],
      [3, 30],
      [4, 40],
    ])
      b.push(s, v);
    assert.deepEqual(b.finish(), { steps: [1, 2, 3, 4], values: [1, 20, 30, 40] });
  });

  it('aligns wall times when only some points have one (NaN for the others)', () => {
    const b = new SeriesBuilder();
    b.push(1, 1);
    b.push(2, 2, 5);
    assert.deepEqual(b.finish(), { steps: [1, 2], values: [1, 2], wallTimes: [NaN, 5] });
  });

  it('equals the number[] builder it replaced on long series across chunk boundaries, any values (property)', () => {
    // Lengths up to 20,000 cross every chunk size (64 → 4,096 points).
    const special = fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e-310);
    const num = fc.oneof(fc.double(), special);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20000 }), fc.array(fc.tuple(num, num, fc.option(num)), { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 3 }), (n, pattern, mode) => {
        const b = new SeriesBuilder();
        const oracle = new ArraySeriesBuilder();
        for (let i = 0; i < n; i++) {
          const [s, v, w] = pattern[i % pattern.length];
          // mode 0: steps move forward; 1: the pattern's own steps; 2: no wall times; 3: a restart half way.
          const step = mode === 0 ? i : mode === 3 ? (i < n / 2 ? i : i - Math.floor(n / 4)) : s;
          const wall = mode === 2 ? undefined : (w ?? undefined);
          b.push(step, v, wall);
          oracle.push(step, v, wall);
        }
        assert.equal(b.count, n);
        // deepStrictEqual compares with Object.is, so −0 and NaN must come back exactly.
        assert.deepStrictEqual(b.finish(), oracle.finish());
      }),
      { seed: 21, numRuns: 60 },
    );
  });

  it('SeriesSet.builder is the same series as push, and counts as the first appearance', () => {
    const set = new SeriesSet();
    set.push('a', 1, 1);
    const c = set.builder('c');
    set.push('b', 1, 2);
    c.push(1, 3, 7);
    set.push('c', 2, 4, 8);
    assert.equal(set.builder('a'), set.builder('a'));
    assert.deepEqual(Object.keys(set.finish()), ['a', 'c', 'b']);
    assert.deepEqual(set.finish().c, { steps: [1, 2], values: [3, 4], wallTimes: [7, 8] });
  });

  it('SeriesSet equals a naive per-tag map, with many tags and any steps (property; oracle: Map + last-write-wins)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: -5, max: 30 }), fc.double({ noNaN: true })), { maxLength: 200 }), (points) => {
        const set = new SeriesSet();
        const naive = new Map<string, Map<number, number>>();
        for (const [t, s, v] of points) {
          const tag = `t${t}`;
          set.push(tag, s, v);
          if (!naive.has(tag)) naive.set(tag, new Map());
          naive.get(tag)?.set(s, v);
        }
        const got = set.finish();
        assert.deepEqual(Object.keys(got).sort(), [...naive.keys()].sort());
        for (const [tag, m] of naive) {
          const steps = [...m.keys()];
          const monotone = points.filter((p) => `t${p[0]}` === tag).every((p, i, a) => i === 0 || p[1] > a[i - 1][1]);
          const order = monotone ? steps : [...steps].sort((a, b) => a - b);
          assert.deepEqual(got[tag].steps, order);
          assert.deepEqual(got[tag].values, order.map((s) => m.get(s)));
        }
      }),
      { seed: 8, numRuns: 300 },
    );
  });
});
