/**
 * The analysis pipeline shared by the CLI, the extension (through the CLI child process) and the
 * language server's result files: discover the runs under a folder, group them into analysis units
 * (each sweep, and each run outside any sweep), compute the checkpoint's gradient statistics once when a
 * checkpoint is given, and analyse every unit.
 */
import { join, resolve, sep } from 'node:path';
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { CancelledError, HeatcapError } from '../errors';
import type { SubspaceCurvature } from '../finite-eta/types';
import { discoverRuns, type Discovery } from '../runs/discover';
import type { Run } from '../runs/model';
import type { AnalysisResult } from '../result/schema';
import type { PredictExtras } from '../theory/predict';
import { checkGradStatsAgainstUnit, discoverGradStats } from '../gradstats/analysis';
import { gradStatsInputs } from '../gradstats/read';
import { loggedNoiseInputs, markLoggedNoiseResult } from '../noise/inputs';
import { analyzeUnit, needsRefinements, unitSetup, type AnalysisUnit } from './analyzeUnit';
import { blockWithoutCurve, DEFAULT_DIRECTIONS, finiteEtaDynamics, type FiniteEtaSource } from './finiteEta';
import type { GradientInputs, GradientProvider } from './gradients';
import { readSweepManifest, withManifestDefaults } from './manifest';
import type { AnalyzeOptions } from './options';

export interface PipelineContext {
  toolVersion: string;
  token?: CancelToken;
  onProgress?: ProgressFn;
  /** Computes gradient statistics for `opts.model`; required when a model is given. */
  gradients?: GradientProvider;
  now?: () => Date;
}

/** Each sweep, then each run that belongs to no sweep, in discovery order. */
export function analysisUnits(d: Discovery): AnalysisUnit[] {
  const byId = new Map(d.runs.map((r) => [r.id, r]));
  const inSweep = new Set<string>();
  const units: AnalysisUnit[] = [];
  for (const s of d.sweeps) {
    const runs = s.runIds.map((id) => byId.get(id)).filter((r): r is Run => r !== undefined);
    runs.forEach((r) => inSweep.add(r.id));
    units.push({ sweep: { id: s.id, name: s.name, path: s.path }, runs, warnings: warningsUnder(d, s.path) });
  }
  for (const r of d.runs) {
    if (!inSweep.has(r.id)) units.push({ sweep: null, runs: [r], warnings: [] });
  }
  return units;
}

/** Discovery warnings about files inside a sweep's folder belong to that sweep's result. */
function warningsUnder(d: Discovery, relPath: string) {
  if (relPath === '.') return d.warnings;
  const fragment = `${sep}${relPath.split('/').join(sep)}${sep}`;
  return d.warnings.filter((w) => w.file !== undefined && `${w.file}${sep}`.includes(fragment));
}

export function unitId(u: AnalysisUnit): string {
  return u.sweep ? u.sweep.id : u.runs[0].id;
}

function unitLabel(u: AnalysisUnit): string {
  return u.sweep ? `sweep "${u.sweep.id}" (${u.runs.length} runs)` : `run "${u.runs[0].id}"`;
}

/**
 * Chooses what `heatcap analyze <root>` analyses when `--all` is not given: the unit named by
 * `sweepId`; the only unit; or the sweep at the root itself. Otherwise an error listing the choices.
 */
export function pickUnit(units: AnalysisUnit[], root: string, sweepId?: string): AnalysisUnit {
  if (sweepId !== undefined) {
    const hit = units.find((u) => unitId(u) === sweepId);
    if (!hit) throw new HeatcapError(root, `no sweep or run "${sweepId}" here (found: ${units.map(unitId).join(', ') || 'none'})`);
    return hit;
  }
  if (units.length === 1) return units[0];
  if (units.length === 0) throw new HeatcapError(root, 'no training runs found (looked for TensorBoard event files, metrics.csv, *.jsonl, trainer_state.json, mlruns/)');
  const atRoot = units.filter((u) => u.sweep?.path === '.');
  if (atRoot.length === 1) return atRoot[0];
  const sweeps = units.filter((u) => u.sweep);
  if (sweeps.length === 1) return sweeps[0];
  throw new HeatcapError(root, `several sweeps/runs here: ${units.map(unitLabel).join(', ')}; choose one with --sweep <id>, or analyse all with --all`);
}

export interface PipelineOutput {
  results: AnalysisResult[];
  discovery: Discovery;
}

/** Analyses every unit under `opts.root` (or only the chosen one when `all` is false). */
export async function analyzeFolder(opts: AnalyzeOptions, ctx: PipelineContext, all = true): Promise<PipelineOutput> {
  const root = resolve(opts.root);
  const progress = ctx.onProgress ?? (() => undefined);
  progress({ fraction: 0, message: 'finding runs' });
  const discovery = await discoverRuns(root, {
    maxDepth: opts.maxDepth,
    include: opts.include,
    exclude: opts.exclude,
    lrKeys: opts.lrKeys,
    token: ctx.token,
    onProgress: (p) => progress({ fraction: p.fraction !== undefined ? 0.4 * p.fraction : undefined, message: `reading ${p.message ?? ''}` }),
  });
  throwIfCancelled(ctx.token);
  const units = analysisUnits(discovery);
  const chosen = all ? units : [pickUnit(units, root, opts.sweepId)];

  // Each unit's options: the user's, completed from its sweep.json (written by the sweep lab); with a
  // gradstats.json (named, or found in the sweep/run folder or beside an unreadable checkpoint) the
  // manifest only supplies the loss and started_at_checkpoint.
  const unitOpts = await Promise.all(
    chosen.map(async (u) => {
      const sweepDir = u.sweep ? join(root, ...u.sweep.path.split('/')) : null;
      const manifest = sweepDir && (ctx.gradients || opts.gradstats) ? await readSweepManifest(sweepDir) : undefined;
      const gradstats = opts.gradstats ?? (await discoverGradStats(opts, sweepDir, u.runs));
      if (gradstats) return { ...opts, gradstats, loss: opts.loss ?? manifest?.loss, startedAtCheckpoint: opts.startedAtCheckpoint ?? manifest?.startedAtCheckpoint };
      return ctx.gradients ? withManifestDefaults(opts, manifest) : opts;
    }),
  );
  // Gradient statistics once per distinct checkpoint + data.
  const cache = new Map<string, Promise<GradientInputs>>();
  const checkpoints = new Set(unitOpts.filter((o) => o.model && !o.gradstats).map(gradientKey));
  let done = 0;
  const gradientsFor = (o: AnalyzeOptions): Promise<GradientInputs> | null => {
    if (o.gradstats) {
      const key = `gradstats:${o.gradstats}`;
      let p = cache.get(key);
      if (!p) {
        progress({ message: `reading ${o.gradstats}` });
        p = Promise.resolve().then(() => gradStatsInputs(o.gradstats as string));
        cache.set(key, p);
      }
      return p;
    }
    if (!o.model) return null;
    if (!ctx.gradients) throw new HeatcapError(o.model, 'no gradient engine available to read this checkpoint');
    if (!o.data) throw new HeatcapError(o.model, 'a checkpoint needs its training data (--data, and --labels unless the data file holds them)');
    const key = gradientKey(o);
    let p = cache.get(key);
    if (!p) {
      const base = 0.4 + (0.55 * done) / checkpoints.size;
      const span = 0.55 / checkpoints.size;
      done++;
      progress({ fraction: base, message: 'per-example gradient norms' });
      p = ctx
        .gradients(o, { token: ctx.token, onProgress: (q) => progress({ fraction: q.fraction !== undefined ? base + span * q.fraction : undefined, message: q.message }) })
        .then((g) => ({ ...g, summary: { ...g.summary, source: g.summary.source ?? 'engine' } }));
      cache.set(key, p);
    }
    return p;
  };
  const extrasCache = new Map<string, Promise<PredictExtras>>();
  const curvatureCache = new Map<string, Promise<SubspaceCurvature>>();
  /**
   * The finite-η input of a unit (THEORY.md §4, §6): the curvature from gradstats.json, or computed once
   * per checkpoint and k, only when the unit's setup has a finite-η model; otherwise the reason.
   */
  const finiteEtaOf = async (u: AnalysisUnit, o: AnalyzeOptions, gradients: GradientInputs): Promise<FiniteEtaSource | undefined> => {
    const k = o.eigenpairs ?? DEFAULT_DIRECTIONS;
    // Turned off, or no checkpoint (tr Σ from training logs): no block at all.
    if (o.finiteEta === false || gradients.fromTrainingLogs) return undefined;
    const d = finiteEtaDynamics(unitSetup(u.runs, o, gradients).setup, k);
    if ('block' in d) return d;
    if (gradients.curvature) return { curvature: gradients.curvature };
    if (!gradients.loadCurvature) {
      return gradients.origin
        ? { block: blockWithoutCurve('skipped', `${gradients.origin.file} has no curvature section (heatcap_torch writes one when asked for eigenpairs)`, k) }
        : undefined;
    }
    const key = `${gradientKey(o)}|${k}`;
    let p = curvatureCache.get(key);
    if (!p) {
      progress({ message: `top ${k} Hessian eigenpairs (finite η)` });
      p = gradients.loadCurvature(k, ctx.token, (q) => progress({ message: q.message ? `curvature: ${q.message}` : undefined }));
      curvatureCache.set(key, p);
    }
    try {
      return { curvature: await p };
    } catch (e) {
      // The curvature is an addition: a model the curvature engine cannot handle keeps its slope
      // analysis, and the block says why. Only a cancellation stops the analysis.
      if (e instanceof CancelledError) throw e;
      return { block: blockWithoutCurve('skipped', `curvature not computed: ${e instanceof Error ? e.message : String(e)}`, k) };
    }
  };
  const results: AnalysisResult[] = [];
  for (const [i, u] of chosen.entries()) {
    let o = unitOpts[i];
    const g = gradientsFor(o);
    let gradients = g ? await g : null;
    throwIfCancelled(ctx.token);
    // No checkpoint, model or gradstats.json: tr Σ from gradient noise the runs logged, if any (src/core/noise).
    const noise = !gradients && o.loggedNoise !== false ? loggedNoiseInputs(u.runs).result : null;
    if (noise) {
      progress({ message: 'gradient noise logged during training' });
      gradients = noise.inputs;
      o = { ...o, startedAtCheckpoint: false };
    }
    if (gradients?.origin) checkGradStatsAgainstUnit(gradients.origin, u.runs, o.loss);
    let extras: PredictExtras = {};
    if (gradients?.loadExtras && needsRefinements(u.runs, o, gradients)) {
      const key = gradientKey(o);
      let p = extrasCache.get(key);
      if (!p) {
        progress({ message: 'Hessian and per-example gradients (small model)' });
        p = gradients.loadExtras(ctx.token, (q) => progress({ message: q.message }));
        extrasCache.set(key, p);
      }
      extras = await p;
      throwIfCancelled(ctx.token);
    }
    const finite = gradients ? await finiteEtaOf(u, o, gradients) : undefined;
    throwIfCancelled(ctx.token);
    const result = analyzeUnit(u, o, gradients, { root, toolVersion: ctx.toolVersion, now: ctx.now }, extras, finite);
    results.push(noise ? markLoggedNoiseResult(result, noise.estimate) : result);
  }
  progress({ fraction: 1, message: 'done' });
  return { results, discovery };
}

function gradientKey(o: AnalyzeOptions): string {
  return JSON.stringify([o.model, o.data, o.labels ?? null, o.loss ?? null, o.backend ?? null]);
}
