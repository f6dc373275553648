/**
 * What the panel says about one learning rate the user focused (a point clicked, or the η under the
 * editor's cursor sent by the host): dL/dη with what it implies there, in the lens's words and numbers
 * (src/server/lens/heatCapacity.ts decides both), the fitted and predicted loss there and the nearest run.
 */
import type { AnalysisResult } from '../../src/core/result/schema';
import { fitAt, fitLine } from '../../src/core/report/fitLine';
import { type Cell, formatNumber, isFiniteNumber, missing, num, plusMinus } from '../../src/core/report/format';
import { predictedLossAt } from '../../src/core/report/tables';
import type { Fact } from '../../src/core/report/verdict';
import { formatPercent, formatSig, formatSigned } from '../../src/server/lens/format';
import { finiteEtaViewAt, heatCapacityAt, stabilityKind } from '../../src/server/lens/heatCapacity';
import { limitName } from '../../src/server/lens/lensTitle';

export interface FocusView {
  title: string;
  facts: Fact[];
  notes: string[];
}

export function focusView(result: AnalysisResult, lr: number): FocusView {
  const line = fitLine(result.observed);
  let fitted: Cell;
  if ('reason' in line) fitted = missing(line.reason);
  else {
    const at = fitAt(line, lr);
    fitted = at.lo !== null && at.hi !== null ? plusMinus(at.y, (at.hi - at.lo) / 2, '') : num(at.y, '', 6);
  }
  const predicted = num(predictedLossAt(result, lr), result.predicted ? 'no predicted slope or intercept' : 'no prediction', 6);
  let nearest: Cell = missing('no run with a known η');
  let best = Infinity;
  for (const p of result.observed.points) {
    if (!isFiniteNumber(p.lr)) continue;
    // Nearest in log η: 0.01 is as far from 0.005 as from 0.02.
    const d = p.lr > 0 && lr > 0 ? Math.abs(Math.log(p.lr / lr)) : Math.abs(p.lr - lr);
    if (d < best) {
      best = d;
      const loss = plusMinus(p.loss, p.stderr, 'no converged loss');
      nearest = { text: `${p.name} (η = ${formatNumber(p.lr)}): ${loss.text}`, missing: loss.missing };
    }
  }
  const notes: string[] = [];
  const maxUsed = result.observed.fit.lr_max_used;
  if (isFiniteNumber(maxUsed) && lr > maxUsed) notes.push(`η is above the largest η in the fit (${formatNumber(maxUsed)}): the linear law was not checked there.`);
  const stab = result.predicted?.stability_lr;
  const limitKind = result.predicted ? stabilityKind(result.predicted) : null;
  if (isFiniteNumber(stab) && lr >= stab) notes.push(`η is at or above the estimated ${limitName(limitKind)} ${formatNumber(stab)}: SGD does not settle near the minimum, no prediction.`);
  const slopeFacts: Fact[] = [];
  const finite = finiteEtaViewAt(result, lr);
  if (finite) {
    slopeFacts.push({ label: 'Predicted L(η) − L* (finite η)', cell: { text: formatSig(finite.excess, 3) } });
    if (finite.linear !== null) slopeFacts.push({ label: 'Linear law dL/dη·η', cell: { text: formatSig(finite.linear, 3) } });
    if (finite.limit !== null) slopeFacts.push({ label: `Share of the ${limitName(finite.limitKind)}`, cell: { text: formatPercent(finite.lr / finite.limit) } });
  }
  const shown = heatCapacityAt(result, lr);
  const view = shown.kind === 'finite_eta' ? (shown.slope ?? shown) : shown;
  if (view.kind === 'linear') {
    slopeFacts.push(
      { label: `dL/dη (${view.source})`, cell: { text: formatSig(view.slope) } },
      { label: 'Excess loss ≈ dL/dη·η', cell: { text: formatSigned(view.deltaLoss) } },
      { label: 'Halving η', cell: { text: formatSigned(view.halvingChange) } },
    );
  } else if (view.kind === 'reshuffle') {
    slopeFacts.push({ label: 'dL/dη', cell: missing('random reshuffling: loss is not linear in η here') });
  } else if (view.kind === 'no_finite_slope') {
    slopeFacts.push({ label: 'dL/dη', cell: missing('no finite dL/dη (scale-invariant weights with weight decay)') });
  } else if (view.kind === 'unavailable') {
    slopeFacts.push({ label: 'dL/dη', cell: missing(view.reason) });
  }
  return {
    title: `At η = ${formatNumber(lr)}`,
    facts: [
      ...slopeFacts,
      { label: 'Fitted L(η) ± 95%', cell: fitted },
      { label: 'Predicted L(η)', cell: predicted },
      { label: 'Nearest run', cell: nearest },
    ],
    notes,
  };
}
