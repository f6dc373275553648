/**
 * finiteEtaPrediction's statuses, the subspace form (directions outside V at leading order), the curve
 * grid and excessAt. Oracles: the §4.1 golden numbers plus the exact leading-order share written out
 * here (tol 1e-9, the table's digits), and the status rules of the result schema.
 */
import { strict as assert } from 'node:assert';
import { excessAt, finiteEtaPrediction } from '../../../src/core/finite-eta';
import type { SubspaceCurvature } from '../../../src/core/finite-eta/types';
import { GOLDEN_PROBLEM } from '../../support/oracle/lsq-problem';
import { leastSquaresCurvature, relClose, sgd } from './curvature-fixtures';

const GOLDEN_B1 = [4.444335984e-4, 4.538075153e-3, 2.503393153e-2];
const ETAS = [0.001, 0.01, 0.05];

/** The golden problem plus a third, flat direction (A_b = 0 there) whose gradients scatter with variance 0.36. */
function withFlatDirection(): { c: SubspaceCurvature; flatVariance: number } {
  const g = leastSquaresCurvature(GOLDEN_PROBLEM);
  const n = g.n;
  const extra = [0.9, -0.3, 0.1, -0.6, 0.5, -0.6];
  const mean = extra.reduce((a, v) => a + v, 0) / n;
  const flatVariance = extra.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
  const curvature = new Float64Array(n * 9);
  const grads = new Float64Array(n * 3);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < 2; i++) {
      grads[b * 3 + i] = g.perExampleGradProj[b * 2 + i];
      for (let j = 0; j < 2; j++) curvature[b * 9 + i * 3 + j] = g.perExampleCurvature[b * 4 + i * 2 + j];
    }
    grads[b * 3 + 2] = extra[b];
  }
  const c: SubspaceCurvature = {
    ...g,
    parameters: 3,
    k: 3,
    eigenvalues: [...g.eigenvalues, 0],
    residuals: [0, 0, 0],
    perExampleCurvature: curvature,
    perExampleGradProj: grads,
    traceCovTotal: g.traceCovTotal + flatVariance,
    meanGradSqNorm: g.meanGradSqNorm + mean * mean,
    meanSqNorm: g.meanSqNorm + extra.reduce((a, v) => a + v * v, 0) / n,
  };
  return { c, flatVariance };
}

describe('finite-η prediction: statuses, subspace form, grid', () => {
  it('not_converged: residuals reported, no limits, no curve', () => {
    const c = { ...leastSquaresCurvature(GOLDEN_PROBLEM), converged: false, residuals: [1e-2, 0.3] };
    const fe = finiteEtaPrediction(c, sgd());
    assert.equal(fe.status, 'not_converged');
    assert.deepEqual(fe.eigenvalues.map((e) => e.residual), [1e-2, 0.3]);
    assert.deepEqual(fe.limits, { deterministic: null, mean_square: null });
    assert.equal(fe.curve, null);
    assert.match(fe.message, /3\.00e-1/);
  });

  it('not_near_minimum: a top eigenvalue below −tol·λ_1 (negative curvature named), no curve', () => {
    const g = leastSquaresCurvature(GOLDEN_PROBLEM);
    const fe = finiteEtaPrediction({ ...g, eigenvalues: [g.eigenvalues[0], -0.05 * g.eigenvalues[0]] }, sgd());
    assert.equal(fe.status, 'not_near_minimum');
    assert.match(fe.message, /negative curvature/);
    assert.doesNotMatch(fe.message, /stationary point/);
    assert.equal(fe.curve, null);
    assert.equal(fe.limits.mean_square, null);
  });

  it('not_near_minimum: ‖ḡ‖²/E‖g_b‖² > 0.1 (named with its value); both reasons together', () => {
    const g = leastSquaresCurvature(GOLDEN_PROBLEM);
    const far = { ...g, meanGradSqNorm: 0.25 * g.meanSqNorm };
    const fe = finiteEtaPrediction(far, sgd());
    assert.equal(fe.status, 'not_near_minimum');
    assert.match(fe.message, /stationary point: ‖ḡ‖²\/E‖g_b‖² = 0\.250/);
    const both = finiteEtaPrediction({ ...far, eigenvalues: [g.eigenvalues[0], -g.eigenvalues[0]] }, sgd());
    assert.match(both.message, /negative curvature.*stationary point/);
  });

  it('a tiny negative Ritz value within tolerance is not negative curvature; that direction goes to leading order', () => {
    const g = leastSquaresCurvature(GOLDEN_PROBLEM);
    const fe = finiteEtaPrediction({ ...g, eigenvalues: [g.eigenvalues[0], -1e-5 * g.eigenvalues[0]] }, sgd());
    assert.equal(fe.status, 'ok');
    assert.equal(fe.directions, 1);
    assert.equal(fe.form, 'second_moment_subspace');
  });

  it('coupled weight decay: the mean gradient −λΦ* is not taken for distance from the optimum (noted)', () => {
    const g = leastSquaresCurvature(GOLDEN_PROBLEM, 0.1);
    const fe = finiteEtaPrediction({ ...g, meanGradSqNorm: 0.5 * g.meanSqNorm }, sgd({ weightDecay: 0.1 }));
    assert.equal(fe.status, 'ok');
    assert.ok(fe.notes.some((n) => /not checked: with coupled weight decay/.test(n)));
  });

  it('unsupported dynamics: Nesterov with dampening, sampling without replacement with no N, momentum 1', () => {
    const g = leastSquaresCurvature(GOLDEN_PROBLEM);
    assert.equal(finiteEtaPrediction(g, sgd({ momentum: 0.9, dampening: 0.1, nesterov: true })).status, 'unsupported');
    assert.equal(finiteEtaPrediction(g, sgd({ batchSize: 2, sampling: 'without_replacement' })).status, 'unsupported');
    assert.equal(finiteEtaPrediction(g, sgd({ momentum: 1 })).status, 'unsupported');
  });

  it('subspace form: 4 more parameters with tr Σ 0.8 outside V add η·0.8/4 to the golden curve (tol 1e-9)', () => {
    const g = leastSquaresCurvature(GOLDEN_PROBLEM);
    const fe = finiteEtaPrediction({ ...g, parameters: 6, traceCovTotal: g.traceCovTotal + 0.8 }, sgd(), { lrs: ETAS });
    assert.equal(fe.form, 'second_moment_subspace');
    ETAS.forEach((eta, i) => relClose(excessAt(fe, eta)!, GOLDEN_B1[i] + (eta * 0.8) / 4, 1e-9, `η=${eta}`));
  });

  it('a flat direction inside V is left at leading order, η·σ²/4, and the limits are those of the sharp block (tol 1e-9)', () => {
    const { c, flatVariance } = withFlatDirection();
    const fe = finiteEtaPrediction(c, sgd(), { lrs: ETAS });
    assert.equal(fe.status, 'ok', fe.message);
    assert.equal(fe.directions, 2);
    relClose(fe.limits.mean_square!, 0.44551099786453296, 1e-10, 'η_MS');
    ETAS.forEach((eta, i) => relClose(excessAt(fe, eta)!, GOLDEN_B1[i] + (eta * flatVariance) / 4, 1e-9, `η=${eta}`));
  });

  it('grid: `points` evenly spaced up to 0.9·η_MS, requested lrs below the limit added, those above dropped', () => {
    const fe = finiteEtaPrediction(leastSquaresCurvature(GOLDEN_PROBLEM), sgd(), { points: 5, lrs: [0.123, 0.44, 0.5, -1] });
    const top = 0.9 * fe.limits.mean_square!;
    const expected = [1, 2, 3, 4, 5].map((i) => (top * i) / 5).concat([0.123, 0.44]).sort((a, b) => a - b);
    assert.deepEqual(fe.curve!.lr, expected);
    assert.equal(fe.curve!.excess.length, 7);
  });

  it('excessAt: 0 at η = 0, linear between grid points, null beyond the curve or without one', () => {
    const fe = finiteEtaPrediction(leastSquaresCurvature(GOLDEN_PROBLEM), sgd(), { points: 4 });
    const { lr, excess } = fe.curve!;
    assert.equal(excessAt(fe, 0), 0);
    relClose(excessAt(fe, lr[0] / 2)!, excess[0] / 2, 1e-14, 'below the first point');
    relClose(excessAt(fe, 0.25 * lr[1] + 0.75 * lr[2])!, 0.25 * excess[1] + 0.75 * excess[2], 1e-14, 'between points');
    assert.equal(excessAt(fe, lr[3] * 1.0001), null);
    assert.equal(excessAt({ ...fe, curve: null }, 0.01), null);
  });
});
