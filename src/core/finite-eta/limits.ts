/**
 * Learning-rate limits of the finite-η prediction (THEORY.md §4, §4.1).
 *
 * Deterministic: the mean E z follows the noiseless recursion, which diverges along the sharpest
 * direction at 2/λ_max (with the momentum / Nesterov / weight-decay factors of `stability.ts`).
 * Mean-square: the second moment diverges where the spectral radius of T(Z) = E[J Z Jᵀ] reaches 1.
 * Since E[J⊗J] dominates E[J]⊗E[J] as a positive map, ρ(T) ≥ ρ(E J)², so the mean-square limit is at
 * most the deterministic one (golden B = 1: 0.4455 against 0.8152). Stability is monotone in η on the
 * bracket [0, deterministic limit], found by bisection on the Lyapunov test of `isMeanSquareStable`.
 */
import { largestEigenvalue } from '../linalg/symmetric-eigen';
import { stabilityLimitFromEigenvalue } from '../theory/stability';
import { isMeanSquareStable, type MomentumSetting, type SecondMomentProblem } from './second-moment';

/** 2/λ_max with the optimiser's factors; null when λ_max + weight decay ≤ 0. */
export function deterministicLimit(lambdaMax: number, m: MomentumSetting, weightDecay: number): number | null {
  return stabilityLimitFromEigenvalue(lambdaMax, { momentum: m.momentum, dampening: m.dampening, nesterov: m.nesterov, weightDecay });
}

/** Relative width at which the bisection stops. */
const BISECTION_RELATIVE_WIDTH = 1e-10;

/**
 * Smallest η > 0 where the stationary second moment of the model diverges; null when no η > 0 is
 * stable (the stepped Hessian is not positive definite) or the deterministic limit does not exist.
 */
export function meanSquareLimit(p: SecondMomentProblem, m: MomentumSetting): number | null {
  // The stepped Hessian already includes the weight decay, so the factors get λ = 0 here.
  const upper = deterministicLimit(largestEigenvalue(p.steppedHessian, p.k), m, 0);
  if (upper === null) return null;
  let hi = upper;
  // Round-off can leave the exact deterministic limit marginally stable; widen until it is not.
  for (let i = 0; i < 60 && isMeanSquareStable(p, m, hi); i++) hi *= 1 + 1e-6 * 2 ** i;
  if (isMeanSquareStable(p, m, hi)) return null;
  let lo = 0;
  if (!isMeanSquareStable(p, m, hi * 1e-9)) return null;
  while (hi - lo > BISECTION_RELATIVE_WIDTH * hi) {
    const mid = 0.5 * (lo + hi);
    if (isMeanSquareStable(p, m, mid)) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
