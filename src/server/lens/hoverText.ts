/**
 * The hover on a learning-rate setting: dL/dη (the slope of the converged loss in η, the "heat capacity"
 * of SGD) with its interval and source, what it implies at this η, the formula
 * and setup the analysis used (B, momentum, sampling, optimizer), how this setting's own B/β would
 * change it, and the stability note. Every number goes through `format.ts`; every untrusted string
 * through `markdown.ts`.
 */
import type { AnalysisResult, Predicted } from '../../core/result/schema';
import type { DetectedSetting } from '../detect/types';
import type { StoredResult } from '../results/store';
import { formatInterval, formatPercent, formatSig, formatSigned, formatValue } from './format';
import { formLabel, limitsText } from '../../core/report/finiteEta';
import { finiteEtaViewAt, heatCapacityAt, stabilityKind, type FiniteEtaAt, type HeatCapacityView } from './heatCapacity';
import { limitName } from './lensTitle';
import { code, escapeMarkdown } from './markdown';
import { analysisSetup, rescaleFor } from './setup';

const KIND_NAMES: Record<DetectedSetting['kind'], string> = {
  keyword_argument: 'keyword argument',
  positional_argument: 'positional argument',
  assignment: 'assignment',
  parameter_default: 'parameter default',
  dict_entry: 'dict entry',
  cli_default: 'command-line default',
  config_key: 'configuration key',
  cli_option: 'command-line option',
  cli_override: 'command-line override',
  shell_variable: 'shell variable',
};

const SAMPLING_NAMES: Record<Predicted['sampling'], string> = {
  with_replacement: 'i.i.d. batches (with replacement)',
  without_replacement: 'distinct examples per batch',
  reshuffle: 'random reshuffling (epochs)',
};

export function hoverMarkdown(setting: DetectedSetting, match: StoredResult | undefined): string {
  const lines: string[] = [];
  const optimizer = setting.optimizer ? `, ${escapeMarkdown(setting.optimizer)} optimizer` : '';
  lines.push(`**Learning rate η = ${formatValue(setting.lr)}** · ${code(setting.key)} (${KIND_NAMES[setting.kind]}${optimizer})`);
  const own = ownSetup(setting);
  if (own) lines.push('', `This setting: ${own}`);
  for (const note of setting.notes ?? []) lines.push('', `Note: ${escapeMarkdown(note)}`);

  if (!match) {
    lines.push(
      '',
      'No analysis of dL/dη matches this setting yet (none in a folder above this file, none with a run at this η).',
      'Run **Heat Capacity: Analyze Workspace**, or `heatcap analyze <logs> --json > <logs>/.heatcap/analysis.json`.',
    );
    return lines.join('\n');
  }
  const result = match.result;
  const view = heatCapacityAt(result, setting.lr);
  lines.push('', ...viewLines(view, result));
  const base = view.kind === 'finite_eta' ? view.slope : view;
  if (base && (base.kind === 'linear' || base.kind === 'reshuffle')) lines.push(...setupLines(result, setting, base));
  lines.push('', `---`, provenance(match));
  return lines.join('\n');
}

function ownSetup(s: DetectedSetting): string | undefined {
  const parts: string[] = [];
  if (s.batchSize) parts.push(`batch size ${formatValue(s.batchSize.value)} (${code(s.batchSize.key)})`);
  if (s.momentum) parts.push(`momentum ${formatValue(s.momentum.value)} (${code(s.momentum.key)})`);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** The finite-η part (THEORY.md §4, §6): the curve's excess loss here, the linear law, the limits, then the small-η slope. */
function finiteEtaLines(view: FiniteEtaAt, result: AnalysisResult): string[] {
  const eta = formatValue(view.lr);
  const fe = result.predicted?.finite_eta;
  const out = [`**η = ${eta}: predicted excess loss L(η) − L* ≈ ${formatSig(view.excess)}** (finite-η prediction, THEORY.md §4, §6)`];
  if (view.linear !== null) {
    const ratio = view.linear > 0 ? `; the curve is ×${formatSig(view.excess / view.linear, 3)} the linear law here` : '';
    out.push(`- linear law (predicted dL/dη·η): ${formatSig(view.linear)}${ratio}`);
  }
  if (view.limit !== null) out.push(`- stability: this η is ${formatPercent(view.lr / view.limit)} of the ${limitName(view.limitKind)} ≈${formatSig(view.limit)}`);
  const limits = fe ? limitsText(fe) : null;
  if (limits) out.push(`- limits: ${escapeMarkdown(limits)}`);
  const form = formLabel(view.form);
  if (form) out.push(`- curve: ${escapeMarkdown(form)}; ${view.directions} Hessian direction${view.directions === 1 ? '' : 's'} beyond leading order`);
  if (fe && fe.eigenvalues.length) out.push(`- top Hessian eigenvalue λ_1 = ${formatSig(fe.eigenvalues[0].value, 4)}`);
  if (view.slope) out.push('', ...viewLines(view.slope, result).filter((l) => !l.startsWith('- stability:') && !l.startsWith('- finite-η prediction')));
  return out;
}

function viewLines(view: HeatCapacityView, result: AnalysisResult): string[] {
  const eta = formatValue(view.lr);
  switch (view.kind) {
    case 'finite_eta':
      return finiteEtaLines(view, result);
    case 'linear': {
      const out: string[] = [];
      if (view.source === 'observed') {
        const fit = result.observed.fit;
        const how = fit.method === 'schedule_events' ? 'learning-rate drops within runs' : `weighted fit over ${fit.n_points} runs`;
        const ci = view.slopeCi ? `; 95% CI ${formatInterval(view.slopeCi[0], view.slopeCi[1])}, ± 1.96 SE` : '; no standard error';
        out.push(`**dL/dη = ${formatSig(view.slope)}** (observed: ${how}${ci})`);
      } else {
        out.push(`**dL/dη = ${formatSig(view.slope)}** (predicted: this analysis has no observed slope)`);
      }
      out.push('', 'The slope of the converged loss in η at small η (the heat capacity of SGD): loss added per unit of learning rate.');
      const dci = view.deltaLossCi ? ` (95% CI ${formatInterval(view.deltaLossCi[0], view.deltaLossCi[1], true)})` : '';
      out.push(
        `- excess loss at η = ${eta}: dL/dη·η ≈ **${formatSigned(view.deltaLoss)}**${dci}`,
        `- halving η: −dL/dη·η/2 ≈ **${formatSigned(view.halvingChange)}**`,
        `- small-η law L(η) ≈ L* + (dL/dη)·η (THEORY.md §1–2)`,
      );
      if (view.extrapolated && view.fitLrMax !== null) {
        out.push(`- extrapolated: the fit used η ≤ ${formatValue(view.fitLrMax)}; above that the loss need not be linear in η`);
      }
      if (view.source === 'observed' && result.predicted?.slope != null) {
        out.push(`- predicted dL/dη = ${formatSig(result.predicted.slope)}${ratioText(result)}`);
      }
      out.push(...stabilityLines(result, view.lr));
      const finite = finiteEtaViewAt(result, view.lr);
      if (finite) {
        const linear = finite.linear !== null ? ` (linear law ${formatSig(finite.linear)})` : '';
        out.push(`- finite-η prediction at this η: excess loss ${formatSig(finite.excess)}${linear}, from ${escapeMarkdown(formLabel(finite.form) ?? 'the curve')} (THEORY.md §4, §6)`);
      }
      return out;
    }
    case 'unstable':
      return [
        `**η = ${eta} is ${view.lr > view.stabilityLr ? 'above' : 'at'} the ${limitName(view.limitKind)} ≈${formatSig(view.stabilityLr)}** of the analysed model: SGD does not settle near the minimum at this η, so no excess loss is predicted.`,
        ...(view.limitKind === 'mean_square'
          ? ['', 'The mean-square limit (THEORY.md §4) is where the noise of per-example curvatures makes the second moment of SGD’s iterates grow without bound in the quadratic model; it lies below the deterministic limit 2/λ_max. Beyond it a loss with bounded gradients (cross-entropy) may still settle, but far from the minimum and far above the linear law (measured on digits: 5.8× at 1.15× the limit).']
          : []),
      ];
    case 'reshuffle': {
      const out = [
        '**Random reshuffling: the linear law does not apply** (THEORY.md §3). Within an epoch the per-example gradients at the minimum sum to zero, so at small η the excess loss grows like η², and dL/dη·η would overstate it.',
      ];
      if (view.upperBound !== null) {
        out.push(`- upper bound from i.i.d. sampling: dL/dη ≤ ${formatSig(view.upperBound)}, so the excess loss ≤ ${formatSigned(view.upperBound * view.lr)}`);
      }
      if (view.curve) {
        out.push(
          `- quadratic-model prediction at η = ${eta}: excess loss ${formatSigned(view.curve.excess)}; halving η: ${formatSigned(view.curve.halvingChange)}`,
        );
      }
      out.push(...stabilityLines(result, view.lr));
      return out;
    }
    case 'no_finite_slope':
      return [
        '**No finite dL/dη**: with scale-invariant (BatchNorm-style) weights and weight decay the excess loss grows like √(ηλ), not linearly in η (THEORY.md §2).',
      ];
    case 'unavailable':
      return [`**dL/dη unavailable**: ${view.reason}. ${escapeMarkdown(result.verdict.message)}`];
  }
}

function ratioText(result: AnalysisResult): string {
  if (result.ratio === null) return '';
  const ci = result.ratio_ci ? ` (95% CI ${formatInterval(result.ratio_ci[0], result.ratio_ci[1], false, 3)})` : '';
  return `; observed/predicted = ${formatSig(result.ratio, 3)}${ci}; verdict: ${escapeMarkdown(result.verdict.status)}`;
}

function stabilityLines(result: AnalysisResult, lr: number): string[] {
  const p = result.predicted;
  const limit = p?.stability_lr;
  if (!p || limit == null) return [];
  const name = stabilityKind(p) === 'mean_square' ? ' (the mean-square stability limit)' : '';
  return [`- stability: the prediction holds only for η below ≈${formatSig(limit)}${name}; this η is ${formatPercent(lr / limit)} of it`];
}

function setupLines(result: AnalysisResult, setting: DetectedSetting, view: HeatCapacityView): string[] {
  const setup = analysisSetup(result);
  const out: string[] = [];
  const p = result.predicted;
  if (p) out.push('', `Formula (${code(p.formula_id)}, s = dL/dη): ${code(p.formula)}`);
  const parts: string[] = [];
  if (setup.batchSize !== null) {
    const src = setup.batchSizeSource ? ` (${escapeMarkdown(setup.batchSizeSource)})` : '';
    parts.push(`B = ${formatValue(setup.batchSize)}${src}`);
  }
  if (setup.momentum !== null) parts.push(`momentum ${formatValue(setup.momentum)}`);
  if (setup.sampling) parts.push(SAMPLING_NAMES[setup.sampling]);
  if (setup.optimizer) parts.push(`optimizer ${escapeMarkdown(setup.optimizer)}`);
  if (parts.length > 0) out.push('', `Setup the analysis used: ${parts.join(' · ')}`);

  const differs =
    (setting.batchSize && setup.batchSize !== null && setting.batchSize.value !== setup.batchSize) ||
    (setting.momentum && setup.momentum !== null && setting.momentum.value !== setup.momentum);
  if (differs && view.kind === 'linear') {
    const r = rescaleFor(setup, { batchSize: setting.batchSize?.value, momentum: setting.momentum?.value });
    if (r) {
      const s = view.slope * r.factor;
      out.push(
        '',
        `This setting's batch size / momentum differ from the analysis. Scaled by THEORY.md §2 (${r.laws.join('; ')}): ×${formatSig(r.factor, 3)}, so dL/dη ≈ ${formatSig(s)} and the excess loss ≈ ${formatSigned(s * view.lr)} here, other things equal.`,
      );
    } else {
      out.push('', "This setting's batch size / momentum differ from the analysis; the figures above are for the analysed setup.");
    }
  }
  return out;
}

function provenance(match: StoredResult): string {
  const r = match.result;
  const sweep = r.sweep ? `sweep ${code(r.sweep.name)} · ` : '';
  const from = match.origin.kind === 'file' ? `from ${code(match.origin.file)}` : 'pushed by the extension';
  return `Analysis: ${sweep}root ${code(r.root)} · generated ${escapeMarkdown(r.generated_at)} · ${from}`;
}
