import { strict as assert } from 'node:assert';
import { fitSweep, observedFitOfSweep, type SweepPointInput } from '../../../src/core/stats/sweep-fit';
import { criticalValue } from '../../../src/core/stats/distributions';
import { Rng } from '../../support/oracle/rng';

function closeRel(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.abs(b), `${what}: ${a} vs ${b} (rel tol ${tol})`);
}

/** Closed-form weighted straight line (textbook sums), an oracle independent of the matrix code. */
function closedFormWls(x: number[], y: number[], se: number[]): { a: number; b: number; sb: number; sa: number } {
  let S = 0, Sx = 0, Sy = 0, Sxx = 0, Sxy = 0;
  x.forEach((xi, i) => {
    const w = 1 / se[i] ** 2;
    S += w; Sx += w * xi; Sy += w * y[i]; Sxx += w * xi * xi; Sxy += w * xi * y[i];
  });
  const D = S * Sxx - Sx * Sx;
  return { a: (Sxx * Sy - Sx * Sxy) / D, b: (S * Sxy - Sx * Sy) / D, sb: Math.sqrt(S / D), sa: Math.sqrt(Sxx / D) };
}

const LRS = [0.005, 0.01, 0.02, 0.03, 0.04];

describe('fitSweep', () => {
  it('matches the closed-form weighted line (oracle: textbook WLS sums; tol 1e-12 relative)', () => {
    const se = [0.001, 0.002, 0.0015, 0.003, 0.002];
    const loss = [0.2031, 0.2049, 0.2102, 0.2148, 0.2203];
    const fit = fitSweep(LRS.map((lr, i) => ({ run: `r${i}`, lr, loss: loss[i], stderr: se[i] })), { alpha: 1e-9 });
    const cf = closedFormWls(LRS, loss, se);
    closeRel(fit.slope as number, cf.b, 1e-12, 'slope');
    closeRel(fit.slope_stderr as number, cf.sb, 1e-12, 'slope SE');
    closeRel(fit.intercept as number, cf.a, 1e-12, 'intercept');
    closeRel(fit.intercept_stderr as number, cf.sa, 1e-12, 'intercept SE');
    assert.equal(fit.n_points, 5);
    assert.equal(fit.dof, 3);
  });

  it('slope 95% CI covers the true slope at the nominal rate on noisy lines (500 seeds; oracle: the generating line; tol 3 binomial sd)', () => {
    const rng = new Rng(42);
    const trials = 500;
    let hits = 0;
    let dropped = 0;
    for (let t = 0; t < trials; t++) {
      const se = LRS.map((_, i) => 0.0005 * (1 + (i % 3)));
      const pts: SweepPointInput[] = LRS.map((lr, i) => ({ run: `r${i}`, lr, loss: 0.2 + 0.45 * lr + se[i] * rng.normal(), stderr: se[i] }));
      const fit = fitSweep(pts);
      if (fit.n_points < 5) dropped++;
      const c = criticalValue(0.95, fit.slope_dof ?? undefined);
      if (Math.abs((fit.slope as number) - 0.45) <= c * (fit.slope_stderr as number)) hits++;
    }
    const rate = hits / trials;
    assert.ok(Math.abs(rate - 0.95) <= 3 * Math.sqrt(0.95 * 0.05 / trials), `coverage ${rate}`);
    // A straight line is falsely cut at about the tests' combined level (α = 0.05 each, correlated).
    assert.ok(dropped / trials < 0.15, `linear range cut on ${dropped}/${trials} straight lines`);
  });

  it('cuts the curved large-η end and recovers the small-η slope (oracle: L = 0.2 + 0.45η + 40η² with tiny noise)', () => {
    const lrs = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064];
    const rng = new Rng(7);
    const se = 1e-5;
    const pts = lrs.map((lr, i) => ({ run: `r${i}`, lr, loss: 0.2 + 0.45 * lr + 40 * lr * lr + se * rng.normal(), stderr: se }));
    const fit = fitSweep(pts);
    assert.ok(fit.n_points < lrs.length && fit.n_points >= 3, `kept ${fit.n_points}`);
    const largest = fit.points[lrs.length - 1];
    assert.equal(largest.used_in_fit, false);
    assert.match(largest.excluded_reason as string, /beyond the linear range/);
    // The remaining line still carries curvature of order 40·η_max; it must be within 3 SE of its own
    // expectation and far closer to 0.45 than the all-points line.
    assert.ok(Math.abs((fit.slope as number) - 0.45) < 40 * 2 * (fit.lr_max_used as number), `slope ${fit.slope}`);
    assert.ok(fit.quadratic !== null && Math.abs(fit.quadratic.q - 40) < 1, `quadratic ${JSON.stringify(fit.quadratic)}`);
    const of = observedFitOfSweep(fit);
    assert.equal(of.method, 'wls_sweep');
    assert.equal(of.lr_max_used, fit.lr_max_used);
  });

  it('fits secants through a known L* (oracle: exact line through the origin; tol 1e-12)', () => {
    const pts = [0.01, 0.02, 0.03].map((lr, i) => ({ run: `r${i}`, lr, loss: 0.3 + 0.5 * lr, stderr: 1e-3 }));
    const fit = fitSweep(pts, { knownLossAtZero: 0.3 });
    closeRel(fit.slope as number, 0.5, 1e-12, 'slope');
    assert.equal(fit.intercept, 0.3);
    assert.equal(fit.dof, 2);
    // SE of a through-origin slope with equal weights: σ/√Ση².
    closeRel(fit.slope_stderr as number, 1e-3 / Math.sqrt(0.01 ** 2 + 0.02 ** 2 + 0.03 ** 2), 1e-12, 'slope SE');
  });

  it('excludes diverged, flagged, lr-less and SE-less points, each with its reason', () => {
    const pts: SweepPointInput[] = [
      { run: 'a', lr: 0.01, loss: 0.21, stderr: 0.001 },
      { run: 'b', lr: 0.02, loss: 0.22, stderr: 0.001 },
      { run: 'c', lr: 0.03, loss: 0.23, stderr: 0.001 },
      { run: 'd', lr: 0.5, loss: null, stderr: null, flags: ['diverged'] },
      { run: 'e', lr: null, loss: 0.2, stderr: 0.001 },
      { run: 'f', lr: 0.04, loss: 0.24, stderr: null },
      { run: 'g', lr: 0.05, loss: 0.25, stderr: 0.001, flags: ['too_short'] },
    ];
    const fit = fitSweep(pts);
    const byRun = Object.fromEntries(fit.points.map((p) => [p.run, p]));
    assert.deepEqual(['a', 'b', 'c'].map((r) => byRun[r].used_in_fit), [true, true, true]);
    assert.equal(byRun.d.excluded_reason, 'diverged');
    assert.equal(byRun.e.excluded_reason, 'no learning rate');
    assert.match(byRun.f.excluded_reason as string, /no standard error/);
    assert.equal(byRun.g.excluded_reason, 'too_short');
    closeRel(fit.slope as number, 1, 1e-10, 'slope');
  });

  it('falls back to OLS with residual variance and t degrees of freedom when no point has an SE', () => {
    const rng = new Rng(9);
    const pts = LRS.map((lr, i) => ({ run: `r${i}`, lr, loss: 0.2 + 0.45 * lr + 1e-4 * rng.normal(), stderr: null }));
    const fit = fitSweep(pts);
    assert.equal(fit.method, 'ols');
    assert.equal(fit.slope_dof, 3);
    assert.equal(fit.chi2, null);
    assert.ok(Math.abs((fit.slope as number) - 0.45) < 5 * (fit.slope_stderr as number));
  });

  it('returns method none with a reason when fewer than two learning rates are usable', () => {
    const fit = fitSweep([{ run: 'a', lr: 0.01, loss: 0.2, stderr: 0.001 }]);
    assert.equal(fit.method, 'none');
    assert.equal(fit.slope, null);
    assert.match(fit.notes.join(' '), /too few/);
  });
});
