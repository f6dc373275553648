import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { SeriesBuilder, SeriesSet } from '../../../src/core/logs/series';

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
