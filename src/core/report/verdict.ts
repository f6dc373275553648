/**
 * The verdict card's content as plain data: one function from an AnalysisResult to the texts the
 * panel, the HTML report and the Markdown report all show, so the three never disagree.
 */
import type { AnalysisResult, PredictionRegime, ResultWarning, Severity, VerdictStatus } from '../result/schema';
import { type Cell, isFiniteNumber, missing, num, plusMinus, percent, ratio, ratioInterval } from './format';

export type Tone = 'good' | 'bad' | 'neutral';

export interface Fact {
  label: string;
  cell: Cell;
}

export interface WarningView {
  severity: Severity;
  code: string;
  message: string;
  /** Run and/or file the warning is about, already joined for display. */
  where: string | null;
}

export interface VerdictView {
  status: VerdictStatus;
  headline: string;
  tone: Tone;
  message: string;
  /** The observed/predicted ratio and its interval, the two figures the card leads with. */
  ratio: Cell;
  ratioCi: Cell;
  /** What the ratio compares: slopes, or (reshuffling model) excess losses. */
  ratioLabel: string;
  facts: Fact[];
  formula: string | null;
  formulaId: string | null;
  regime: string | null;
  assumptions: string[];
  sources: [string, string][];
  warnings: WarningView[];
  /** Notes of the fit (linear range, tag choice) that are not warnings. */
  notes: string[];
}

const HEADLINES: Record<VerdictStatus, [string, Tone]> = {
  agree: ['Observed dL/dη agrees with the prediction', 'good'],
  disagree: ['Observed dL/dη disagrees with the prediction', 'bad'],
  not_comparable: ['Observed and predicted dL/dη are not comparable', 'neutral'],
  no_prediction: ['No prediction: needs a checkpoint and its training data', 'neutral'],
  no_observation: ['No observed dL/dη: needs a sweep over η or a schedule with steps', 'neutral'],
};

export const REGIME_LABELS: Record<PredictionRegime, string> = {
  linear: 'linear law: L(η) ≈ L* + sη at small η',
  reshuffle_suppressed: 'random reshuffling: the slope at small η is suppressed (THEORY.md §3)',
  no_finite_slope: 'no finite slope (e.g. scale-invariant weights with weight decay)',
};

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function warningViews(warnings: readonly ResultWarning[]): WarningView[] {
  return [...warnings]
    .sort((a, b) => (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3))
    .map((w) => {
      const where = [w.run ? `run ${w.run}` : '', w.file ?? ''].filter(Boolean).join(', ');
      return { severity: w.severity, code: w.code, message: w.message, where: where || null };
    });
}

function methodText(result: AnalysisResult): Cell {
  const fit = result.observed.fit;
  const n = isFiniteNumber(fit.n_points) ? fit.n_points : null;
  const plural = n === 1 ? '' : 's';
  switch (fit.method) {
    case 'wls_sweep':
      return { text: n === null ? 'weighted least squares over several runs' : `weighted least squares over ${n} run${plural}` };
    case 'schedule_events':
      return { text: n === null ? 'learning-rate steps within a run' : `${n} learning-rate step${plural} within a run` };
    default:
      return missing('no fit');
  }
}

function adequacy(result: AnalysisResult): Cell {
  const { chi2, dof, p_value } = result.observed.fit;
  if (!isFiniteNumber(chi2) || !isFiniteNumber(dof) || dof <= 0) return missing('needs ≥ 3 fitted points');
  const p = isFiniteNumber(p_value) ? `, p = ${num(p_value, '', 2).text}` : '';
  return { text: `χ²/dof = ${num(chi2, '', 3).text}/${dof}${p}` };
}

/**
 * Under random reshuffling with the quadratic model's curve, the comparison is of excess losses, not of
 * slopes (src/core/analysis/reshuffleCompare.ts): say so in the headline.
 */
const RESHUFFLE_HEADLINES: Partial<Record<VerdictStatus, [string, Tone]>> = {
  agree: ['No linear law (random reshuffling); the reshuffling model agrees', 'good'],
  disagree: ['No linear law (random reshuffling); the reshuffling model disagrees', 'bad'],
};

export function verdictView(result: AnalysisResult): VerdictView {
  const curveCompared = result.predicted?.regime === 'reshuffle_suppressed' && result.predicted.reshuffle_curve !== null;
  const [headline, tone] = (curveCompared ? RESHUFFLE_HEADLINES[result.verdict.status] : undefined) ?? HEADLINES[result.verdict.status] ?? [result.verdict.status, 'neutral'];
  const pred = result.predicted;
  const obs = result.observed;
  const noRatioReason =
    result.verdict.status === 'not_comparable'
      ? 'not comparable (see the verdict)'
      : pred === null
      ? 'no prediction'
      : !isFiniteNumber(pred.slope)
        ? 'no finite predicted slope'
        : !isFiniteNumber(obs.slope)
          ? 'no observed slope'
          : 'not computed';
  const facts: Fact[] = [
    { label: 'Observed dL/dη', cell: plusMinus(obs.slope, obs.slope_stderr, 'no observed slope') },
    {
      label: 'Predicted dL/dη',
      cell: pred === null ? missing('no checkpoint analysed') : num(pred.slope, 'no finite slope in this regime'),
    },
  ];
  if (pred && pred.regime === 'reshuffle_suppressed') {
    facts.push({ label: 'i.i.d. upper bound', cell: num(pred.upper_bound, 'not computed') });
  }
  facts.push(
    { label: 'Measured from', cell: methodText(result) },
    { label: 'Linear-fit adequacy', cell: adequacy(result) },
    { label: 'Largest η in fit', cell: num(obs.fit.lr_max_used, 'no fit') },
  );
  if (obs.fit.quadratic) {
    facts.push({ label: 'Quadratic term q (L = a + sη + qη²)', cell: plusMinus(obs.fit.quadratic.q, obs.fit.quadratic.q_stderr, 'not computed') });
  }
  facts.push({ label: 'Loss tag', cell: obs.tag ? { text: obs.tag } : missing('no loss tag found') });
  if (pred) {
    facts.push(
      { label: 'Batch size B', cell: num(pred.batch_size, 'unknown', 6) },
      { label: 'Sampling', cell: { text: pred.sampling.replace(/_/g, ' ') } },
      { label: 'Optimizer', cell: { text: pred.optimizer } },
      { label: 'Momentum β', cell: num(pred.momentum, 'unknown') },
      { label: 'tr Σ', cell: num(pred.trace_cov, 'unknown') },
    );
    // THEORY.md §2: ‖ḡ‖²/E‖g_b‖² says how close the checkpoint is to an optimum (0 at an exact optimum).
    const closeness = pred.mean_sq_norm > 0 ? pred.mean_grad_sq_norm / pred.mean_sq_norm : null;
    facts.push(
      { label: '‖ḡ‖² / E‖g_b‖² (0 at an optimum)', cell: percent(closeness, 'E‖g_b‖² is zero') },
      { label: 'Stability limit η', cell: num(pred.stability_lr, 'not estimated') },
    );
  }
  const notes = [obs.tag_reason, ...obs.fit.notes].filter((n) => typeof n === 'string' && n.length > 0);
  return {
    status: result.verdict.status,
    headline,
    tone,
    message: result.verdict.message,
    ratio: ratio(result.ratio, noRatioReason),
    ratioLabel: curveCompared ? 'observed / predicted excess loss' : 'observed / predicted',
    ratioCi: ratioInterval(result.ratio_ci, isFiniteNumber(result.ratio) ? 'interval not computed' : noRatioReason),
    facts,
    formula: pred?.formula ?? null,
    formulaId: pred?.formula_id ?? null,
    regime: pred ? (REGIME_LABELS[pred.regime] ?? pred.regime) : null,
    assumptions: pred?.assumptions ?? [],
    sources: pred ? Object.entries(pred.sources) : [],
    warnings: warningViews(result.warnings),
    notes,
  };
}
