/**
 * One analysis: a sweep (or a single run) plus, optionally, the checkpoint's gradient statistics, turned
 * into the versioned AnalysisResult. Pure: no file IO, so the whole chain can be tested on runs built in
 * memory against an exact oracle.
 */
import type { Run, RunWarning, Sourced } from '../runs/model';
import { SCHEMA_VERSION, type AnalysisResult, type FiniteEta, type Predicted, type ResultWarning, type RunSummary } from '../result/schema';
import { slopeRatioCi } from '../stats/ratio';
import { predictSlope } from '../theory/predict';
import { setupFromHparams, type SetupOverrides } from '../theory/setup';
import type { PredictExtras } from '../theory/predict';
import { downsampleMinMax } from './downsample';
import { DEFAULT_DIRECTIONS, finiteEtaFor, stabilityFromFiniteEta, type FiniteEtaSource } from './finiteEta';
import type { GradientInputs } from './gradients';
import { chooseSweepTag, observeRun, observeUnit, type RunObservation } from './observe';
import type { AnalyzeOptions } from './options';
import { reshuffleCurveScale } from './reshuffleCompare';
import { decideVerdict } from './verdict';

export interface AnalysisUnit {
  /** The sweep's identity, or null when the unit is one run outside any sweep. */
  sweep: { id: string; name: string; path: string } | null;
  runs: Run[];
  /** Discovery warnings that concern these runs' folders. */
  warnings: RunWarning[];
}

export interface UnitContext {
  root: string;
  toolVersion: string;
  now?: () => Date;
}

/** Overrides from flags/settings in the theory's shape, each marked with where it came from. */
function overridesOf(opts: AnalyzeOptions, gradients: GradientInputs | null, lrs: number[]): SetupOverrides {
  const src = opts.overrideSource === 'setting' ? 'setting' : 'flag';
  const o: SetupOverrides = {};
  const set = <K extends keyof SetupOverrides>(k: K, v: SetupOverrides[K]) => (o[k] = v);
  if (opts.batchSize !== undefined) set('batch_size', { value: opts.batchSize, source: `${src} batch size` });
  if (opts.momentum !== undefined) set('momentum', { value: opts.momentum, source: `${src} momentum` });
  if (opts.dampening !== undefined) set('dampening', { value: opts.dampening, source: `${src} dampening` });
  if (opts.sampling !== undefined) set('sampling', { value: opts.sampling, source: `${src} sampling` });
  if (opts.optimizer !== undefined) {
    set('optimizer', { value: opts.optimizer, source: `${src} optimizer` });
    if (opts.optimizer === 'nesterov') set('nesterov', { value: true, source: `${src} optimizer nesterov` });
  }
  if (opts.weightDecay !== undefined) set('weight_decay', { value: opts.weightDecay, source: `${src} weight decay` });
  if (gradients) {
    if (gradients.model.hasBatchNorm) set('has_batchnorm', { value: true, source: 'model: BatchNormalization layers' });
    if (gradients.model.hasRegularizers) {
      // Keras regularisers are inside ℓ_b (the engine's gradients include them) and inside the logged loss.
      set('loss_includes_penalty', { value: true, source: 'model: weight regularisers are part of the loss' });
    }
  }
  if (lrs.length) set('lrs', { value: lrs, source: 'the analysed runs' });
  return o;
}

/** The hyperparameters the runs share (first run's, as sweeps are grouped by equal hyperparameters). */
function sharedHparams(runs: Run[]) {
  return runs[0]?.hparams ?? { raw: {} };
}

function toResultWarnings(list: RunWarning[], run?: string): ResultWarning[] {
  return list.map((w) => ({ code: 'log_reader', severity: 'warning' as const, message: w.message, ...(w.file ? { file: w.file } : {}), ...(run ? { run } : {}) }));
}

function runSummary(o: RunObservation): RunSummary {
  const series = o.tag ? o.run.scalars[o.tag] : undefined;
  const lr = o.run.lrTag ? o.run.scalars[o.run.lrTag] : undefined;
  const lrCurve = lr ? downsampleMinMax(lr.steps, lr.values) : null;
  return {
    id: o.run.id,
    name: o.run.name,
    path: o.run.path,
    format: o.run.format,
    lr: o.lr,
    lr_source: o.lrSource,
    batch_size: o.run.hparams.batch_size?.value ?? null,
    momentum: o.run.hparams.momentum?.value ?? null,
    tag: o.tag,
    converged_loss: o.point.loss,
    converged_stderr: o.point.stderr,
    stationary: o.converged ? o.converged.stationary : null,
    curve: series ? downsampleMinMax(series.steps, series.values) : { steps: [], values: [] },
    lr_curve: lrCurve ? { steps: lrCurve.steps, values: lrCurve.values.map((v) => v ?? 0) } : null,
    warnings: o.run.warnings.map((w) => w.message),
  };
}

function flagWarnings(obs: RunObservation[]): ResultWarning[] {
  const out: ResultWarning[] = [];
  for (const o of obs) {
    const f = o.point.flags;
    const name = o.run.name;
    if (f.includes('diverged')) out.push({ code: 'diverged', severity: 'warning', message: `Run "${name}" diverged (non-finite or blown-up loss): left out of the fit.`, run: o.run.id });
    else if (f.includes('too_short')) out.push({ code: 'too_short', severity: 'warning', message: `Run "${name}" is too short for an honest standard error.`, run: o.run.id });
    else if (o.converged && !o.converged.stationary && o.converged.mean !== null) {
      out.push({ code: 'not_stationary', severity: 'warning', message: `Run "${name}" has not reached a stationary loss (trend in its tail): its converged loss is biased.`, run: o.run.id });
    }
    if (f.includes('zero_variance')) out.push({ code: 'zero_variance', severity: 'warning', message: `Run "${name}" logs a constant loss over its tail: there is no noise to measure (a frozen or constant logged value?), so it has no standard error.`, run: o.run.id });
    if (f.includes('no_loss_tag')) out.push({ code: 'no_loss_tag', severity: 'warning', message: `Run "${name}" has no training-loss tag to analyse.`, run: o.run.id });
  }
  return out;
}

/** Checks the fitted intercept L(η→0) against the checkpoint's own loss (same loss definition assumed). */
function interceptCheck(result: AnalysisResult, gradients: GradientInputs | null): ResultWarning[] {
  const o = result.observed;
  if (!gradients || o.fit.method !== 'wls_sweep' || o.intercept === null || o.intercept_stderr === null || !(o.intercept_stderr > 0)) return [];
  const z = (o.intercept - gradients.stats.meanLoss) / o.intercept_stderr;
  if (Math.abs(z) <= 4) return [];
  return [
    {
      code: 'intercept_mismatch',
      severity: 'info',
      message: `The sweep's fitted L(η→0) = ${o.intercept.toPrecision(5)} ± ${o.intercept_stderr.toPrecision(2)} differs from the checkpoint's loss ${gradients.stats.meanLoss.toPrecision(5)} by ${Math.abs(z).toFixed(1)} SE: the checkpoint may not be this sweep's optimum, or the logged loss is defined differently (penalty, subset, augmentation).`,
    },
  ];
}

/** The training setup the prediction of this unit will use (THEORY.md §2), with its warnings. */
export function unitSetup(runs: Run[], opts: AnalyzeOptions, gradients: GradientInputs) {
  const lrs = [...new Set(runs.map((r) => r.hparams.lr?.value).filter((x): x is number => x !== undefined && x > 0))].sort((a, b) => a - b);
  const overrides = overridesOf(opts, gradients, lrs);
  const hparams = sharedHparams(runs);
  if (!hparams.dataset_size && !overrides.dataset_size && !gradients.fromTrainingLogs) overrides.dataset_size = { value: gradients.stats.n, source: `training data (${gradients.stats.n} examples)` };
  return setupFromHparams(hparams, overrides);
}

/** Whether the unit's prediction needs the Hessian-based refinements (THEORY.md §2 L2 row, §3). */
export function needsRefinements(runs: Run[], opts: AnalyzeOptions, gradients: GradientInputs): boolean {
  const { setup } = unitSetup(runs, opts, gradients);
  return setup.sampling === 'reshuffle' || (setup.weight_decay > 0 && !setup.loss_includes_penalty);
}

/** What a finite-η block that is not `ok` adds to the warnings (`skipped` says why in the block itself). */
function finiteEtaWarnings(fe: FiniteEta): ResultWarning[] {
  if (fe.status === 'ok' || fe.status === 'skipped') return [];
  const severity = fe.status === 'not_near_minimum' || fe.status === 'not_converged' ? 'warning' : 'info';
  return [{ code: `finite_eta_${fe.status}`, severity, message: `No finite-η curve: ${fe.message}` }];
}

/**
 * `finite`: the top-k curvature at the checkpoint (or why there is none) for the finite-η block
 * (THEORY.md §4, §6); its mean-square limit then becomes `stability_lr`.
 */
export function analyzeUnit(unit: AnalysisUnit, opts: AnalyzeOptions, gradients: GradientInputs | null, ctx: UnitContext, extras: PredictExtras = {}, finite?: FiniteEtaSource): AnalysisResult {
  const warnings: ResultWarning[] = [...toResultWarnings(unit.warnings)];
  const runs = unit.runs.map((r) => withLrOverride(r, opts));
  for (const r of runs) warnings.push(...toResultWarnings(r.warnings, r.id));
  const exclude = new Set(opts.excludeRuns ?? []);

  const tagChoice = chooseSweepTag(runs, opts.tag);
  const obs = runs.map((r) => observeRun(r, tagChoice.perRun ? chooseSweepTag([r]).tag : tagChoice.tag, { excludeRuns: exclude }));
  if (tagChoice.tag === null && !tagChoice.perRun) warnings.push({ code: 'no_loss_tag', severity: 'warning', message: tagChoice.reason });
  const lossAtZero = opts.startedAtCheckpoint && gradients ? gradients.stats.meanLoss : null;
  const observedFit = observeUnit(obs, tagChoice, lossAtZero);
  warnings.push(...observedFit.warnings, ...flagWarnings(obs));
  const observed = observedFit.observed;

  let predicted: Predicted | null = null;
  if (gradients) {
    const { setup, warnings: setupWarnings } = unitSetup(runs, opts, gradients);
    const lrs = [...new Set(obs.map((o) => o.lr).filter((x): x is number => x !== null && x > 0))].sort((a, b) => a - b);
    if (lrs.length) setup.lrs = lrs;
    const fe = finite ? finiteEtaFor(finite, setup, lrs, opts.eigenpairs ?? DEFAULT_DIRECTIONS) : null;
    const limit = stabilityFromFiniteEta(fe);
    const report = predictSlope(setup, gradients.stats, { ...gradients.extras, ...extras, ...(limit ? { stabilityLimit: limit } : {}) });
    predicted = fe ? { ...report.predicted, finite_eta: fe } : report.predicted;
    warnings.push(...setupWarnings, ...report.warnings);
    if (fe) warnings.push(...finiteEtaWarnings(fe));
    for (const w of gradients.warnings) warnings.push({ code: 'gradient_engine', severity: 'info', message: w });
  }

  let ratio: number | null = null;
  let ratioCi: [number, number] | null = null;
  if (predicted?.slope != null && observed.slope !== null && observed.slope_stderr !== null) {
    const r = slopeRatioCi(observed.slope, observed.slope_stderr, predicted.slope, observedFit.slopeDof);
    ratio = r.ratio;
    ratioCi = r.ci;
  }
  let curve: { ratio: number; ci: [number, number] } | null = null;
  if (predicted?.regime === 'reshuffle_suppressed' && predicted.reshuffle_curve) {
    const scale = reshuffleCurveScale(observed.points, predicted.reshuffle_curve, lossAtZero);
    if (scale) {
      curve = scale;
      ratio = scale.ratio;
      ratioCi = scale.ci;
      observed.fit.notes.push(`compared with the reshuffling model: ${scale.note}`);
    }
  }
  const verdict = decideVerdict(observed, predicted, ratio, ratioCi, curve !== null);
  const now = ctx.now?.() ?? new Date();
  const result: AnalysisResult = {
    schema_version: SCHEMA_VERSION,
    tool: { name: 'heatcap', version: ctx.toolVersion },
    generated_at: now.toISOString(),
    root: ctx.root,
    sweep: unit.sweep,
    observed,
    predicted,
    ratio,
    ratio_ci: ratioCi,
    verdict,
    gradnorms: gradients?.summary ?? null,
    runs: obs.map(runSummary),
    warnings,
  };
  result.warnings.push(...interceptCheck(result, gradients));
  result.warnings = dedupe(result.warnings);
  return result;
}

function withLrOverride(run: Run, opts: AnalyzeOptions): Run {
  const lr = opts.lrOverrides?.[run.id];
  if (lr === undefined) return run;
  const source: Sourced<number> = { value: lr, source: opts.overrideSource === 'setting' ? 'set by the user in the runs view' : 'flag --set-lr' };
  return { ...run, hparams: { ...run.hparams, lr: source } };
}

function dedupe(list: ResultWarning[]): ResultWarning[] {
  const seen = new Set<string>();
  return list.filter((w) => {
    const k = `${w.code}|${w.run ?? ''}|${w.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
