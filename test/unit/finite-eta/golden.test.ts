/**
 * finiteEtaPrediction on the golden least-squares problem of THEORY.md §4.1 (k = P = 2, exact for a
 * quadratic). Oracle: the §4.1 table, given to 10 significant digits, so relative 1e-9 (its rounding is
 * ≤ 1.2e-10 relative); the full-precision limits to 1e-10 (SGD: exact 1/μ_max of the spectral form; the
 * generic bisection, width 1e-10, to 1e-9).
 */
import { strict as assert } from 'node:assert';
import { batchMoments, excessAt, finiteEtaPrediction, meanSquareLimit, secondMomentProblem, subspaceModel } from '../../../src/core/finite-eta';
import type { SgdDynamics } from '../../../src/core/finite-eta/types';
import { GOLDEN_PROBLEM } from '../../support/oracle/lsq-problem';
import { leastSquaresCurvature, relClose, sgd } from './curvature-fixtures';

const ETAS = [0.001, 0.01, 0.05];
const TRACE_COV = 1.7736625514403292;

const TABLE: { name: string; dyn: SgdDynamics; penalty?: boolean; values: number[] }[] = [
  { name: 'SGD B=1', dyn: sgd(), values: [4.444335984e-4, 4.538075153e-3, 2.503393153e-2] },
  { name: 'SGD B=2 with replacement', dyn: sgd({ batchSize: 2 }), values: [2.220932938e-4, 2.256236372e-3, 1.213847548e-2] },
  { name: 'SGD B=2 without replacement', dyn: sgd({ batchSize: 2, sampling: 'without_replacement', datasetSize: 6 }), values: [1.776548873e-4, 1.802954723e-3, 9.652399134e-3] },
  { name: 'heavy ball β=0.9', dyn: sgd({ momentum: 0.9 }), values: [4.486763458e-3, 5.024795914e-2, 5.350553036e-1] },
  { name: 'Nesterov β=0.9', dyn: sgd({ momentum: 0.9, nesterov: true }), values: [4.411360885e-3, 4.256065211e-2, 2.135246731e-1] },
  { name: 'SGD weight_decay 0.1, regularised loss', dyn: sgd({ weightDecay: 0.1 }), penalty: true, values: [4.375001387e-4, 4.467782903e-3, 2.465895848e-2] },
];

describe('finite-η prediction: THEORY.md §4.1 golden numbers', () => {
  for (const row of TABLE) {
    it(`${row.name}: L(η) − L* at η = 0.001 / 0.01 / 0.05 on the curve (tol 1e-9)`, () => {
      const c = leastSquaresCurvature(GOLDEN_PROBLEM, row.dyn.weightDecay);
      const fe = finiteEtaPrediction(c, row.dyn, { lrs: ETAS, lossIncludesPenalty: row.penalty ?? false });
      assert.equal(fe.status, 'ok', fe.message);
      assert.equal(fe.form, 'second_moment_full');
      assert.equal(fe.directions, 2);
      ETAS.forEach((eta, i) => {
        const at = fe.curve!.lr.indexOf(eta);
        assert.ok(at >= 0, `η = ${eta} on the curve`);
        relClose(fe.curve!.excess[at], row.values[i], 1e-9, `${row.name} η=${eta}`);
        relClose(excessAt(fe, eta)!, row.values[i], 1e-9, `excessAt η=${eta}`);
      });
    });
  }

  it('limits: mean-square 0.44551099786453296 and deterministic 2/λ_max = 0.8152089039132809 for B = 1 (tol 1e-10)', () => {
    const fe = finiteEtaPrediction(leastSquaresCurvature(GOLDEN_PROBLEM), sgd());
    relClose(fe.limits.mean_square!, 0.44551099786453296, 1e-10, 'η_MS');
    relClose(fe.limits.deterministic!, 0.8152089039132809, 1e-10, '2/λ_max');
    assert.ok(Math.max(...fe.curve!.lr) <= 0.9 * fe.limits.mean_square! * (1 + 1e-12));
  });

  it('the generic mean-square bisection (used with momentum) agrees with the SGD spectral limit (tol 1e-9)', () => {
    const c = leastSquaresCurvature(GOLDEN_PROBLEM);
    const p = secondMomentProblem(subspaceModel(c.perExampleCurvature, c.perExampleGradProj, c.n, 2, 2), batchMoments(sgd()), 0, false);
    relClose(meanSquareLimit(p, sgd())!, 0.44551099786453296, 1e-9, 'η_MS by bisection');
  });

  it('mean-square limit ≤ deterministic limit for every row (momentum included)', () => {
    for (const row of TABLE) {
      const fe = finiteEtaPrediction(leastSquaresCurvature(GOLDEN_PROBLEM, row.dyn.weightDecay), row.dyn);
      assert.ok(fe.limits.mean_square! > 0 && fe.limits.mean_square! <= fe.limits.deterministic!, `${row.name}: ${fe.limits.mean_square} vs ${fe.limits.deterministic}`);
    }
  });

  // Oracle: THEORY.md §2 leading-order slopes; (L(η) − L*)/η = s + O(η), so at η = 1e-7 relative 1e-5.
  const slopes: { name: string; dyn: SgdDynamics; slope: number }[] = [
    { name: 'B=1: tr Σ/4', dyn: sgd(), slope: TRACE_COV / 4 },
    { name: 'B=2 i.i.d.: tr Σ/8', dyn: sgd({ batchSize: 2 }), slope: TRACE_COV / 8 },
    { name: 'B=2 distinct of N=6: tr Σ·(N−B)/(4B(N−1))', dyn: sgd({ batchSize: 2, sampling: 'without_replacement', datasetSize: 6 }), slope: (TRACE_COV * 4) / (4 * 2 * 5) },
    { name: 'heavy ball β=0.9: tr Σ/(4(1−β))', dyn: sgd({ momentum: 0.9 }), slope: TRACE_COV / (4 * 0.1) },
    { name: 'heavy ball β=0.9, d=0.5: tr Σ(1−d)/(4(1−β))', dyn: sgd({ momentum: 0.9, dampening: 0.5 }), slope: (TRACE_COV * 0.5) / (4 * 0.1) },
    { name: 'Nesterov β=0.9: tr Σ/(4(1−β))', dyn: sgd({ momentum: 0.9, nesterov: true }), slope: TRACE_COV / (4 * 0.1) },
  ];
  for (const row of slopes) {
    it(`slope as η → 0, ${row.name} (secant at η = 1e-7, tol 1e-5)`, () => {
      const fe = finiteEtaPrediction(leastSquaresCurvature(GOLDEN_PROBLEM), row.dyn, { lrs: [1e-7] });
      const at = fe.curve!.lr.indexOf(1e-7);
      relClose(fe.curve!.excess[at] / 1e-7, row.slope, 1e-5, 'secant');
      relClose(fe.curve!.linear[at] / 1e-7, row.slope, 1e-12, 'linear law');
    });
  }
});
