/**
 * Learning rate above which the deterministic part of the update diverges along the sharpest Hessian
 * direction (largest eigenvalue h). The predicted slope is a leading-order statement in η and is
 * meaningless beyond this limit (and already inaccurate well before it, THEORY.md §4.1: the
 * mean-square limit with noise is lower still, 0.4455 vs 0.8152 for the golden example).
 *
 * Per direction, the linear recursion's 2×2 companion matrix is stable iff (Jury criterion)
 *   SGD:                    η h < 2
 *   heavy ball (β, d):      η h (1−d) < 2(1+β)
 *   Nesterov (β, d):        η h (1 + 2β − βd) < 2(1+β)
 * (trace/determinant of [[1 − ηh·gain, −η·c_v], [(1−d)h, β]]; the test checks these against the
 * spectral radius computed numerically).
 */
import { squareSide } from '../linalg/dense';
import { largestEigenvalue } from '../linalg/symmetric-eigen';

export interface StabilityOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** Coupled L2 weight decay: the stepped Hessian is H + λI. */
  weightDecay?: number;
}

export function stabilityLimitFromEigenvalue(hMax: number, opts: StabilityOptions = {}): number | null {
  const h = hMax + (opts.weightDecay ?? 0);
  if (!(h > 0) || !Number.isFinite(h)) return null;
  const b = opts.momentum ?? 0;
  const d = opts.dampening ?? 0;
  if (opts.nesterov) return (2 * (1 + b)) / ((1 + 2 * b - b * d) * h);
  if (b > 0) return d >= 1 ? null : (2 * (1 + b)) / ((1 - d) * h);
  return 2 / h;
}

/** Stability limit from a full Hessian (P×P, row-major). Null when H has no positive eigenvalue. */
export function stabilityLimit(hessian: Float64Array, opts: StabilityOptions = {}): number | null {
  const n = squareSide(hessian, 'Hessian');
  return stabilityLimitFromEigenvalue(largestEigenvalue(hessian, n), opts);
}
