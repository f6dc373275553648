/**
 * Slope of the loss measured *without* the L2 penalty while the optimiser steps with weight decay
 * (THEORY.md §2: ¼ tr[H(H+λI)⁻¹Σ_B] for SGD), generalised to a fixed diagonal preconditioner P and to
 * decoupled decay. Linearised at the stationary point, e' = e − η(P(H + λD)) e − η P ξ̂ with D = I
 * (coupled: λ is added to the gradient before preconditioning) or D = P⁻¹ (decoupled, AdamW). With
 * e = P^{1/2} f this is a symmetric recursion with M = P^{1/2}(H + λD)P^{1/2}; its stationary
 * covariance solves M F + F M = η P^{1/2} Σ_B P^{1/2} at leading order, and
 *   L_data − L_data* = ½ tr(H E[eeᵀ]) = ½ tr(P^{1/2}HP^{1/2} F).
 * In M's eigenbasis F̃_ij = η C̃_ij/(μ_i + μ_j), so the slope per unit η is ½ Σ_ij G̃_ij C̃_ij/(μ_i + μ_j).
 * For P = I and coupled decay this is exactly ¼ tr[H(H+λI)⁻¹Σ_B]. Cost O(P³).
 */
import { matmul, squareSide, transpose } from '../linalg/dense';
import { symmetricEigen } from '../linalg/symmetric-eigen';

export interface PenaltyExcludedOptions {
  /** Diagonal of a fixed preconditioner (Adam: 1/(√v_i + ε)); identity when absent. */
  precond?: Float64Array;
  decoupled?: boolean;
}

/**
 * @param hessian Hessian of the measured (data) loss, P×P row-major.
 * @param sigmaB minibatch gradient covariance Σ_B (P×P).
 * @returns slope dL_data/dη at η → 0 for plain SGD (multiply by the momentum factor for momentum).
 */
export function penaltyExcludedSlope(hessian: Float64Array, sigmaB: Float64Array, lambda: number, opts: PenaltyExcludedOptions = {}): number {
  const p = squareSide(hessian, 'Hessian');
  if (sigmaB.length !== p * p) throw new Error(`Σ_B has ${sigmaB.length} entries, expected ${p * p}`);
  const sq = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    const pi = opts.precond ? opts.precond[i] : 1;
    if (!(pi > 0)) throw new Error(`preconditioner entry ${i} is not positive`);
    sq[i] = Math.sqrt(pi);
  }
  const G = new Float64Array(p * p);
  const C = new Float64Array(p * p);
  const M = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      const s = sq[i] * sq[j];
      G[i * p + j] = s * hessian[i * p + j];
      C[i * p + j] = s * sigmaB[i * p + j];
      M[i * p + j] = G[i * p + j];
    }
    // Coupled: P^{1/2}(λI)P^{1/2} = λP; decoupled: λI.
    M[i * p + i] += lambda * (opts.decoupled ? 1 : sq[i] * sq[i]);
  }
  const eig = symmetricEigen(M, p);
  const Q = eig.vectors;
  const Qt = transpose(Q, p, p);
  const Gt = matmul(matmul(Qt, G, p, p, p), Q, p, p, p);
  const Ct = matmul(matmul(Qt, C, p, p, p), Q, p, p, p);
  let s = 0;
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      const denom = eig.values[i] + eig.values[j];
      if (denom <= 0) {
        if (Ct[i * p + j] !== 0 && Gt[i * p + j] !== 0) return Number.POSITIVE_INFINITY;
        continue;
      }
      s += (Gt[i * p + j] * Ct[i * p + j]) / denom;
    }
  }
  return 0.5 * s;
}
