/** The one-line CodeLens text for a setting, from the decision in `heatCapacity.ts`. */
import { formatPercent, formatValue, formatSig, formatSigned } from './format';
import type { HeatCapacityView, StabilityKind } from './heatCapacity';

/** "mean-square stability limit" (SGD with this batch size) or "stability limit" (2/λ_max). */
export function limitName(kind: StabilityKind | null): string {
  return kind === 'mean_square' ? 'mean-square stability limit' : 'stability limit';
}

/**
 * What happens beyond a limit, as measured (test/unit/finite-eta/sgd-sweep.test.ts): above the mean-square
 * limit SGD leaves the minimum's quadratic region, but with a bounded-gradient loss (cross-entropy) it may
 * still settle, far higher (digits softmax at 1.15× the limit: 5.8× the linear law); above 2/λ_max the
 * sharpest direction's own step diverges.
 */
export function unstableConsequence(kind: StabilityKind | null): string {
  return kind === 'mean_square' ? 'SGD leaves the minimum, no prediction' : 'SGD will not settle near the minimum';
}

/**
 * `η=0.1 · dL/dη = 0.050 (observed) · excess loss ≈ +0.0050 · halving η: −0.0025` and its variants: the
 * number is labelled as what it is, the slope of the converged loss in η (the heat capacity of the prose),
 * then what it implies at this η (dL/dη·η, the loss the noise adds) and on halving η (−dL/dη·η/2).
 */
export function lensTitle(view: HeatCapacityView): string {
  const eta = `η=${formatValue(view.lr)}`;
  switch (view.kind) {
    case 'finite_eta': {
      const linear = view.linear !== null ? ` (linear law ${formatSig(view.linear)})` : '';
      const share = view.limit !== null ? ` · ${formatPercent(view.lr / view.limit)} of the ${limitName(view.limitKind)}` : '';
      return `η = ${formatValue(view.lr)}: predicted excess loss ${formatSig(view.excess)}${linear}${share}`;
    }
    case 'linear': {
      const parts = [
        eta,
        `dL/dη = ${formatSig(view.slope)} (${view.source})`,
        `excess loss ≈ ${formatSigned(view.deltaLoss)}`,
        `halving η: ${formatSigned(view.halvingChange)}`,
      ];
      if (view.extrapolated && view.fitLrMax !== null) parts.push(`extrapolated: fit used η ≤ ${formatValue(view.fitLrMax)}`);
      return parts.join(' · ');
    }
    case 'unstable':
      return `η = ${formatValue(view.lr)} is ${view.lr > view.stabilityLr ? 'above' : 'at'} the ${limitName(view.limitKind)} ${formatSig(view.stabilityLr)}: ${unstableConsequence(view.limitKind)}`;
    case 'reshuffle':
      return `${eta} · random reshuffling: loss is not linear in η here, no dL/dη (hover for details)`;
    case 'no_finite_slope':
      return `${eta} · no finite dL/dη (scale-invariant weights with weight decay)`;
    case 'unavailable':
      return `${eta} · dL/dη unavailable: ${view.reason}`;
  }
}

/** The lens when no analysis matches the setting. */
export function analyzeLensTitle(lr: number): string {
  return `η=${formatValue(lr)} · Analyze dL/dη…`;
}
