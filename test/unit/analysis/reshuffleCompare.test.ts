import { strict as assert } from 'node:assert';
import { reshuffleCurveScale } from '../../../src/core/analysis/reshuffleCompare';
import type { ObservedPoint } from '../../../src/core/result/schema';
import { Rng } from '../../support/oracle/rng';

/** Points on L* + k·m(η) with Gaussian noise of known SE (the oracle: k is known). */
function points(k: number, lossAtZero: number, seed: number, se = 1e-6): { pts: ObservedPoint[]; curve: { lr: number[]; excess: number[] } } {
  const rng = new Rng(seed);
  const lr = [0.0025, 0.005, 0.01, 0.02];
  const excess = lr.map((e) => 0.6 * e * e + 1e-3 * e);
  const pts = lr.map((e, i) => ({
    run: `r${i}`, name: `r${i}`, lr: e, loss: lossAtZero + k * excess[i] + se * rng.normal(), stderr: se, n_used: 100, stationary: true, used_in_fit: true, flags: [],
  }));
  return { pts, curve: { lr, excess } };
}

describe('reshuffleCurveScale (oracle: points generated on k·m(η) with known noise)', () => {
  it('recovers k with L* known and with L* fitted; the 95% CI covers k at about the nominal rate', () => {
    let covered = 0;
    const trials = 200;
    for (let s = 0; s < trials; s++) {
      const { pts, curve } = points(0.8, 0.36, s);
      const known = reshuffleCurveScale(pts, curve, 0.36)!;
      if (known.ci[0] <= 0.8 && 0.8 <= known.ci[1]) covered++;
      const free = reshuffleCurveScale(pts, curve, null)!;
      assert.ok(Math.abs(free.ratio - 0.8) < 0.05, `fitted-L* scale ${free.ratio}`);
    }
    // 95% nominal; 3 binomial sd of 200 trials ≈ 4.6%.
    assert.ok(covered / trials > 0.9 && covered / trials <= 1, `coverage ${covered}/${trials}`);
  });

  it('needs enough usable points and ignores runs without a standard error', () => {
    const { pts, curve } = points(1, 0.36, 1);
    assert.equal(reshuffleCurveScale(pts.slice(0, 1), curve, 0.36), null);
    assert.equal(reshuffleCurveScale(pts.slice(0, 2), curve, null), null);
    const noSe = pts.map((p) => ({ ...p, stderr: null }));
    assert.equal(reshuffleCurveScale(noSe, curve, 0.36), null);
  });
});
