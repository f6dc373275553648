/**
 * What the status bar item says: the heat capacity C = dL/dη (at η → 0) of the result the panel shows,
 * observed when the runs give a slope, else predicted, e.g. `$(flame) dL/dη = 0.050`. The tooltip says
 * which one it is and where it comes from. No `vscode` import (unit-tested).
 */
import type { AnalysisResult } from '../core/result/schema';
import { cellText, interval, plusMinus } from '../core/report/format';
import type { BusyState } from '../shared/webviewProtocol';
import { displayText, ratioText } from './runsView/viewModel';

export interface StatusBarView {
  /** null: hide the item (nothing analysed and nothing running). */
  text: string | null;
  tooltip: string;
}

/** Two significant figures, trailing zeros kept (0.050, not 0.05): the precision a glance needs. */
export function twoFigures(x: number): string {
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e5) return x.toExponential(1).replace('e+', 'e');
  return x.toPrecision(2);
}

export function statusBarView(result: AnalysisResult | null, busy: BusyState | null): StatusBarView {
  if (busy) {
    const pct = busy.fraction === null ? '' : ` ${Math.round(busy.fraction * 100)}%`;
    return { text: `$(loading~spin) Heat capacity${pct}`, tooltip: `${displayText(busy.message, 200)}\nClick to open the analysis panel.` };
  }
  if (!result) return { text: null, tooltip: '' };

  const name = displayText(result.sweep?.name ?? result.runs[0]?.name ?? result.root, 60);
  const lines = [`Heat capacity of ${name}: the slope dL/dη of the converged loss at small η.`];
  const obs = result.observed.slope;
  const pred = result.predicted?.slope ?? null;
  if (obs !== null) {
    lines.push(`Observed: ${cellText(plusMinus(obs, result.observed.slope_stderr, ''))} (${result.observed.fit.method}, ${result.observed.fit.n_points} points)`);
  } else {
    lines.push('Observed: no slope (too few usable runs)');
  }
  if (pred !== null && result.predicted) lines.push(`Predicted: ${twoFigures(pred)} (${result.predicted.formula_id})`);
  else lines.push('Predicted: none (select a checkpoint and its training data)');
  if (result.ratio !== null) lines.push(`Observed / predicted: ${ratioText(result.ratio)} ${cellText(interval(result.ratio_ci, ''))}`.trimEnd());
  lines.push(displayText(result.verdict.message, 300));
  lines.push('Click to open the analysis panel.');

  let text: string;
  if (obs !== null) text = `$(flame) dL/dη = ${twoFigures(obs)}`;
  else if (pred !== null) text = `$(flame) dL/dη = ${twoFigures(pred)} (predicted)`;
  else text = '$(flame) dL/dη = ?';
  return { text, tooltip: lines.join('\n') };
}
