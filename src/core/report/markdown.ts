/**
 * `renderMarkdownReport(result)`: a Markdown summary with the verdict and every chart's data as a
 * table (the same tables as the panel's table view). Untrusted text (run names, tags, paths, messages)
 * is escaped so that it renders as text in any CommonMark/GFM viewer: no raw HTML, no links, no
 * emphasis, no broken table rows.
 */
import type { AnalysisResult } from '../result/schema';
import type { FiniteEta } from '../result/schema';
import { cellText, formatNumber, intText } from './format';
import { eigenTable, FINITE_ETA_STATUS, finiteEtaCurveTable, formLabel, limitsText, methodText } from './finiteEta';
import { curvesTable, eventsTable, histogramTable, perWeightTable, pointsTable, runsTable, type Table, topTable } from './tables';
import { verdictView } from './verdict';

/**
 * Escapes text placed inside a line (after a prefix, or in a table cell): HTML-significant characters
 * become entities (so `<script>` shows as text), inline Markdown punctuation is backslash-escaped (no
 * emphasis, code, link brackets, table pipes), and line breaks become spaces so a value can never
 * start a new block or table row. Plain http(s) URLs may still be auto-linked by GFM viewers; that
 * changes no text.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`);
}

/** Escapes text that starts a line: also a leading block marker (#, -, +, =, "1.", "1)"). */
export function escapeMarkdownLine(text: string): string {
  return escapeMarkdown(text)
    .replace(/^(\s*)([#+=-])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

export function markdownTable(t: Table): string {
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  if (t.rows.length === 0) return `*${escapeMarkdown(t.caption)}: nothing to show.*\n`;
  const lines = [
    row(t.columns.map(escapeMarkdown)),
    row(t.columns.map(() => '---')),
    ...t.rows.map((r) => row(r.map((c) => escapeMarkdown(cellText(c)) || ' '))),
  ];
  if (t.note) lines.push('', `*${escapeMarkdown(t.note)}*`);
  return `${lines.join('\n')}\n`;
}

/** "observed / predicted" → "Observed / predicted dL/dη"; the excess-loss label is used as it is. */
function ratioTitle(label: string): string {
  const t = label.charAt(0).toUpperCase() + label.slice(1);
  return label === 'observed / predicted' ? `${t} dL/dη` : t;
}

/**
 * The finite-η section (THEORY.md §4, §6): status and why, how the eigenpairs were computed, both
 * limits, the eigenvalues with residuals, the curve at a few η beside the runs, and the solver's notes.
 * A checkpoint not near a minimum, or a solve that did not converge, is shown as such, without a curve.
 */
function finiteEtaSection(result: AnalysisResult, fe: FiniteEta): string[] {
  const out = ['## Finite η: predicted loss and stability limits', ''];
  out.push(`**${escapeMarkdown(fe.status)}** (${escapeMarkdown(FINITE_ETA_STATUS[fe.status])})${fe.message ? `: ${escapeMarkdown(fe.message)}` : ''}`, '');
  const how = methodText(fe);
  if (how) out.push(`Computed by: ${escapeMarkdown(how)}  `);
  const limits = limitsText(fe);
  out.push(`Stability limits: ${limits ? escapeMarkdown(limits) : 'unknown'}  `);
  const form = formLabel(fe.form);
  if (form) out.push(`Curve: ${escapeMarkdown(form)} (${escapeMarkdown(fe.form ?? '')})`);
  out.push('');
  const eig = eigenTable(result);
  if (eig) out.push(`### ${escapeMarkdown(eig.caption)}`, '', markdownTable(eig));
  const curve = finiteEtaCurveTable(result);
  if (curve) out.push(`### ${escapeMarkdown(curve.caption)}`, '', markdownTable(curve));
  else if (fe.status === 'ok') out.push('*No curve: no learning rate below the mean-square limit has a stable solution.*', '');
  if (fe.notes.length) out.push('### Finite-η notes', '', ...fe.notes.map((n) => `- ${escapeMarkdown(n)}`), '');
  return out;
}

export function renderMarkdownReport(result: AnalysisResult): string {
  const v = verdictView(result);
  const out: string[] = [];
  const name = result.sweep?.name ?? result.root;
  out.push(`# SGD heat capacity — ${escapeMarkdown(name)}`, '');
  out.push(`Folder: ${escapeMarkdown(result.root)}  `, `Generated ${escapeMarkdown(result.generated_at)} by heatcap ${escapeMarkdown(result.tool.version)} (result schema ${escapeMarkdown(result.schema_version)})`, '');

  out.push(`## Verdict: ${escapeMarkdown(v.headline)}`, '');
  out.push(
    v.ratio.missing
      ? `**${ratioTitle(v.ratioLabel)}: ${v.ratio.text}** (${escapeMarkdown(v.ratio.missing)})`
      : `**${ratioTitle(v.ratioLabel)}: ${escapeMarkdown(v.ratio.text)}** (95% CI ${escapeMarkdown(cellText(v.ratioCi))})`,
    '',
  );
  if (v.message) out.push(escapeMarkdownLine(v.message), '');
  if (v.formula) out.push(`Formula used: ${escapeMarkdown(v.formula)}${v.formulaId ? ` (${escapeMarkdown(v.formulaId)})` : ''}  `);
  if (v.regime) out.push(`Regime: ${escapeMarkdown(v.regime)}`);
  if (v.formula || v.regime) out.push('');
  out.push(markdownTable({ id: 'facts', caption: 'Facts', columns: ['Quantity', 'Value'], rows: v.facts.map((f) => [{ text: f.label }, f.cell]) }));

  out.push(`### Warnings (${v.warnings.length})`, '');
  if (v.warnings.length === 0) out.push('None.', '');
  else {
    for (const w of v.warnings) {
      const where = w.where ? ` (${escapeMarkdown(w.where)})` : '';
      out.push(`- **${w.severity}** \\[${escapeMarkdown(w.code)}\\]: ${escapeMarkdown(w.message)}${where}`);
    }
    out.push('');
  }
  if (v.notes.length) out.push('### Notes', '', ...v.notes.map((n) => `- ${escapeMarkdown(n)}`), '');
  if (v.assumptions.length) out.push('### Assumptions', '', ...v.assumptions.map((a) => `- ${escapeMarkdown(a)}`), '');
  if (v.sources.length) out.push('### Where each setting came from', '', ...v.sources.map(([k, s]) => `- ${escapeMarkdown(k)}: ${escapeMarkdown(s)}`), '');

  out.push('## Converged loss vs learning rate', '', markdownTable(pointsTable(result)));
  if (result.observed.events.length) out.push('## Learning-rate steps', '', markdownTable(eventsTable(result)));
  const fe = result.predicted?.finite_eta;
  if (fe) out.push(...finiteEtaSection(result, fe));

  const g = result.gradnorms;
  const noise = g?.logged_noise;
  if (g && noise) {
    // No checkpoint: tr Σ was estimated from gradient noise the runs logged (src/core/noise).
    out.push('## Gradient noise logged during training', '');
    out.push(
      `tr Σ ${formatNumber(g.trace_cov)}${noise.trace_cov_stderr !== null ? ` ± ${formatNumber(noise.trace_cov_stderr)}` : ''} (${escapeMarkdown(noise.method)}; tags ${noise.tags.map(escapeMarkdown).join(', ')}; ${escapeMarkdown(noise.combination)}). ${escapeMarkdown(noise.caveat)}`,
      '',
    );
    out.push(
      '### tr Σ per run',
      '',
      markdownTable({
        id: 'logged-noise',
        caption: 'tr Σ per run',
        columns: ['run', 'η', 'tr Σ', '± SE', 'points used'],
        rows: noise.runs.map((r) => [r.run, r.lr === null ? '—' : formatNumber(r.lr), formatNumber(r.trace_cov), r.trace_cov_stderr === null ? '—' : formatNumber(r.trace_cov_stderr), intText(r.n_used)].map((t) => ({ text: t }))),
      }),
    );
  } else if (g) {
    out.push('## Per-example gradient norms', '');
    out.push(
      `${intText(g.n)} examples; mean ‖g_b‖² ${formatNumber(g.mean_sq_norm)}; tr Σ ${formatNumber(g.trace_cov)}; ‖ḡ‖² ${formatNumber(g.mean_grad_sq_norm)}; ` +
        `${escapeMarkdown(g.engine)} on ${escapeMarkdown(g.backend)}, ${formatNumber(g.seconds, 3)} s; model ${escapeMarkdown(g.model)}; data ${escapeMarkdown(g.data)}.`,
      '',
    );
    for (const t of [histogramTable(result), topTable(result), perWeightTable(result)]) {
      if (t) out.push(`### ${escapeMarkdown(t.caption)}`, '', markdownTable(t));
    }
  }
  out.push('## Runs', '', markdownTable(runsTable(result)));
  out.push('## Loss curves', '', markdownTable(curvesTable(result)));
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
