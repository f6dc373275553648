/**
 * The finite-η block (`predicted.finite_eta`, THEORY.md §4 and §6) as plain data for every view: the
 * CLI text, the panel and HTML report, and the Markdown report read the same status lines and tables,
 * so the eigenvalues, limits and curve read the same everywhere.
 */
import type { AnalysisResult, FiniteEta } from '../result/schema';
import { type Cell, formatNumber, isFiniteNumber, missing, num, plusMinus } from './format';
import type { Table } from './tables';

/** What each status means, in a few words (the block's `message` says why). */
export const FINITE_ETA_STATUS: Record<FiniteEta['status'], string> = {
  ok: 'predicted',
  not_near_minimum: 'the checkpoint is not near a minimum: no curve',
  not_converged: 'the eigen-solver did not converge: no numbers',
  unsupported: 'no finite-η model for this setup',
  skipped: 'not computed',
};

const FORM_LABELS: Record<string, string> = {
  second_moment_full: 'stationary second moment over all parameters (exact for a quadratic loss)',
  gaussian_closure_full: 'stationary second moment over all parameters, corrected for the non-quadratic loss (Gaussian closure)',
  second_moment_subspace: 'stationary second moment in the top-k subspace, leading order elsewhere',
  additive: 'additive noise per eigen-direction, η·σ_i²/(4B(1 − ηh_i/2))',
};

/** The curve's form in words; an unknown form id is shown as it is. */
export function formLabel(form: string | null): string | null {
  return form === null ? null : (FORM_LABELS[form] ?? form);
}

/** The block of a result, when it has one (1.2 results; absent from 1.0/1.1). */
export function finiteEtaOf(result: AnalysisResult): FiniteEta | null {
  return result.predicted?.finite_eta ?? null;
}

const sameLr = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

/**
 * Indices of the curve points worth a table row: the given learning rates (the sweep's) where the grid
 * has them, then points spread evenly over the grid, at most `max`, in increasing η.
 */
export function curveRows(fe: FiniteEta, lrs: readonly number[], max = 8): number[] {
  const c = fe.curve;
  if (!c || c.lr.length === 0) return [];
  const picked = new Set<number>();
  for (const lr of lrs) {
    const i = c.lr.findIndex((x) => sameLr(x, lr));
    if (i >= 0 && picked.size < max) picked.add(i);
  }
  const n = c.lr.length;
  const spare = Math.max(0, max - picked.size);
  for (let j = 0; j < spare && picked.size < Math.min(max, n); j++) {
    picked.add(Math.round(((j + 1) * (n - 1)) / spare));
  }
  return [...picked].sort((a, b) => c.lr[a] - c.lr[b]);
}

/** "mean-square η 2.572 · deterministic 2/λ_max 4.296", or null when neither is known. */
export function limitsText(fe: FiniteEta): string | null {
  const parts: string[] = [];
  if (isFiniteNumber(fe.limits.mean_square)) parts.push(`mean-square η ${formatNumber(fe.limits.mean_square)}`);
  if (isFiniteNumber(fe.limits.deterministic)) parts.push(`deterministic η ${formatNumber(fe.limits.deterministic)} (2/λ_max with the momentum factor)`);
  return parts.length ? parts.join(' · ') : null;
}

/** How the numbers were obtained: method, Hessian-vector products, directions, cost. */
export function methodText(fe: FiniteEta): string | null {
  if (fe.method === null && fe.hvp === null) return null;
  const parts = [fe.method ?? '', fe.hvp ? `HVP ${fe.hvp}` : '', `${fe.directions} direction${fe.directions === 1 ? '' : 's'}`];
  if (isFiniteNumber(fe.parameters)) parts.push(`${fe.parameters} parameters`);
  if (isFiniteNumber(fe.cost_gradient_passes)) parts.push(`${formatNumber(fe.cost_gradient_passes, 3)} gradient passes`);
  if (isFiniteNumber(fe.seconds)) parts.push(`${formatNumber(fe.seconds, 3)} s`);
  return parts.filter(Boolean).join(', ');
}

/** The observed converged loss at `lr` relative to L* (the fitted intercept), with the run's SE. */
function observedExcess(result: AnalysisResult, lr: number): Cell {
  const a = result.observed.intercept;
  const p = result.observed.points.find((q) => isFiniteNumber(q.lr) && sameLr(q.lr, lr));
  if (!p) return missing('no run at this η');
  if (!isFiniteNumber(a) || !isFiniteNumber(p.loss)) return missing('L* or the converged loss unknown');
  return plusMinus(p.loss - a, p.stderr, '');
}

/** Top Hessian eigenvalues with their relative residuals ‖Hv − λv‖/|λ_1|. */
export function eigenTable(result: AnalysisResult): Table | null {
  const fe = finiteEtaOf(result);
  if (!fe || fe.eigenvalues.length === 0) return null;
  return {
    id: 'eigenvalues',
    caption: 'Top Hessian eigenvalues at the checkpoint',
    columns: ['i', 'λ_i', 'Residual ‖Hv − λv‖/|λ_1|'],
    rows: fe.eigenvalues.map((e, i) => [{ text: String(i + 1) }, num(e.value, 'unknown', 6), num(e.residual, 'unknown', 2)]),
    note: fe.status === 'not_converged' ? 'The eigen-solver did not reach its tolerance: these Ritz values are not used.' : 'Ritz values of the Hessian of the per-example training loss (the model’s own penalties included).',
  };
}

/** The predicted curve at a few η: the second-moment form, the linear law and the additive form, beside the runs. */
export function finiteEtaCurveTable(result: AnalysisResult, max = 8): Table | null {
  const fe = finiteEtaOf(result);
  const c = fe?.curve;
  if (!fe || !c) return null;
  const runLrs = result.observed.points.map((p) => p.lr).filter(isFiniteNumber);
  const ms = fe.limits.mean_square;
  const rows = curveRows(fe, runLrs, max).map((i): Cell[] => [
    num(c.lr[i], ''),
    isFiniteNumber(ms) && ms > 0 ? { text: `${formatNumber((100 * c.lr[i]) / ms, 2)}%` } : missing('limit unknown'),
    num(c.excess[i], ''),
    num(c.linear[i], ''),
    num(c.additive[i], ''),
    observedExcess(result, c.lr[i]),
  ]);
  return {
    id: 'finite-eta',
    caption: 'Predicted excess loss L(η) − L* across η',
    columns: ['η', '% of the limit', 'Predicted L(η) − L*', 'Linear law', 'Additive', 'Observed ± SE'],
    rows,
    note: `% of the limit: η over the mean-square stability limit. Predicted: ${formLabel(fe.form) ?? 'the curve'}. Linear law: η·dL/dη at η → 0. Additive: each eigen-direction with additive noise, η·σ_i²/(4B(1 − ηh_i/2)). Observed: converged loss of the run at that η minus the fitted L(η → 0), with the run’s standard error.`,
  };
}
