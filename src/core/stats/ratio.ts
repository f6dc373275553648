/**
 * Observed/predicted slope ratio with a 95% interval. The prediction is computed exactly on the loaded
 * dataset (no sampling error) unless the gradient statistics were subsampled; then Fieller's method
 * (Fieller 1954, "Some problems in interval estimation", JRSS B 16) accounts for both errors.
 */
import { criticalValue } from './distributions';

export interface SlopeRatio {
  ratio: number | null;
  /** Null when undefined (no positive prediction) or unbounded (Fieller with an uncertain denominator). */
  ci: [number, number] | null;
  method: 'exact_denominator' | 'fieller' | 'none';
  confidence: number;
  note: string;
}

/**
 * @param dof degrees of freedom of the observed slope's SE (t interval); normal when omitted.
 * @param predictedSe standard error of the prediction when it was estimated from a subsample.
 */
export function slopeRatioCi(observedSlope: number, observedSe: number, predictedSlope: number, dof?: number | null, predictedSe = 0, confidence = 0.95): SlopeRatio {
  const none = (note: string): SlopeRatio => ({ ratio: null, ci: null, method: 'none', confidence, note });
  if (![observedSlope, observedSe, predictedSlope].every(Number.isFinite)) return none('missing or non-finite input');
  if (predictedSlope <= 0) return none('the predicted slope is not positive');
  const c = criticalValue(confidence, dof ?? undefined);
  const ratio = observedSlope / predictedSlope;
  const tName = dof ? `t(${dof})` : 'normal';
  if (!(predictedSe > 0)) {
    const lo = (observedSlope - c * observedSe) / predictedSlope;
    const hi = (observedSlope + c * observedSe) / predictedSlope;
    return { ratio, ci: [lo, hi], method: 'exact_denominator', confidence, note: `(observed ± ${tName} quantile × SE) / predicted; the prediction is exact for the loaded data` };
  }
  // Fieller: the set of ρ with (s_o − ρ s_p)² ≤ c²(se_o² + ρ² se_p²), independent errors.
  const a = predictedSlope ** 2 - c * c * predictedSe ** 2;
  const b = -2 * observedSlope * predictedSlope;
  const q = observedSlope ** 2 - c * c * observedSe ** 2;
  const disc = b * b - 4 * a * q;
  if (a <= 0 || disc < 0) return { ratio, ci: null, method: 'fieller', confidence, note: 'the prediction is not significantly above zero: the Fieller interval is unbounded' };
  const r1 = (-b - Math.sqrt(disc)) / (2 * a);
  const r2 = (-b + Math.sqrt(disc)) / (2 * a);
  return { ratio, ci: [Math.min(r1, r2), Math.max(r1, r2)], method: 'fieller', confidence, note: `Fieller interval (${tName}) with the prediction's subsampling error` };
}
