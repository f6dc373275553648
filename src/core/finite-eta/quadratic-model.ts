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
  /**
   * Fourth moments of the per-example curvature as a Gram matrix over the k(k+1)/2 distinct entries
   * of the symmetric A_b: [pairIndex(i,l)·r + pairIndex(m,j)] = mean_b A_b[i,l]·A_b[m,j], r = k(k+1)/2
   * (N·r²/2 work instead of N·k⁴ for mean_b A_b ⊗ A_b).
   */
  curvatureGram: Float64Array;
  /** Σ: population covariance of the per-example gradients. */
  noiseCov: Float64Array;
}

/** Index of the unordered pair {i, j} among the k(k+1)/2 entries i ≤ j, row by row. */
export function pairIndex(i: number, j: number, k: number): number {
  const a = Math.min(i, j);
  const b = Math.max(i, j);
  return a * k - (a * (a - 1)) / 2 + (b - a);
}

/** mean_b A_b[i,l]·A_b[m,j]. */
export function curvatureMoment(model: QuadraticNoiseModel, i: number, l: number, m: number, j: number): number {
  const r = (model.k * (model.k + 1)) / 2;
  return model.curvatureGram[pairIndex(i, l, model.k) * r + pairIndex(m, j, model.k)];
}

/**
 * The model in the first `keep` directions of a subspace: per-example curvature n×k×k and gradient
 * projections n×k (SubspaceCurvature layout), restricted to indices 0..keep−1.
 */
export function subspaceModel(perExampleCurvature: Float64Array, perExampleGradProj: Float64Array, n: number, k: number, keep: number): QuadraticNoiseModel {
  if (perExampleCurvature.length !== n * k * k) throw new Error(`subspaceModel: expected ${n}×${k}×${k} curvature entries, got ${perExampleCurvature.length}`);
  if (perExampleGradProj.length !== n * k) throw new Error(`subspaceModel: expected ${n}×${k} gradient projections, got ${perExampleGradProj.length}`);
  const q = keep;
  const r = (q * (q + 1)) / 2;
  const hessian = new Float64Array(q * q);
  const gram = new Float64Array(r * r);
  const entries = new Float64Array(r);
  const grads = new Float64Array(n * q);
  for (let b = 0; b < n; b++) {
    const base = b * k * k;
    for (let i = 0; i < q; i++) {
      grads[b * q + i] = perExampleGradProj[b * k + i];
      for (let j = 0; j < q; j++) hessian[i * q + j] += perExampleCurvature[base + i * k + j] / n;
      // Symmetrised, so a producer's round-off asymmetry does not depend on which triangle is read.
      for (let j = i; j < q; j++) entries[pairIndex(i, j, q)] = 0.5 * (perExampleCurvature[base + i * k + j] + perExampleCurvature[base + j * k + i]);
    }
    for (let u = 0; u < r; u++) {
      const eu = entries[u] / n;
      if (eu === 0) continue;
      const row = u * r;
      for (let v = u; v < r; v++) gram[row + v] += eu * entries[v];
    }
  }
  for (let u = 0; u < r; u++) for (let v = u + 1; v < r; v++) gram[v * r + u] = gram[u * r + v];
  return { k: q, hessian, curvatureGram: gram, noiseCov: rowCovariance(grads, n, q).cov };
}

/**
 * One direction with curvature h and noise variance σ² and no curvature noise (every A_b = h): the
 * "additive" model of THEORY.md §6, solved by the same machinery as the full model.
 */
export function additiveDirectionModel(h: number, noiseVariance: number): QuadraticNoiseModel {
  return { k: 1, hessian: Float64Array.of(h), curvatureGram: Float64Array.of(h * h), noiseCov: Float64Array.of(noiseVariance) };
}
