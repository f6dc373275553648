/**
 * The two simpler forms the finite-η curve is compared with (THEORY.md §2, §6).
 *
 * Linear law: L(η) − L* = η · f · tr Σ / 4 · (1−d)/(1−β)   (f = 1/B i.i.d., (N−B)/(B(N−1)) without
 * replacement; Nesterov has the heavy-ball factor at first order).
 *
 * Additive, per eigen-direction: each Hessian direction i with curvature h_i and noise variance σ_i²
 * evolves on its own with the curvature noise dropped (every A_b replaced by h_i). For SGD this is
 *   η · Σ_i f σ_i² / (4 (1 − η h_i / 2)),
 * for heavy ball (d = 0) η f σ_i² / (4(1−β)(1 − η h_i / (2(1+β)))); in general (Nesterov, dampening,
 * weight decay, loss without the penalty) it is the 1-dimensional stationary second moment of the same
 * linear recursion as the full model, so every optimiser gets the form without a separate formula.
 */
import { additiveDirectionModel, type BatchMoments } from './quadratic-model';
import { deterministicLimit } from './limits';
import { secondMomentProblem, stationarySecondMoment, type MomentumSetting } from './second-moment';

/** (1−d)/(1−β): the leading-order momentum factor (1 for plain SGD, where PyTorch ignores d). */
export function momentumFactor(m: MomentumSetting): number {
  if (m.momentum === 0 && !m.nesterov) return 1;
  return (1 - m.dampening) / (1 - m.momentum);
}

/** Slope of the linear law, dL/dη at η = 0, for a total noise trace tr Σ. */
export function linearSlope(traceCov: number, moments: BatchMoments, m: MomentumSetting): number {
  return (moments.noiseFactor * traceCov * momentumFactor(m)) / 4;
}

export interface NoisyDirection {
  /** Data curvature h_i along the direction (without weight decay). */
  curvature: number;
  /** σ_i²: variance of the per-example gradient along the direction. */
  noiseVariance: number;
}

export interface AdditiveSetting {
  moments: BatchMoments;
  momentum: MomentumSetting;
  weightDecay: number;
  lossIncludesPenalty: boolean;
}

/** Additive form summed over the directions; null at or beyond any direction's deterministic limit. */
export function additiveExcess(directions: NoisyDirection[], s: AdditiveSetting, eta: number): number | null {
  let total = 0;
  for (const dir of directions) {
    const limit = deterministicLimit(dir.curvature, s.momentum, s.weightDecay);
    if (limit === null || !(eta < limit)) return null;
    const p = secondMomentProblem(additiveDirectionModel(dir.curvature, dir.noiseVariance), s.moments, s.weightDecay, s.lossIncludesPenalty);
    const z = stationarySecondMoment(p, s.momentum, eta);
    if (z === null) return null;
    total += z.excess;
  }
  return total;
}
