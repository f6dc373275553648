/**
 * The quadratic model with multiplicative noise that the finite-η solve works on (THEORY.md §4, §6):
 * near Φ* the minibatch gradient is ĝ = Â e + ξ̂ with e = Φ − Φ*, Â the batch mean of the per-example
 * Hessians A_b (plus λI for coupled weight decay) and ξ̂ the batch mean of g_b − ḡ.
 *
 * Everything the second-moment solve needs from the batch is two moments (batch of B examples):
 *   E[Â X Â] = c1 · mean_b A_b X A_b + c2 · H X H,     E[ξ̂ ξ̂ᵀ] = f · Σ.
 * i.i.d. indices:                c1 = 1/B, c2 = 1 − 1/B, f = 1/B.
 * B distinct examples out of N:  with P(b in batch) = B/N and P(b, b' both) = B(B−1)/(N(N−1)),
 *   c1 = 1/B − (B−1)/(B(N−1)),  c2 = (B−1)N/(B(N−1)),  f = (N−B)/(B(N−1))   (c1 + c2 = 1).
 * Cross moments E[Â X ξ̂ᵀ] never enter: the state is independent of the next batch and has mean 0.
 *
 * Σ is the population covariance of the per-example gradients (the mean is subtracted, so a checkpoint
 * slightly off the optimum, or coupled weight decay where ḡ = −λΦ*, is handled as THEORY.md §2 says).
 */
import { rowCovariance } from '../linalg/dense';
import type { SgdDynamics } from './types';

/** Batch-moment coefficients of the sampling scheme (see the file comment). */
export interface BatchMoments {
  perExampleWeight: number;
  meanWeight: number;
  noiseFactor: number;
}

export function batchMoments(dyn: Pick<SgdDynamics, 'batchSize' | 'sampling' | 'datasetSize'>): BatchMoments {
  const B = dyn.batchSize;
  if (dyn.sampling === 'with_replacement') return { perExampleWeight: 1 / B, meanWeight: 1 - 1 / B, noiseFactor: 1 / B };
  const N = dyn.datasetSize;
  if (N === null || !(N >= B)) throw new Error(`batchMoments: sampling without replacement needs a dataset size N ≥ B (N = ${N}, B = ${B})`);
  if (N === 1) return { perExampleWeight: 1, meanWeight: 0, noiseFactor: 0 };
  return {
    perExampleWeight: 1 / B - (B - 1) / (B * (N - 1)),
    meanWeight: ((B - 1) * N) / (B * (N - 1)),
    noiseFactor: (N - B) / (B * (N - 1)),
  };
}

/** A k-dimensional quadratic model: every matrix k×k row-major, in one fixed orthonormal basis. */
export interface QuadraticNoiseModel {
  k: number;
  /** Mean data Hessian H = mean_b A_b (without weight decay). */
  hessian: Float64Array;
  /** mean_b A_b ⊗ A_b as k²×k²: entry [(i·k + j)·k² + l·k + m] = mean_b A_b[i,l]·A_b[m,j]. */
  curvatureFourth: Float64Array;
  /** Σ: population covariance of the per-example gradients. */
  noiseCov: Float64Array;
}

/**
 * The model in the first `keep` directions of a subspace: per-example curvature n×k×k and gradient
 * projections n×k (SubspaceCurvature layout), restricted to indices 0..keep−1.
 */
export function subspaceModel(perExampleCurvature: Float64Array, perExampleGradProj: Float64Array, n: number, k: number, keep: number): QuadraticNoiseModel {
  if (perExampleCurvature.length !== n * k * k) throw new Error(`subspaceModel: expected ${n}×${k}×${k} curvature entries, got ${perExampleCurvature.length}`);
  if (perExampleGradProj.length !== n * k) throw new Error(`subspaceModel: expected ${n}×${k} gradient projections, got ${perExampleGradProj.length}`);
  const q = keep;
  const hessian = new Float64Array(q * q);
  const fourth = new Float64Array(q * q * q * q);
  const a = new Float64Array(q * q);
  const grads = new Float64Array(n * q);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < q; i++) {
      grads[b * q + i] = perExampleGradProj[b * k + i];
      for (let j = 0; j < q; j++) a[i * q + j] = perExampleCurvature[b * k * k + i * k + j];
    }
    for (let i = 0; i < q * q; i++) hessian[i] += a[i] / n;
    accumulateKron(fourth, a, q, 1 / n);
  }
  return { k: q, hessian, curvatureFourth: fourth, noiseCov: rowCovariance(grads, n, q).cov };
}

/** out[(i·k + j)·k² + l·k + m] += w · a[i,l] · a[m,j]. */
function accumulateKron(out: Float64Array, a: Float64Array, k: number, w: number): void {
  const k2 = k * k;
  for (let i = 0; i < k; i++) {
    for (let l = 0; l < k; l++) {
      const ail = w * a[i * k + l];
      if (ail === 0) continue;
      for (let j = 0; j < k; j++) {
        const row = (i * k + j) * k2 + l * k;
        for (let m = 0; m < k; m++) out[row + m] += ail * a[m * k + j];
      }
    }
  }
}

/**
 * One direction with curvature h and noise variance σ² and no curvature noise (every A_b = h): the
 * "additive" model of THEORY.md §6, solved by the same machinery as the full model.
 */
export function additiveDirectionModel(h: number, noiseVariance: number): QuadraticNoiseModel {
  return { k: 1, hessian: Float64Array.of(h), curvatureFourth: Float64Array.of(h * h), noiseCov: Float64Array.of(noiseVariance) };
}
