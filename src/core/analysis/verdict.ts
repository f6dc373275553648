import type { Observed, Predicted, VerdictStatus } from '../result/schema';

/**
 * Model tolerance: even when every assumption holds, the leading-order law is off by O(η) terms. On
 * convex problems THEORY.md §5 measured agreement within 3% (digits: 1.001–1.009), so a ratio within 3%
 * of 1 agrees even when its confidence interval is narrower than that.
 */
export const MODEL_TOLERANCE = 0.03;

export interface Verdict {
  status: VerdictStatus;
  message: string;
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const num = (x: number): string => (Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toFixed(3) : x.toPrecision(3));

/**
 * The one-sentence verdict of an analysis. It refuses to compare when the prediction's assumptions do not
 * hold (random reshuffling, no finite slope) instead of reporting a misleading ratio.
 */
export function decideVerdict(
  observed: Pick<Observed, 'slope' | 'slope_stderr' | 'fit'>,
  predicted: Pick<Predicted, 'slope' | 'regime' | 'upper_bound'> | null,
  ratio: number | null,
  ratioCi: [number, number] | null,
  /** Under reshuffling: `ratio` compares the observed excess loss with the reshuffling model's curve. */
  comparedWithReshuffleModel = false,
): Verdict {
  const hasObserved = observed.slope !== null && observed.slope_stderr !== null;
  if (!predicted) {
    return hasObserved
      ? { status: 'no_prediction', message: `Observed slope ${num(observed.slope!)} ± ${num(observed.slope_stderr!)} per unit η; load a checkpoint and its training data to compare it with the prediction.` }
      : { status: 'no_observation', message: 'No usable loss-vs-η observation and no checkpoint: nothing to compare yet.' };
  }
  if (predicted.regime === 'no_finite_slope') {
    return { status: 'not_comparable', message: 'The linear law has no finite slope for this setup (scale-invariant weights with weight decay): the loss grows like √(ηλ), not ∝ η.' };
  }
  if (!hasObserved) {
    const s = predicted.slope !== null ? `Predicted slope ${num(predicted.slope)} per unit η` : 'Prediction computed';
    return { status: 'no_observation', message: `${s}; no converged loss-vs-η observation to compare with (run a sweep, or log a run with step decays).` };
  }
  if (predicted.regime === 'reshuffle_suppressed') {
    const ub = predicted.upper_bound;
    const frac = ub && ub > 0 ? ` (${pct(observed.slope! / ub)} of the i.i.d. figure ${num(ub)})` : '';
    if (comparedWithReshuffleModel && ratio !== null && ratioCi !== null) {
      const [lo, hi] = ratioCi;
      const fits = (lo <= 1 && 1 <= hi) || Math.abs(ratio - 1) <= MODEL_TOLERANCE;
      const share = ub && ub > 0 ? `, ${pct(observed.slope! / ub)} of the i.i.d. figure ${num(ub)}` : '';
      const head = `Random reshuffling: the linear law does not apply (the observed slope at small η is ${num(observed.slope!)}${share}).`;
      return fits
        ? { status: 'agree', message: `${head} The reshuffling model of THEORY.md §3 explains the runs: observed/predicted excess loss = ${ratio.toFixed(3)} (95% CI ${lo.toFixed(2)}–${hi.toFixed(2)}).` }
        : { status: 'disagree', message: `${head} The reshuffling model of THEORY.md §3 does not explain the runs: observed/predicted excess loss = ${ratio.toFixed(3)} (95% CI ${lo.toFixed(2)}–${hi.toFixed(2)}).` };
    }
    return {
      status: 'not_comparable',
      message: `Random reshuffling: the linear law does not apply at small η. Observed slope ${num(observed.slope!)}${frac}; the i.i.d. prediction is only an upper bound.`,
    };
  }
  if (ratio === null || ratioCi === null) {
    return { status: 'not_comparable', message: 'The observed and predicted slopes could not be compared (the predicted slope is zero or undefined).' };
  }
  const [lo, hi] = ratioCi;
  const ci = `95% CI ${lo.toFixed(2)}–${hi.toFixed(2)}`;
  if ((lo <= 1 && 1 <= hi) || Math.abs(ratio - 1) <= MODEL_TOLERANCE) {
    return { status: 'agree', message: `Observed/predicted = ${ratio.toFixed(3)} (${ci}): the measured heat capacity agrees with the theory.` };
  }
  const direction = ratio > 1 ? 'larger' : 'smaller';
  return {
    status: 'disagree',
    message: `Observed/predicted = ${ratio.toFixed(3)} (${ci}): the observed slope is ${direction} than predicted. Check the warnings: batch size, sampling scheme, momentum convention, whether the checkpoint is at the optimum, and whether η is in the linear range.`,
  };
}
