/**
 * What one analysis says about one learning rate: the decision behind every lens and hover.
 *
 * Small-η law (THEORY.md §1–2): L(η) = L* + s·η + O(η²), with s the heat capacity (loss per unit η).
 * So the loss "from temperature" at η is s·η, and halving η changes the loss by −s·η/2.
 * The shown s is the observed sweep slope when there is one (with its 95% interval), else the
 * predicted slope. The linear law is not applied when it does not hold:
 * - η at or above the predicted stability limit: no stationary loss to speak of;
 * - random reshuffling (THEORY.md §3): the small-η slope is suppressed, L − L* ~ η², so s·η misleads;
 * - scale-invariant weights with weight decay (THEORY.md §2, last row): no finite slope.
 * Beyond the slope: when the analysis has a finite-η curve (`predicted.finite_eta`, THEORY.md §4, §6)
 * that reaches this η, the predicted excess loss L(η) − L* is read off it, beside the linear law, with
 * the share of the stability limit (mean-square when known) this η uses. A measurement beats a
 * prediction: inside the range an observed sweep fitted, the observed slope stays the lens's number
 * (the hover adds the curve); beyond it, or without an observed slope, the curve is.
 */
import { excessAt } from '../../core/finite-eta';
import type { AnalysisResult, FiniteEta, Predicted } from '../../core/result/schema';

/** 97.5% quantile of the standard normal: a 95% two-sided interval is estimate ± Z95·SE. */
export const Z95 = 1.959963984540054;

/** Which limit `stability_lr` is: SGD's mean-square limit with this batch size, or 2/λ_max (with momentum factors). */
export type StabilityKind = 'mean_square' | 'deterministic';

/** The finite-η prediction at one η: excess loss from the curve, the linear law there, and the limit it is measured against. */
export interface FiniteEtaAt {
  kind: 'finite_eta';
  lr: number;
  /** L(η) − L* from the curve (its form: `form`, over `directions` Hessian directions). */
  excess: number;
  /** The linear law η·s at this η, from the same block (null when the curve has no linear column here). */
  linear: number | null;
  limit: number | null;
  limitKind: StabilityKind | null;
  form: string | null;
  directions: number;
  /** The small-η view at this η (observed slope when there is one), for the hover's second part. */
  slope: LinearView | null;
}

export type LinearView = Extract<HeatCapacityView, { kind: 'linear' }>;

export type HeatCapacityView =
  | FiniteEtaAt
  | {
      kind: 'linear';
      lr: number;
      /** s, loss per unit η. */
      slope: number;
      source: 'observed' | 'predicted';
      /** 95% interval for s (observed only: slope ± Z95·SE, normal approximation). */
      slopeCi: [number, number] | null;
      /** s·η: the loss the temperature adds at this η. */
      deltaLoss: number;
      deltaLossCi: [number, number] | null;
      /** −s·η/2: the change in loss from halving η. */
      halvingChange: number;
      /** Largest η the observed fit used; `extrapolated` when this η is above it. */
      fitLrMax: number | null;
      extrapolated: boolean;
    }
  | { kind: 'unstable'; lr: number; stabilityLr: number; limitKind: StabilityKind }
  | {
      kind: 'reshuffle';
      lr: number;
      /** The i.i.d. slope: an upper bound on the small-η slope under reshuffling. */
      upperBound: number | null;
      /** From the quadratic-model curve, when η and η/2 lie inside it: excess loss at η and the change on halving. */
      curve: { excess: number; halvingChange: number } | null;
    }
  | { kind: 'no_finite_slope'; lr: number }
  | { kind: 'unavailable'; lr: number; reason: string };

/** Whether `stability_lr` is the finite-η block's mean-square limit (the pipeline prefers it) or the deterministic one. */
export function stabilityKind(p: Predicted): StabilityKind {
  const ms = p.finite_eta?.limits.mean_square;
  return ms != null && p.stability_lr !== null && ms === p.stability_lr ? 'mean_square' : 'deterministic';
}

/** The curve's value at `lr` when the block is `ok` and its curve reaches `lr` (it stops short of the limit). */
function finiteEtaAt(p: Predicted, fe: FiniteEta, lr: number, slope: LinearView | null): FiniteEtaAt | null {
  if (fe.status !== 'ok' || !fe.curve || !(lr > 0)) return null;
  const excess = excessAt(fe, lr);
  if (excess === null) return null;
  const linear = interpolate([0, ...fe.curve.lr], [0, ...fe.curve.linear], lr) ?? null;
  const limit = p.stability_lr;
  return { kind: 'finite_eta', lr, excess, linear, limit, limitKind: limit === null ? null : stabilityKind(p), form: fe.form, directions: fe.directions, slope };
}

/** The finite-η curve's view at `lr` (whatever the observed slope says), or null when the curve does not reach it. */
export function finiteEtaViewAt(result: AnalysisResult, lr: number): FiniteEtaAt | null {
  const p = result.predicted;
  const fe = p?.finite_eta;
  if (!p || !fe || (p.stability_lr !== null && lr >= p.stability_lr)) return null;
  const slope = slopeView(result, lr);
  return finiteEtaAt(p, fe, lr, slope.kind === 'linear' ? slope : null);
}

export function heatCapacityAt(result: AnalysisResult, lr: number): HeatCapacityView {
  const p = result.predicted;
  if (p && p.stability_lr !== null && lr >= p.stability_lr) return { kind: 'unstable', lr, stabilityLr: p.stability_lr, limitKind: stabilityKind(p) };
  const slope = slopeView(result, lr);
  if (slope.kind === 'linear' && slope.source === 'observed' && !slope.extrapolated) return slope;
  return finiteEtaViewAt(result, lr) ?? slope;
}

/** The small-η view: the linear law with the observed (else predicted) slope, or why it does not apply. */
function slopeView(result: AnalysisResult, lr: number): HeatCapacityView {
  const p = result.predicted;
  if (p?.regime === 'no_finite_slope') return { kind: 'no_finite_slope', lr };
  if (p?.regime === 'reshuffle_suppressed') {
    const curve = p.reshuffle_curve;
    const at = curve ? interpolate(curve.lr, curve.excess, lr) : undefined;
    const half = curve ? interpolate(curve.lr, curve.excess, lr / 2) : undefined;
    return {
      kind: 'reshuffle',
      lr,
      upperBound: p.upper_bound,
      curve: at !== undefined && half !== undefined ? { excess: at, halvingChange: half - at } : null,
    };
  }
  const o = result.observed;
  if (o.slope !== null) {
    const ci: [number, number] | null = o.slope_stderr !== null ? [o.slope - Z95 * o.slope_stderr, o.slope + Z95 * o.slope_stderr] : null;
    const fitLrMax = o.fit.lr_max_used;
    return {
      kind: 'linear',
      lr,
      slope: o.slope,
      source: 'observed',
      slopeCi: ci,
      deltaLoss: o.slope * lr,
      deltaLossCi: ci && [ci[0] * lr, ci[1] * lr],
      halvingChange: (-o.slope * lr) / 2,
      fitLrMax,
      extrapolated: fitLrMax !== null && lr > fitLrMax * (1 + 1e-9),
    };
  }
  if (p && p.slope !== null) {
    return {
      kind: 'linear',
      lr,
      slope: p.slope,
      source: 'predicted',
      slopeCi: null,
      deltaLoss: p.slope * lr,
      deltaLossCi: null,
      halvingChange: (-p.slope * lr) / 2,
      fitLrMax: null,
      extrapolated: false,
    };
  }
  return { kind: 'unavailable', lr, reason: result.predicted === null ? 'no observed slope and no prediction' : 'no observed or predicted slope' };
}

/** Linear interpolation of y(x) at `at`, inside the sampled range only (no extrapolation); x need not be sorted. */
export function interpolate(xs: number[], ys: number[], at: number): number | undefined {
  const pts = xs.map((x, i) => [x, ys[i]] as const).sort((a, b) => a[0] - b[0]);
  if (pts.length === 0 || at < pts[0][0] || at > pts[pts.length - 1][0]) return undefined;
  for (let i = 0; i < pts.length; i++) {
    const [x1, y1] = pts[i];
    if (at === x1) return y1;
    if (i > 0 && at < x1) {
      const [x0, y0] = pts[i - 1];
      return y0 + ((y1 - y0) * (at - x0)) / (x1 - x0);
    }
  }
  return undefined;
}
