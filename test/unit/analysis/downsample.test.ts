import { strict as assert } from 'node:assert';
import { downsampleMinMax } from '../../../src/core/analysis/downsample';

describe('downsampleMinMax', () => {
  it('returns short series unchanged, with non-finite values as null gaps', () => {
    const r = downsampleMinMax([1, 2, 3], [0.5, NaN, Infinity]);
    assert.deepEqual(r, { steps: [1, 2, 3], values: [0.5, null, null] });
  });

  it('keeps every bucket extreme (oracle: brute-force min/max per bucket) and stays within the point budget', () => {
    const n = 100_003;
    const steps = Array.from({ length: n }, (_, i) => i * 10);
    let seed = 7;
    const values = steps.map(() => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1);
    const r = downsampleMinMax(steps, values, 1000);
    assert.ok(r.steps.length <= 1000, `${r.steps.length} points`);
    assert.equal(Math.min(...(r.values as number[])), Math.min(...values));
    assert.equal(Math.max(...(r.values as number[])), Math.max(...values));
    for (let i = 1; i < r.steps.length; i++) assert.ok(r.steps[i] > r.steps[i - 1], 'steps strictly increasing');
  });

  it('marks a NaN stretch in a long series with a null so a divergence is visible', () => {
    const n = 10_000;
    const values = Array.from({ length: n }, (_, i) => (i > 9_000 ? NaN : 1));
    const r = downsampleMinMax(Array.from({ length: n }, (_, i) => i), values, 100);
    assert.ok(r.values.includes(null));
  });
});
