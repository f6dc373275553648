import { FINITE_ETA_STATUS, finiteEtaCurveTable, formLabel, limitsText, methodText } from '../../core/report/finiteEta';
import type { AnalysisResult, FiniteEta, ObservedPoint } from '../../core/result/schema';
import { printable } from '../commands/runs';

/** Numbers for people: 4 significant digits, "—" for unknown. */
export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(digits))) : Number(x.toPrecision(digits)).toExponential();
}

function pm(x: number | null, se: number | null): string {
  return x === null ? '—' : se === null ? num(x) : `${num(x)} ± ${num(se, 2)}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

function pointRow(p: ObservedPoint): string[] {
  // No reason and no flag: the point was fine but there was no fit to use it in (one η only; said below).
  const why = p.excluded_reason ?? p.flags.join(', ');
  const fit = p.used_in_fit ? 'used' : why ? `left out: ${why}` : 'no fit';
  return [printable(p.name), num(p.lr), pm(p.loss, p.stderr), String(p.n_used), p.stationary ? 'yes' : 'no', fit];
}

/** The finite-η block (THEORY.md §4, §6): status, eigenvalues with residuals, both limits, the curve at a few η and its form. */
export function formatFiniteEta(fe: FiniteEta, r: AnalysisResult): string[] {
  const lines = [`finite η         ${fe.status === 'ok' ? '' : `${FINITE_ETA_STATUS[fe.status]}: `}${printable(fe.message)}`];
  const how = methodText(fe);
  if (how) lines.push(`  ${printable(how)}`);
  if (fe.eigenvalues.length) lines.push(`  eigenvalues    ${fe.eigenvalues.map((e) => `${num(e.value)} (res ${num(e.residual, 2)})`).join(', ')}`);
  const limits = limitsText(fe);
  if (limits) lines.push(`  limits         ${limits}`);
  const curve = finiteEtaCurveTable(r, 6);
  if (curve && curve.rows.length) {
    lines.push(`  L(η) − L*      ${printable(formLabel(fe.form) ?? '')}`);
    const columns = ['η', '% of limit', 'curve', 'linear', 'additive', 'observed'];
    lines.push(...table([columns, ...curve.rows.map((row) => row.map((c) => c.text))]).map((l) => `  ${l}`));
  }
  for (const n of fe.notes) lines.push(`  ${printable(n)}`);
  return lines;
}

/** The readable form of one analysis, as `heatcap analyze` prints it without --json. */
export function formatAnalysis(r: AnalysisResult): string {
  const lines: string[] = [];
  const o = r.observed;
  const title = r.sweep ? `sweep ${printable(r.sweep.name)} (${r.runs.length} run${r.runs.length === 1 ? '' : 's'})` : `run ${printable(r.runs[0]?.name ?? '?')}`;
  lines.push(`${title} · tag ${o.tag ? printable(o.tag) : '—'}`);
  lines.push(`  ${printable(o.tag_reason)}`);
  if (o.points.length) lines.push(...table([['run', 'η', 'converged loss', 'n', 'stationary', 'fit'], ...o.points.map(pointRow)]));
  for (const e of o.events) {
    lines.push(`  step ${e.step}: η ${num(e.lr_before)} → ${num(e.lr_after)}, loss ${pm(e.loss_before, e.loss_before_stderr)} → ${pm(e.loss_after, e.loss_after_stderr)}, ΔL/Δη ${pm(e.slope, e.slope_stderr)}${e.settled ? '' : ' (not settled)'}`);
  }
  const how = o.fit.method === 'wls_sweep' ? `weighted least squares, ${o.fit.n_points} points` : o.fit.method === 'schedule_events' ? `pooled over ${o.fit.n_points} step change(s)` : 'no fit';
  lines.push(`observed dL/dη   ${pm(o.slope, o.slope_stderr)} (${how})`);
  for (const n of o.fit.notes) lines.push(`  ${printable(n)}`);
  if (r.predicted) {
    lines.push(`predicted dL/dη  ${num(r.predicted.slope)}   ${r.predicted.formula}`);
    if (r.predicted.upper_bound !== null && r.predicted.regime !== 'linear') lines.push(`  i.i.d. upper bound ${num(r.predicted.upper_bound)}`);
  } else {
    lines.push('predicted dL/dη  — (give --model, --data and --labels for a prediction)');
  }
  if (r.predicted?.finite_eta) lines.push(...formatFiniteEta(r.predicted.finite_eta, r));
  if (r.gradnorms) lines.push(`  E‖g_b‖² = ${num(r.gradnorms.mean_sq_norm)}, ‖ḡ‖² = ${num(r.gradnorms.mean_grad_sq_norm)}, tr Σ = ${num(r.gradnorms.trace_cov)} over ${r.gradnorms.n} examples (${r.gradnorms.engine}, ${r.gradnorms.backend}, ${num(r.gradnorms.seconds, 3)} s)`);
  if (r.ratio !== null) lines.push(`ratio            ${num(r.ratio, 3)}${r.ratio_ci ? ` (95% CI ${num(r.ratio_ci[0], 3)}–${num(r.ratio_ci[1], 3)})` : ''}`);
  lines.push(`verdict          ${r.verdict.status}: ${r.verdict.message}`);
  const shown = r.warnings.filter((w) => w.severity !== 'info');
  if (shown.length) {
    lines.push('warnings:');
    for (const w of shown) lines.push(`  - ${printable(w.message)}`);
  }
  return lines.join('\n') + '\n';
}
