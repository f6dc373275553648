import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { Observed } from '../../../src/core/result/schema';
import { fitAt, fitLine, slopeInterceptCovariance, Z95 } from '../../../src/core/report/fitLine';

/**
 * Oracle: weighted least squares written out independently as the normal equations
 * (XᵀWX)β = XᵀWy with the 2×2 inverse taken by cofactors; the parameter covariance is (XᵀWX)⁻¹
 * (times χ²/dof when `scale` is set, as a fitter that rescales its errors would report).
 */
function oracleWls(lr: number[], loss: number[], se: number[], scale: boolean) {
  const X = lr.map((x) => [1, x]);
  const W = se.map((s) => 1 / (s * s));
  const A = [
    [0, 0],
    [0, 0],
  ];
  const b = [0, 0];
  X.forEach((row, i) => {
    for (let r = 0; r < 2; r++) {
      b[r] += row[r] * W[i] * loss[i];
      for (let c = 0; c < 2; c++) A[r][c] += row[r] * W[i] * row[c];
    }
  });
  const det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
  const inv = [
    [A[1][1] / det, -A[0][1] / det],
    [-A[1][0] / det, A[0][0] / det],
  ];
  const beta = [inv[0][0] * b[0] + inv[0][1] * b[1], inv[1][0] * b[0] + inv[1][1] * b[1]];
  const chi2 = lr.reduce((s, x, i) => s + W[i] * (loss[i] - beta[0] - beta[1] * x) ** 2, 0);
  const k = scale ? chi2 / (lr.length - 2) : 1;
  return { a: beta[0], s: beta[1], C: inv.map((r) => r.map((v) => v * k)) };
}

function observedFrom(lr: number[], se: number[], o: ReturnType<typeof oracleWls>, withCov: boolean): Observed {
  return {
    tag: 'loss',
    tag_reason: '',
    points: lr.map((x, i) => ({ run: `r${i}`, name: `r${i}`, lr: x, loss: 0, stderr: se[i], n_used: 10, stationary: true, used_in_fit: true, flags: [] })),
    slope: o.s,
    slope_stderr: Math.sqrt(o.C[1][1]),
    intercept: o.a,
    intercept_stderr: Math.sqrt(o.C[0][0]),
    ...(withCov ? { slope_intercept_cov: o.C[0][1] } : {}),
    fit: { method: 'wls_sweep', n_points: lr.length, chi2: null, dof: null, p_value: null, lr_max_used: null, quadratic: null, notes: [] },
    events: [],
  };
}

const close = (a: number, b: number, rel: number): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);

describe('report/fitLine', () => {
  it('reconstructs Cov(a, s) of a WLS fit from its points and standard errors (oracle: normal equations; tolerance 1e-9 relative, float rounding)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ lr: fc.double({ min: 1e-4, max: 1, noNaN: true }), se: fc.double({ min: 1e-6, max: 1e-2, noNaN: true }), y: fc.double({ min: 0, max: 3, noNaN: true }) }), { minLength: 3, maxLength: 8 }),
        fc.boolean(),
        (pts, scale) => {
          const lr = pts.map((p) => p.lr);
          fc.pre(Math.max(...lr) / Math.min(...lr) > 1.5);
          const se = pts.map((p) => p.se);
          const o = oracleWls(lr, pts.map((p) => p.y), se, scale);
          fc.pre(o.C[1][1] > 0 && o.C[0][0] > 0);
          const c = slopeInterceptCovariance(observedFrom(lr, se, o, false));
          assert.ok(c.cov !== null, 'covariance reconstructed');
          assert.ok(close(c.cov, o.C[0][1], 1e-9), `${c.cov} vs ${o.C[0][1]}`);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });

  it('draws the 95% band as a ± 1.96·√(xᵀCx) around a + sη (oracle: the quadratic form evaluated directly; 1e-12 relative on the line, 1e-9 on the half-width, which cancels large products)', () => {
    const lr = [0.0025, 0.005, 0.01, 0.02];
    const se = [4e-6, 5e-6, 4e-6, 6e-6];
    const o = oracleWls(lr, [0.10134, 0.10141, 0.10154, 0.10184], se, false);
    const line = fitLine(observedFrom(lr, se, o, true));
    assert.ok(!('reason' in line));
    for (const x of [0, 0.003, 0.02, 0.05]) {
      const at = fitAt(line, x);
      const v = o.C[0][0] + 2 * x * o.C[0][1] + x * x * o.C[1][1];
      assert.ok(close(at.y, o.a + o.s * x, 1e-12));
      assert.ok(close((at.hi as number) - at.y, Z95 * Math.sqrt(v), 1e-9));
      assert.ok(close(at.y - (at.lo as number), Z95 * Math.sqrt(v), 1e-9));
    }
  });

  it('prefers a reported covariance, and refuses to guess when the errors are not those of a WLS fit on the shown points', () => {
    const lr = [0.01, 0.02, 0.04];
    const se = [1e-3, 1e-3, 1e-3];
    const o = oracleWls(lr, [0.3, 0.33, 0.38], se, false);
    const reported = observedFrom(lr, se, o, true);
    reported.slope_intercept_cov = 1.5e-7;
    assert.deepEqual(slopeInterceptCovariance(reported), { cov: 1.5e-7, source: 'reported' });
    const inflated = observedFrom(lr, se, o, false);
    inflated.intercept_stderr = (inflated.intercept_stderr as number) * 3;
    const c = slopeInterceptCovariance(inflated);
    assert.equal(c.cov, null);
    const line = fitLine(inflated);
    assert.ok(!('reason' in line) && line.bandReason !== null && fitAt(line, 0.01).lo === null);
  });

  it('treats an intercept fixed at a known L* (zero error) as uncorrelated with the slope', () => {
    const o = oracleWls([0.01, 0.02], [0.3, 0.33], [1e-3, 1e-3], false);
    const obs = observedFrom([0.01, 0.02], [1e-3, 1e-3], o, false);
    obs.intercept_stderr = 0;
    assert.deepEqual(slopeInterceptCovariance(obs), { cov: 0, source: 'reconstructed' });
  });

  it('gives a reason instead of a line for schedule-event fits and missing slopes', () => {
    const o = oracleWls([0.01, 0.02, 0.03], [0.3, 0.33, 0.35], [1e-3, 1e-3, 1e-3], false);
    const obs = observedFrom([0.01, 0.02, 0.03], [1e-3, 1e-3, 1e-3], o, false);
    obs.fit.method = 'schedule_events';
    assert.match(String((slopeInterceptCovariance(obs) as { reason: string }).reason), /fit method/);
    obs.intercept = null;
    assert.match((fitLine(obs) as { reason: string }).reason, /intercept/);
    obs.slope = null;
    assert.match((fitLine(obs) as { reason: string }).reason, /slope/);
  });
});
