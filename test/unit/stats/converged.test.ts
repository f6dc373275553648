import { strict as assert } from 'node:assert';
import { convergedLoss } from '../../../src/core/stats/converged';
import { criticalValue } from '../../../src/core/stats/distributions';
import { HeatcapError } from '../../../src/core/errors';
import { ar1, range, Rng } from '../../support/oracle/rng';

/** Binomial tolerance: a coverage estimate from `trials` seeds must lie within 3 sd of `p`. */
function assertRate(hits: number, trials: number, p: number, what: string): void {
  const rate = hits / trials;
  const sd = Math.sqrt((p * (1 - p)) / trials);
  assert.ok(Math.abs(rate - p) <= 3 * sd, `${what}: ${rate.toFixed(3)} vs nominal ${p} (±${(3 * sd).toFixed(3)})`);
}

describe('convergedLoss', () => {
  it('95% CI from batch means covers the known AR(1) mean at the nominal rate (400 seeds; oracle: the generating μ; tol 3 binomial sd)', () => {
    // φ = 0.8: integrated autocorrelation time 9, so a √n standard error would be 3× too small and
    // would cover only ~50% of the time. Batches of 200 are ≫ 9, so batch means are nearly independent.
    const trials = 400;
    let hits = 0;
    let flaggedTrend = 0;
    for (let seed = 1; seed <= trials; seed++) {
      const values = ar1(new Rng(seed), 4000, 1.0, 0.8, 0.1);
      const r = convergedLoss({ steps: range(4000), values });
      assert.equal(r.method, 'batch_means');
      const c = criticalValue(0.95, r.dof ?? undefined);
      if (Math.abs((r.mean as number) - 1.0) <= c * (r.stderr as number)) hits++;
      if (r.flags.includes('trend')) flaggedTrend++;
    }
    assertRate(hits, trials, 0.95, 'coverage');
    // The trend test runs at α = 0.01: a stationary series is flagged about 1% of the time.
    assert.ok(flaggedTrend / trials <= 0.03, `false trend rate ${flaggedTrend / trials}`);
  });

  it('standard error matches the AR(1) closed form σ/(1−φ)/√n within 25% on average (oracle: long-run variance of AR(1))', () => {
    // Long-run sd of the mean: σ/(1−φ)/√n. Averaged over 50 seeds, the batch-means SE (19 dof, sd ≈ 16%
    // per seed) must be within 25% of it; a √n estimate would be off by a factor of 3.
    let sum = 0;
    const seeds = 50;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = convergedLoss({ steps: range(4000), values: ar1(new Rng(1000 + seed), 4000, 0.5, 0.8, 0.1) });
      sum += (r.stderr as number) * Math.sqrt(r.n_used / 4000);
    }
    const truth = 0.1 / (1 - 0.8) / Math.sqrt(4000);
    assert.ok(Math.abs(sum / seeds / truth - 1) < 0.25, `mean SE ${sum / seeds} vs ${truth}`);
  });

  it('flags a linear drift of 0.3 (≈ 10 sd of the drift estimate) in ≥ 95% of 100 seeds (oracle: the injected slope)', () => {
    let flagged = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const n = 4000;
      const noise = ar1(new Rng(5000 + seed), n, 0, 0.8, 0.1);
      // Batch means (b = 200) have sd ≈ 0.1/(1−0.8)/√200 ≈ 0.035, so the drift over the tail is estimated
      // with sd ≈ 0.035·√(12/20) ≈ 0.027; over the ≥ half-run tail a 0.3 drift is ≥ 5 of those, far above
      // the α = 0.01 threshold (t ≈ 2.9). Smaller drifts (≲ 3 sd) are below what any test can see.
      const values = noise.map((v, t) => 1 + v - (0.3 * t) / n);
      const r = convergedLoss({ steps: range(n), values });
      if (r.flags.includes('trend') && !r.stationary) flagged++;
      if (r.trend) assert.ok(r.trend.slope_per_step < 0);
    }
    assert.ok(flagged >= 95, `flagged ${flagged}/100`);
  });

  it('drops an exponential transient (MSER-5) and then covers the plateau mean (oracle: the generating μ; tol 3 binomial sd)', () => {
    const trials = 200;
    let hits = 0;
    for (let seed = 1; seed <= trials; seed++) {
      const n = 5000;
      const noise = ar1(new Rng(9000 + seed), n, 0, 0.5, 0.05);
      const values = noise.map((v, t) => 0.3 + 2 * Math.exp(-t / 150) + v);
      const r = convergedLoss({ steps: range(n, 0, 10), values });
      assert.ok((r.tail_start_step as number) >= 10 * 600, `tail starts at ${r.tail_start_step}`);
      if (Math.abs((r.mean as number) - 0.3) <= criticalValue(0.95, 19) * (r.stderr as number)) hits++;
    }
    assertRate(hits, trials, 0.95, 'coverage after transient');
  });

  it('flags divergence: trailing NaN, a blow-up, and keeps going past an isolated NaN', () => {
    const steps = range(100);
    const ok = ar1(new Rng(3), 100, 1, 0.5, 0.01);
    const nanEnd = ok.map((v, i) => (i >= 90 ? Number.NaN : v));
    const r1 = convergedLoss({ steps, values: nanEnd });
    assert.deepEqual(r1.flags, ['diverged']);
    assert.equal(r1.mean, null);
    assert.match(r1.notes[0], /step 90/);
    const blow = ok.map((v, i) => v * Math.exp(i / 10));
    assert.ok(convergedLoss({ steps, values: blow }).flags.includes('diverged'));
    const oneNan = ok.map((v, i) => (i === 50 ? Number.NaN : v));
    const r3 = convergedLoss({ steps, values: oneNan });
    assert.ok(r3.flags.includes('nan_values'));
    assert.ok(r3.mean !== null && Math.abs(r3.mean - 1) < 0.05);
  });

  it('flags a short series and falls back to a √n standard error, saying so', () => {
    const values = ar1(new Rng(4), 20, 2, 0.0, 0.1);
    const r = convergedLoss({ steps: range(20), values });
    assert.ok(r.flags.includes('too_short'));
    assert.equal(r.method, 'naive_short');
    assert.equal(r.stationary, false);
    assert.equal(r.n_used, 10);
    assert.ok(r.notes.some((n) => /√n/.test(n)));
  });

  it('honours a requested tail start and rejects mismatched input with a HeatcapError', () => {
    const values = ar1(new Rng(5), 1000, 1, 0.5, 0.1);
    const r = convergedLoss({ steps: range(1000), values }, { tailStartStep: 500 });
    assert.equal(r.tail_start_step, 500);
    assert.equal(r.n_used, 500);
    assert.throws(() => convergedLoss({ steps: [1, 2], values: [1] }, { file: 'run/a.csv' }), (e: unknown) => e instanceof HeatcapError && /run\/a\.csv/.test((e as Error).message));
    assert.deepEqual(convergedLoss({ steps: [], values: [] }).flags, ['empty']);
  });
});
