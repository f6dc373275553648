/**
 * The gradient engine behind `analyze --model`: per-example statistics over the whole training set in
 * worker threads (src/core/gradnorm/run.ts), and — only when a unit's setup needs them (random
 * reshuffling, weight decay outside the logged loss) and the model is small — the Hessian and the
 * per-example gradient matrix for the refinements of THEORY.md §2–3, computed in this thread; and, for
 * the finite-η prediction, the loss's curvature in its top-k Hessian directions (src/core/curvature).
 */
import type { CancelToken, ProgressFn } from '../cancel';
import { throwIfCancelled } from '../cancel';
import { runGradNorms } from '../gradnorm/run';
import { toGradNormSummary } from '../gradnorm/summary';
import { readModelJsonFile } from '../model/fs-io';
import type { PredictExtras } from '../theory/predict';
import { denseF64Refinements } from './denseRefinements';
import type { GradientInputs, GradientProvider } from './gradients';
import type { AnalyzeOptions } from './options';

/** Hessian by finite differences costs ~4P full-data gradients, and O(P³) after it (THEORY area: 1,500). */
export const MAX_REFINEMENT_PARAMS = 1500;
/** N×P float64 per-example gradients kept in memory at most (160 MB). */
const MAX_GRADIENT_MATRIX = 20_000_000;

/** Model facts from model.json alone (no tfjs needed): BatchNorm layers, Keras weight regularisers. */
export function modelFactsFromJson(file: string): { hasBatchNorm: boolean; hasRegularizers: boolean } {
  return modelFactsOfTopology(readModelJsonFile(file).modelTopology);
}

export function modelFactsOfTopology(topology: unknown): { hasBatchNorm: boolean; hasRegularizers: boolean } {
  let hasBatchNorm = false;
  let hasRegularizers = false;
  const visit = (node: unknown, depth: number): void => {
    if (depth > 64 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const x of node) visit(x, depth + 1);
      return;
    }
    const o = node as Record<string, unknown>;
    if (o.class_name === 'BatchNormalization' || o.className === 'BatchNormalization') hasBatchNorm = true;
    for (const [k, v] of Object.entries(o)) {
      if (/^(kernel|bias|gamma|beta|embeddings|depthwise|pointwise|recurrent)_?regularizer$/i.test(k) && v) hasRegularizers = true;
      else visit(v, depth + 1);
    }
  };
  visit(topology, 0);
  return { hasBatchNorm, hasRegularizers };
}

async function refinements(opts: AnalyzeOptions, paramCount: number, n: number, token?: CancelToken, onProgress?: ProgressFn): Promise<PredictExtras> {
  if (paramCount > MAX_REFINEMENT_PARAMS || paramCount * n > MAX_GRADIENT_MATRIX) return {};
  // Dense-only models: float64, one central difference per column (fast and accurate).
  const dense = await denseF64Refinements({ model: opts.model as string, data: opts.data as string, labels: opts.labels, loss: opts.loss, backend: opts.backend }, token, onProgress);
  if (dense) return { ...dense, maxParams: MAX_REFINEMENT_PARAMS };
  // Loaded lazily: tfjs in this thread is only needed for these small-model refinements.
  const { initBackend } = require('../tf/backend') as typeof import('../tf/backend');
  const { openGradProblem } = require('../gradnorm/problem') as typeof import('../gradnorm/problem');
  const { hessian, perExampleGradients } = require('../gradnorm/exact') as typeof import('../gradnorm/exact');
  await initBackend(opts.backend ?? 'auto');
  const problem = await openGradProblem({ model: opts.model as string, data: { data: opts.data as string, labels: opts.labels }, loss: opts.loss });
  try {
    onProgress?.({ fraction: 0, message: `per-example gradients (${n} × ${paramCount})` });
    const g = await perExampleGradients(problem, { token });
    throwIfCancelled(token);
    onProgress?.({ fraction: 0.2, message: `Hessian (${paramCount} × ${paramCount})` });
    const h = await hessian(problem, { token });
    const flat = new Float64Array(g.rows.length * paramCount);
    g.rows.forEach((row, i) => flat.set(row, i * paramCount));
    // The penalty is part of ℓ_b for Keras regularisers: SGD's dynamics see H with it, and Σ is
    // unchanged by it (a constant shift of every g_b).
    return { hessian: h.matrix, perExampleGrads: flat, maxParams: MAX_REFINEMENT_PARAMS };
  } finally {
    problem.close();
  }
}

export const engineGradients: GradientProvider = async (opts, ctx) => {
  const model = opts.model as string;
  const run = await runGradNorms({
    model,
    data: { data: opts.data as string, labels: opts.labels },
    loss: opts.loss,
    backend: opts.backend ?? 'auto',
    engine: opts.engine ?? 'auto',
    runtime: opts.runtime,
    semantics: opts.lossSemantics,
    frozen: opts.frozen,
    diagonal: true,
    token: ctx.token,
    onProgress: ctx.onProgress,
  });
  const paramCount = run.params.reduce((a, p) => a + p.size, 0);
  const inputs: GradientInputs = {
    stats: {
      n: run.n,
      meanLoss: run.meanLoss,
      meanSqNorm: run.meanSqNorm,
      meanGradSqNorm: run.meanGradSqNorm,
      traceCov: run.traceCov,
      diagSecondMoment: run.diagSecondMoment,
      meanGrad: run.meanGrad,
      sqNormSd: run.sqNormSd,
    },
    summary: toGradNormSummary(run, model, opts.data as string),
    model: run.modelFacts,
    warnings: run.notes,
    // The Hessian refinements use the TF.js model (float64 Dense path or tfjs autodiff): model.json only.
    // (They see every weight of the model file: not with --freeze.)
    loadExtras: (token, onProgress) => (/\.json$/i.test(model) && !opts.frozen?.length ? refinements(opts, paramCount, run.n, token, onProgress) : Promise.resolve({})),
    // Top-k eigenpairs and per-example projections for the finite-η prediction (src/core/curvature picks
    // float64 for Dense-only models, Hessian-vector products through the engine otherwise).
    loadCurvature: async (k, token, onProgress) => {
      const { computeSubspaceCurvature } = require('../curvature') as typeof import('../curvature');
      const c = await computeSubspaceCurvature(
        { model, data: { data: opts.data as string, labels: opts.labels }, loss: opts.loss, semantics: opts.lossSemantics, frozen: opts.frozen },
        { k, runtime: opts.runtime },
        token,
        onProgress,
      );
      // Float64 Dense models: the per-example curvature outside the top k, or with --finite-eta-full on a
      // one-Dense-layer model the whole layer for the full-parameter solve (src/core/analysis/finiteEta.ts).
      const { attachFiniteEtaExtras } = require('./finiteEta') as typeof import('./finiteEta');
      return opts.lossSemantics === 'clipped' || opts.frozen?.length ? c : attachFiniteEtaExtras(c, { model, data: opts.data as string, labels: opts.labels, loss: opts.loss }, { full: opts.finiteEtaFull === true });
    },
  };
  return inputs;
};
