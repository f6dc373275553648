/** The one-line CodeLens text for a setting, from the decision in `heatCapacity.ts`. */
import { formatValue, formatSig, formatSigned } from './format';
import type { HeatCapacityView } from './heatCapacity';

/** `η=0.1 · heat capacity 0.050/η (observed) · +0.0050 loss from temperature · ×½ → −0.0025` and its variants. */
export function lensTitle(view: HeatCapacityView): string {
  const eta = `η=${formatValue(view.lr)}`;
  switch (view.kind) {
    case 'linear': {
      const parts = [
        eta,
        `heat capacity ${formatSig(view.slope)}/η (${view.source})`,
        `${formatSigned(view.deltaLoss)} loss from temperature`,
        `×½ → ${formatSigned(view.halvingChange)}`,
      ];
      if (view.extrapolated && view.fitLrMax !== null) parts.push(`extrapolated: fit used η ≤ ${formatValue(view.fitLrMax)}`);
      return parts.join(' · ');
    }
    case 'unstable':
      return `${eta} · above the stability limit η≈${formatSig(view.stabilityLr)}: no stationary loss to predict`;
    case 'reshuffle':
      return `${eta} · random reshuffling: loss is not linear in η here, no heat capacity (hover for details)`;
    case 'no_finite_slope':
      return `${eta} · no finite heat capacity (scale-invariant weights with weight decay)`;
    case 'unavailable':
      return `${eta} · heat capacity unavailable: ${view.reason}`;
  }
}

/** The lens when no analysis matches the setting. */
export function analyzeLensTitle(lr: number): string {
  return `η=${formatValue(lr)} · Analyze heat capacity…`;
}
