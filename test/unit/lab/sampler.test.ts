import { strict as assert } from 'node:assert';
import { LabRng, runSeed } from '../../../src/core/lab/rng';
import { BatchSampler } from '../../../src/core/lab/sampler';

/**
 * Each sampling scheme checked for its defining property (THEORY.md §2–3), with exact combinatorial
 * oracles or chi-square bounds computed here from the definitions.
 */
describe('lab sampler', () => {
  const draw = (s: BatchSampler, steps: number): Int32Array[] => {
    const out: Int32Array[] = [];
    for (let t = 0; t < steps; t++) {
      const idx = new Int32Array(s.batchSize);
      s.next(idx);
      out.push(idx);
    }
    return out;
  };

  /** Pearson's χ² of counts against a uniform expectation. */
  const chiSquare = (counts: number[], expected: number) => counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);

  it('with_replacement: uniform i.i.d. indices — marginal χ² and within-batch repeats at the exact rate', () => {
    const n = 10;
    const B = 4;
    const steps = 50000;
    const batches = draw(new BatchSampler('with_replacement', n, B, LabRng.seeded(1)), steps);
    const counts = new Array<number>(n).fill(0);
    let withRepeat = 0;
    for (const b of batches) {
      b.forEach((i) => counts[i]++);
      if (new Set(b).size < B) withRepeat++;
    }
    // χ² with 9 dof: P(χ² > 27.9) = 0.001.
    assert.ok(chiSquare(counts, (steps * B) / n) < 27.9);
    // Oracle: P(some repeat among B i.i.d. uniform draws) = 1 − n(n−1)…(n−B+1)/n^B = 1 − 0.504 = 0.496.
    const p = 1 - (10 * 9 * 8 * 7) / 10 ** 4;
    const se = Math.sqrt((p * (1 - p)) / steps);
    assert.ok(Math.abs(withRepeat / steps - p) < 4 * se, `repeat rate ${withRepeat / steps} vs ${p}`);
    // Independence across positions: the pair (first, second) index is uniform over n² cells (χ², 99 dof: 149.4 at 0.001).
    const pairs = new Array<number>(n * n).fill(0);
    for (const b of batches) pairs[b[0] * n + b[1]]++;
    assert.ok(chiSquare(pairs, steps / (n * n)) < 149.4);
  });

  it('without_replacement: B distinct indices per batch, uniform marginals, batches independent (overlap B²/N)', () => {
    const n = 12;
    const B = 5;
    const steps = 40000;
    const batches = draw(new BatchSampler('without_replacement', n, B, LabRng.seeded(2)), steps);
    const counts = new Array<number>(n).fill(0);
    let overlap = 0;
    batches.forEach((b, t) => {
      assert.equal(new Set(b).size, B);
      b.forEach((i) => counts[i]++);
      if (t > 0) overlap += b.filter((i) => batches[t - 1].includes(i)).length;
    });
    assert.ok(chiSquare(counts, (steps * B) / n) < 31.3); // 11 dof, 0.001
    // Oracle: two independent uniform B-subsets share B·B/n elements on average (hypergeometric mean).
    const mean = (B * B) / n;
    const variance = (B * (B / n) * (1 - B / n) * (n - B)) / (n - 1);
    const got = overlap / (steps - 1);
    assert.ok(Math.abs(got - mean) < 5 * Math.sqrt(variance / steps), `overlap ${got} vs ${mean}`);
  });

  it('reshuffle: every epoch is a permutation cut into batches (drop_last), and epochs differ', () => {
    const n = 23;
    const B = 4; // 5 batches per epoch, 3 examples dropped
    const perEpoch = Math.floor(n / B);
    const batches = draw(new BatchSampler('reshuffle', n, B, LabRng.seeded(3)), perEpoch * 200);
    const epochs: number[][] = [];
    for (let e = 0; e < 200; e++) epochs.push(batches.slice(e * perEpoch, (e + 1) * perEpoch).flatMap((b) => [...b]));
    for (const ep of epochs) assert.equal(new Set(ep).size, perEpoch * B, 'no example twice within an epoch');
    assert.ok(new Set(epochs.map((e) => e.join())).size > 190, 'a fresh permutation each epoch');
    // The first index of an epoch is uniform over n (χ², 22 dof: 48.3 at 0.001), over many epochs.
    const many = draw(new BatchSampler('reshuffle', n, B, LabRng.seeded(4)), perEpoch * 20000);
    const first = new Array<number>(n).fill(0);
    for (let e = 0; e < 20000; e++) first[many[e * perEpoch][0]]++;
    assert.ok(chiSquare(first, 20000 / n) < 48.3);
  });

  it('is deterministic given the seed, and continues exactly from a saved state', () => {
    for (const sampling of ['with_replacement', 'without_replacement', 'reshuffle'] as const) {
      const a = draw(new BatchSampler(sampling, 17, 3, LabRng.seeded(9)), 100).map((b) => b.join());
      const b = draw(new BatchSampler(sampling, 17, 3, LabRng.seeded(9)), 100).map((x) => x.join());
      assert.deepEqual(a, b);
      const rng = LabRng.seeded(9);
      const s1 = new BatchSampler(sampling, 17, 3, rng);
      const head = draw(s1, 37).map((x) => x.join());
      const saved = { rng: rng.state(), perm: Int32Array.from(s1.state.perm), cursor: s1.state.cursor };
      const s2 = new BatchSampler(sampling, 17, 3, LabRng.fromState(saved.rng), { perm: saved.perm, cursor: saved.cursor });
      assert.deepEqual([...head, ...draw(s2, 63).map((x) => x.join())], a);
    }
  });

  it('derives distinct run seeds from the sweep seed and η', () => {
    const seeds = [0.001, 0.002, 0.0025, 0.005, 0.01, 0.02].flatMap((lr) => [0, 1, 2].map((s) => runSeed(s, lr)));
    assert.equal(new Set(seeds).size, seeds.length);
    assert.equal(runSeed(5, 0.01), runSeed(5, 0.01));
  });
});
