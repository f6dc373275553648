/**
 * The fitted line L(η) = a + sη of a sweep and its pointwise 95% confidence band, for drawing.
 *
 * The band needs Var(a), Var(s) and Cov(a, s): Var(a + sη) = Var(a) + η²Var(s) + 2η·Cov(a, s)
 * (THEORY.md §5: weighted least squares of converged loss on η). When the result does not carry the
 * covariance, it is reconstructed from the points that were fitted: for weights w = 1/SE² the WLS
 * covariance is c·M⁻¹ with M = Σw[1 η; η η²], so M⁻¹ = [Σwη², −Σwη; −Σwη, Σw]/det and
 * Cov(a, s) = −Σwη · Var(s)/Σw. The scale c (1, or χ²/dof when the fitter rescaled) cancels. The
 * reconstruction is used only when Var(a) and Var(s) imply the same c (within 2%), i.e. when the fit
 * really was WLS on those points; otherwise no band is drawn and the reason says so. An intercept
 * with zero error (fixed at a known L*) has zero covariance with the slope.
 */
import type { Observed } from '../result/schema';
import { isFiniteNumber } from './format';

/** 95% two-sided normal quantile; the band is labelled "95% (normal approximation)". */
export const Z95 = 1.959963984540054;

export type Covariance =
  | { cov: number; source: 'reported' | 'reconstructed' }
  | { cov: null; reason: string };

export interface FitLine {
  intercept: number;
  slope: number;
  /** null when the band cannot be drawn; `bandReason` says why. */
  varIntercept: number | null;
  varSlope: number | null;
  cov: number | null;
  bandReason: string | null;
  covSource: 'reported' | 'reconstructed' | null;
}

const CONSISTENCY = 0.02;

export function slopeInterceptCovariance(observed: Observed): Covariance {
  if (isFiniteNumber(observed.slope_intercept_cov)) return { cov: observed.slope_intercept_cov, source: 'reported' };
  if (observed.fit.method !== 'wls_sweep') return { cov: null, reason: 'no covariance for this fit method' };
  const seA = observed.intercept_stderr;
  const seS = observed.slope_stderr;
  // An intercept with zero error was fixed (a known L*, THEORY.md §5): a constant covaries with nothing.
  if (seA === 0 && isFiniteNumber(seS)) return { cov: 0, source: 'reconstructed' };
  if (!isFiniteNumber(seA) || !isFiniteNumber(seS) || seA <= 0 || seS <= 0) {
    return { cov: null, reason: 'fit standard errors unknown' };
  }
  let sw = 0;
  let swx = 0;
  let swxx = 0;
  let used = 0;
  for (const p of observed.points) {
    if (!p.used_in_fit || !isFiniteNumber(p.lr) || !isFiniteNumber(p.stderr) || p.stderr <= 0) continue;
    const w = 1 / (p.stderr * p.stderr);
    sw += w;
    swx += w * p.lr;
    swxx += w * p.lr * p.lr;
    used++;
  }
  const det = sw * swxx - swx * swx;
  if (used < 2 || !(det > 0)) return { cov: null, reason: 'fewer than two fitted points with standard errors' };
  const cFromSlope = (seS * seS * det) / sw;
  const cFromIntercept = (seA * seA * det) / swxx;
  if (Math.abs(cFromSlope / cFromIntercept - 1) > CONSISTENCY) {
    return { cov: null, reason: 'slope/intercept errors are not those of a WLS fit on the shown points' };
  }
  return { cov: (-swx * seS * seS) / sw, source: 'reconstructed' };
}

/** The fitted line, or null (with the reason) when the result has no slope or intercept. */
export function fitLine(observed: Observed): FitLine | { reason: string } {
  if (!isFiniteNumber(observed.slope)) return { reason: 'no observed slope' };
  if (!isFiniteNumber(observed.intercept)) return { reason: 'no fitted intercept (not a sweep fit)' };
  const seA = observed.intercept_stderr;
  const seS = observed.slope_stderr;
  const c = slopeInterceptCovariance(observed);
  const haveSe = isFiniteNumber(seA) && isFiniteNumber(seS);
  const line: FitLine = {
    intercept: observed.intercept,
    slope: observed.slope,
    varIntercept: haveSe ? seA * seA : null,
    varSlope: haveSe ? seS * seS : null,
    cov: c.cov,
    bandReason: null,
    covSource: c.cov === null ? null : c.source,
  };
  if (!haveSe) line.bandReason = 'fit standard errors unknown';
  else if (c.cov === null) line.bandReason = c.reason;
  return line;
}

/** The line and its 95% band at η; lo/hi are null when the band cannot be drawn. */
export function fitAt(line: FitLine, lr: number): { y: number; lo: number | null; hi: number | null } {
  const y = line.intercept + line.slope * lr;
  if (line.varIntercept === null || line.varSlope === null || line.cov === null) return { y, lo: null, hi: null };
  const v = line.varIntercept + lr * lr * line.varSlope + 2 * lr * line.cov;
  const h = Z95 * Math.sqrt(Math.max(0, v));
  return { y, lo: y - h, hi: y + h };
}
