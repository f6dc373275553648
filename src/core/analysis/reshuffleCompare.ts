/**
 * Under random reshuffling the linear law fails (THEORY.md §3), so a slope ratio means nothing. What
 * can be compared is the whole curve: the quadratic-model prediction m(η) of L(η) − L* against the
 * observed converged losses. The observed/predicted figure is then the scale k of the weighted fit
 * L(η) = L* + k·m(η) (L* known: the sweep started at the checkpoint) or L(η) = a + k·m(η) (L* fitted),
 * with its 95% interval; k = 1 means the reshuffling model explains the runs.
 */
import { weightedLeastSquares } from '../linalg/least-squares';
import type { ObservedPoint } from '../result/schema';
import { chiSquareSurvival, criticalValue } from '../stats/distributions';

export interface CurveScale {
  ratio: number;
  ci: [number, number];
  n_points: number;
  chi2: number;
  dof: number;
  note: string;
}

export function reshuffleCurveScale(
  points: ObservedPoint[],
  curve: { lr: number[]; excess: number[] },
  lossAtZero: number | null,
): CurveScale | null {
  const model = new Map(curve.lr.map((lr, i) => [lr, curve.excess[i]]));
  // Every converged point counts (the model is not linear, so a "linear range" does not apply).
  const usable = points.filter(
    (p) => (p.used_in_fit || p.excluded_reason?.startsWith('beyond the linear range')) && p.lr !== null && p.loss !== null && p.stderr !== null && p.stderr > 0 && Number.isFinite(model.get(p.lr) ?? NaN),
  );
  const nParams = lossAtZero === null ? 2 : 1;
  if (usable.length < nParams + 1) return null;
  const x = usable.map((p) => (lossAtZero === null ? [1, model.get(p.lr as number) as number] : [model.get(p.lr as number) as number]));
  const y = usable.map((p) => (p.loss as number) - (lossAtZero ?? 0));
  const w = usable.map((p) => 1 / (p.stderr as number) ** 2);
  const fit = weightedLeastSquares(x, y, w);
  if (!fit) return null;
  const k = fit.beta[nParams - 1];
  let variance = fit.cov[nParams - 1][nParams - 1];
  const dof = usable.length - nParams;
  const p = chiSquareSurvival(fit.rss, dof);
  // Scatter beyond the standard errors: inflate by the Birge ratio and use t (as the sweep fit does).
  const birge = p < 0.05 && fit.rss > dof ? Math.sqrt(fit.rss / dof) : 1;
  variance *= birge * birge;
  const c = birge > 1 ? criticalValue(0.95, dof) : criticalValue(0.95);
  const half = c * Math.sqrt(variance);
  return {
    ratio: k,
    ci: [k - half, k + half],
    n_points: usable.length,
    chi2: fit.rss,
    dof,
    note: `observed L(η) − ${lossAtZero === null ? 'L* (fitted)' : 'L* (checkpoint)'} = k · (reshuffling model's excess), weighted fit over ${usable.length} runs${birge > 1 ? `, errors scaled by √(χ²/dof) = ${birge.toFixed(2)}` : ''}`,
  };
}
