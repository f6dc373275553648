/**
 * The few distribution functions the stats code needs, from @stdlib (accurate, well tested), behind
 * names that say what they are for. Nothing here is hand-rolled numerics.
 */
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantileStd from '@stdlib/stats-base-dists-t-quantile';
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

/** Two-sided quantile multiplier for a (1−α) interval: t_{1−α/2, dof}, or the normal one when dof is ∞/undefined. */
export function criticalValue(confidence: number, dof?: number): number {
  const p = 1 - (1 - confidence) / 2;
  if (dof === undefined || !Number.isFinite(dof)) return normalQuantile(p, 0, 1);
  if (dof <= 0) return Number.NaN;
  return tQuantileStd(p, dof);
}

/** Two-sided p-value of a t statistic with `dof` degrees of freedom (normal when dof is ∞/undefined). */
export function twoSidedTPValue(t: number, dof?: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? Number.NaN : 0;
  const a = -Math.abs(t);
  const lower = dof === undefined || !Number.isFinite(dof) ? tCdf(a, 1e12) : tCdf(a, dof);
  return Math.min(1, 2 * lower);
}

/** Upper-tail probability P(χ²_dof ≥ x): the p-value of a goodness-of-fit statistic. */
export function chiSquareSurvival(x: number, dof: number): number {
  if (dof <= 0 || !Number.isFinite(x)) return Number.NaN;
  if (x <= 0) return 1;
  return Math.max(0, 1 - chisquareCdf(x, dof));
}
