/**
 * The exact least-squares oracle (test/support/oracle) reproduces every golden number of THEORY.md §4.1.
 * Tolerance: the golden figures are given to 10 significant digits, so 1e-9 relative (the
 * full-precision ones, H, w*, L*, Σ, tr Σ, slope, stability, to 1e-12).
 */
import { strict as assert } from 'node:assert';
import { meanSquareStabilityLimit, oracleExcess, oracleSlope, type OracleSetup } from '../../support/oracle/lsq-oracle';
import { GOLDEN_PROBLEM, lsqStats } from '../../support/oracle/lsq-problem';
import { Matrix, EigenvalueDecomposition } from 'ml-matrix';

function rel(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.abs(b), `${what}: ${a} vs ${b} (rel ${(Math.abs(a - b) / Math.abs(b)).toExponential(2)} > ${tol})`);
}

const TABLE: { name: string; setup: OracleSetup; values: [number, number, number] }[] = [
  { name: 'SGD B=1', setup: { batchSize: 1, sampling: 'with_replacement' }, values: [4.444335984e-4, 4.538075153e-3, 2.503393153e-2] },
  { name: 'SGD B=2 with replacement', setup: { batchSize: 2, sampling: 'with_replacement' }, values: [2.220932938e-4, 2.256236372e-3, 1.213847548e-2] },
  { name: 'SGD B=2 without replacement', setup: { batchSize: 2, sampling: 'without_replacement' }, values: [1.776548873e-4, 1.802954723e-3, 9.652399134e-3] },
  { name: 'heavy ball β=0.9', setup: { batchSize: 1, sampling: 'with_replacement', momentum: 0.9 }, values: [4.486763458e-3, 5.024795914e-2, 5.350553036e-1] },
  { name: 'Nesterov β=0.9', setup: { batchSize: 1, sampling: 'with_replacement', momentum: 0.9, nesterov: true }, values: [4.411360885e-3, 4.256065211e-2, 2.135246731e-1] },
  { name: 'SGD weight_decay 0.1, regularised loss', setup: { batchSize: 1, sampling: 'with_replacement', weightDecay: 0.1 }, values: [4.375001387e-4, 4.467782903e-3, 2.465895848e-2] },
];

describe('least-squares oracle: THEORY.md §4.1 golden numbers', () => {
  it('optimum, Hessian, Σ, tr Σ, L* (tol 1e-12)', () => {
    const s = lsqStats(GOLDEN_PROBLEM);
    rel(s.H[0][0], 4 / 3, 1e-12, 'H00');
    rel(s.H[0][1], -5 / 6, 1e-12, 'H01');
    rel(s.H[1][1], 11 / 6, 1e-12, 'H11');
    rel(s.wStar[0], 7 / 9, 1e-12, 'w*0');
    rel(s.wStar[1], 13 / 9, 1e-12, 'w*1');
    rel(s.Lstar, 0.20370370370370372, 1e-12, 'L*');
    rel(s.Sigma[0][0], 0.3621399176954732, 1e-12, 'Σ00');
    rel(s.Sigma[0][1], -0.6707818930041153, 1e-12, 'Σ01');
    rel(s.Sigma[1][1], 1.411522633744856, 1e-12, 'Σ11');
    rel(s.Sigma[0][0] + s.Sigma[1][1], 1.7736625514403292, 1e-12, 'tr Σ');
    const lmax = Math.max(...new EigenvalueDecomposition(new Matrix(s.H)).realEigenvalues);
    rel(2 / lmax, 0.8152089039132809, 1e-12, '2/λmax');
  });

  for (const row of TABLE) {
    it(`${row.name}: L(η) − L* at η = 0.001 / 0.01 / 0.05 (tol 1e-9)`, () => {
      [0.001, 0.01, 0.05].forEach((eta, i) => rel(oracleExcess(GOLDEN_PROBLEM, row.setup, eta).excess, row.values[i], 1e-9, `η=${eta}`));
    });
  }

  it('slope at η → 0 is tr Σ/4 = 0.4434156378600823 for B = 1 (Richardson on exact secants; tol 1e-9)', () => {
    rel(oracleSlope(GOLDEN_PROBLEM, { batchSize: 1, sampling: 'with_replacement' }), 0.4434156378600823, 1e-9, 'slope');
  });

  it('mean-square stability limit η_MS(B=1) = 0.44551099786453296 (bisection on the spectral radius; tol 1e-10)', () => {
    rel(meanSquareStabilityLimit(GOLDEN_PROBLEM, { batchSize: 1, sampling: 'with_replacement' }, 1), 0.44551099786453296, 1e-10, 'η_MS');
  });
});
