/**
 * SubspaceCurvature inputs for the finite-η tests, built by naive loops from least-squares problems
 * (THEORY.md §4) the way a producer reports them: in the eigenbasis V of the data Hessian (k = P),
 * A_b = Vᵀ x_b x_bᵀ V, g_b = Vᵀ(A_b w* − x_b y_b), the data gradient at the optimum of the loss SGD
 * steps on (with ½λ‖w‖² when λ > 0, so the mean gradient is −λw*).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { SgdDynamics, SubspaceCurvature } from '../../../src/core/finite-eta/types';
import { lsqStats, type LsqProblem } from '../../support/oracle/lsq-problem';

export function leastSquaresCurvature(p: LsqProblem, weightDecay = 0): SubspaceCurvature {
  const s = lsqStats(p, weightDecay);
  const n = s.n;
  const k = s.d;
  const eig = new EigenvalueDecomposition(new Matrix(s.Hdata), { assumeSymmetric: true });
  const order = eig.realEigenvalues.map((_, i) => i).sort((a, b) => eig.realEigenvalues[b] - eig.realEigenvalues[a]);
  const basis = order.map((c) => eig.eigenvectorMatrix.getColumn(c));
  const project = (v: number[]): number[] => basis.map((u) => u.reduce((a, ui, i) => a + ui * v[i], 0));
  const curvature = new Float64Array(n * k * k);
  const grads = new Float64Array(n * k);
  const mean = new Array<number>(k).fill(0);
  let meanSqNorm = 0;
  p.X.forEach((x, b) => {
    const xv = project(x);
    const gv = project(s.gData[b]);
    for (let i = 0; i < k; i++) {
      grads[b * k + i] = gv[i];
      mean[i] += gv[i] / n;
      meanSqNorm += gv[i] ** 2 / n;
      for (let j = 0; j < k; j++) curvature[(b * k + i) * k + j] = xv[i] * xv[j];
    }
  });
  const meanGradSqNorm = mean.reduce((a, v) => a + v * v, 0);
  return {
    parameters: k,
    k,
    n,
    eigenvalues: order.map((c) => eig.realEigenvalues[c]),
    residuals: new Array<number>(k).fill(0),
    converged: true,
    perExampleCurvature: curvature,
    perExampleGradProj: grads,
    traceCovTotal: meanSqNorm - meanGradSqNorm,
    meanGradSqNorm,
    meanSqNorm,
    method: 'dense_eigen',
    hvp: 'exact_float64',
    costGradientPasses: null,
    seconds: null,
    notes: [],
  };
}

export function sgd(over: Partial<SgdDynamics> = {}): SgdDynamics {
  return { batchSize: 1, sampling: 'with_replacement', datasetSize: null, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...over };
}

export function relClose(a: number, b: number, tol: number, what: string): void {
  if (!(Math.abs(a - b) <= tol * Math.abs(b))) throw new Error(`${what}: ${a} vs ${b} (relative error ${(Math.abs(a - b) / Math.abs(b)).toExponential(2)} > ${tol})`);
}
