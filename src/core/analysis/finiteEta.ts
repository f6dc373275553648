/**
 * Which units get the finite-η prediction (issue 20; THEORY.md §4, §6) and with which dynamics. The
 * second-moment model of §4 is for SGD (heavy ball, Nesterov) with independent minibatches: i.i.d.
 * indices, or B distinct examples drawn afresh each step. Adam's preconditioner moves with the noise
 * and random reshuffling correlates the noise within an epoch (§3): neither has a finite-η model here,
 * and the result says so (`unsupported`) rather than drawing a curve for the wrong dynamics.
 */
import { finiteEtaPrediction, type DenseLayerCurvature } from '../finite-eta';
import { FULL_SOLVE_MAX_PARAMETERS } from '../finite-eta/predict';
import type { DenseData, DenseF64Model, DenseNetSpec } from '../lab/dense-f64';
import type { SgdDynamics, SubspaceCurvature } from '../finite-eta/types';
import type { FiniteEta } from '../result/schema';
import { optimizerFamily, type TrainingSetup } from '../theory/setup';

/** Hessian directions k by default (`--eigenpairs`, `heatcap.finiteEta.directions`). */
export const DEFAULT_DIRECTIONS = 10;

/** What the pipeline hands `analyzeUnit`: the curvature to predict from, or the block saying why there is none. */
export type FiniteEtaSource = { curvature: SubspaceCurvature } | { block: FiniteEta };

/** A finite-η block without numbers: the status and the reason. */
export function blockWithoutCurve(status: Exclude<FiniteEta['status'], 'ok'>, message: string, directions: number): FiniteEta {
  return {
    status,
    message,
    parameters: null,
    directions,
    method: null,
    hvp: null,
    eigenvalues: [],
    limits: { deterministic: null, mean_square: null },
    form: null,
    curve: null,
    cost_gradient_passes: null,
    seconds: null,
    notes: [],
  };
}

/** The SGD dynamics of this setup, or the `unsupported`/`skipped` block when the model does not cover it. */
export function finiteEtaDynamics(setup: TrainingSetup, directions: number): { dynamics: SgdDynamics } | { block: FiniteEta } {
  const fam = optimizerFamily(setup.optimizer);
  const unsupported = (why: string) => ({ block: blockWithoutCurve('unsupported', why, directions) });
  if (fam.family !== 'sgd') {
    return unsupported(`optimizer ${setup.optimizer}: the finite-η model is for SGD (with or without momentum); an adaptive optimiser's preconditioner moves with the gradient noise, so only the small-η slope is predicted`);
  }
  if (setup.sampling === 'reshuffle') {
    return unsupported('random reshuffling: the gradient noise is anti-correlated within an epoch (THEORY.md §3); the second-moment model assumes independent minibatches (i.i.d. or distinct examples drawn afresh each step)');
  }
  if (setup.has_batchnorm && setup.weight_decay > 0) {
    return unsupported('scale-invariant (BatchNorm) weights under weight decay have no stationary point to expand around (THEORY.md §2)');
  }
  const B = setup.batch_size;
  if (B === null || !(B >= 1)) return { block: blockWithoutCurve('skipped', 'the batch size is not stated anywhere (e.g. --batch-size): the noise of a minibatch is unknown', directions) };
  return {
    dynamics: {
      batchSize: B,
      sampling: setup.sampling === 'without_replacement' ? 'without_replacement' : 'with_replacement',
      datasetSize: setup.dataset_size,
      momentum: setup.momentum,
      dampening: setup.dampening,
      nesterov: setup.nesterov || fam.nesterov,
      // Coupled λ adds λI to H and to every A_b. A decoupled decay (SGDW) is the same step without momentum
      // and is treated as coupled with it (it then skips the momentum buffer: a small difference in the dynamics).
      weightDecay: setup.weight_decay,
    },
  };
}

/** The finite-η block for a unit: the prediction from `source`, at least over the unit's own learning rates. */
export function finiteEtaFor(source: FiniteEtaSource, setup: TrainingSetup, lrs: number[], directions: number): FiniteEta {
  if ('block' in source) return source.block;
  const d = finiteEtaDynamics(setup, directions);
  if ('block' in d) return d.block;
  return finiteEtaPrediction(source.curvature, d.dynamics, { lrs, lossIncludesPenalty: setup.loss_includes_penalty });
}

/** The limit the rest of the result uses as `stability_lr`: mean-square when known, else deterministic. */
export function stabilityFromFiniteEta(fe: FiniteEta | null | undefined): { lr: number; kind: 'mean_square' | 'deterministic' } | null {
  if (!fe) return null;
  const ms = fe.limits.mean_square;
  if (ms !== null && Number.isFinite(ms) && ms > 0) return { lr: ms, kind: 'mean_square' };
  const det = fe.limits.deterministic;
  if (det !== null && Number.isFinite(det) && det > 0) return { lr: det, kind: 'deterministic' };
  return null;
}

/**
 * The full-parameter quadratic model of a model that is one Dense layer (THEORY.md §6): inputs x̃_b,
 * output curvature K_b and output gradient r_b at the checkpoint, penalty curvature, for
 * `denseFullSolution`. Covered: softmax activation with (sparse) categorical cross-entropy on
 * probabilities (Keras's clip at 1e-7 changes the curvature by at most that much), linear activation with cross-entropy from logits
 * (K_b = Σy·(diag p − ppᵀ), r_b = Σy·p − y), linear activation with MSE (K_b = (2/C)·I,
 * r_b = 2(z − y)/C); L2 penalties only (an L1 penalty is not twice differentiable). Anything else: null.
 * Parameters are ordered c·F + f here (the solve does not depend on the order).
 */
export async function denseLayerCurvature(spec: { model: string; data: string; labels?: string; loss?: string }): Promise<DenseLayerCurvature | null> {
  if (!/\.json$/i.test(spec.model)) return null;
  const { openLab } = require('../lab/open') as typeof import('../lab/open');
  let opened: Awaited<ReturnType<typeof openLab>>;
  try {
    opened = await openLab({ model: spec.model, data: { data: spec.data, labels: spec.labels }, loss: spec.loss, engine: 'dense-f64', backend: 'auto', batchSize: 1 });
  } catch {
    return null;
  }
  try {
    if (opened.model.engine !== 'dense-f64') return null;
    const m = opened.model as DenseF64Model;
    return denseLayerFromNet(m.spec, (m as unknown as { data: DenseData }).data, opened.initial);
  } finally {
    opened.model.dispose();
  }
}

/** `denseLayerCurvature` on an opened float64 net (exported for tests). */
export function denseLayerFromNet(net: DenseNetSpec, data: DenseData, w: Float64Array): DenseLayerCurvature | null {
  if (net.layers.length !== 1) return null;
  const l = net.layers[0];
  const { kind, fromLogits } = net.loss;
  const ce = kind === 'categorical_crossentropy' || kind === 'sparse_categorical_crossentropy';
  const mode = l.activation === 'softmax' && ce && !fromLogits ? 'softmax' : l.activation === 'linear' && ce && fromLogits ? 'logits' : l.activation === 'linear' && kind === 'mse' ? 'mse' : null;
  if (mode === null) return null;
  const C = l.outDim;
  const bias = l.biasOffset >= 0;
  const F = l.inDim + (bias ? 1 : 0);
  const n = data.n;
  const P = C * F;
  const penalty = new Float64Array(P);
  for (const p of net.penalties) {
    if (p.l1 !== 0) return null;
    for (let q = p.offset; q < p.offset + p.size; q++) {
      let idx: number;
      if (q >= l.kernelOffset && q < l.kernelOffset + l.inDim * C) {
        const f = Math.floor((q - l.kernelOffset) / C);
        idx = ((q - l.kernelOffset) % C) * F + f;
      } else if (bias && q >= l.biasOffset && q < l.biasOffset + C) idx = (q - l.biasOffset) * F + F - 1;
      else return null;
      penalty[idx] += 2 * p.l2;
    }
  }
  const inputs = new Float64Array(n * F);
  const K = new Float64Array(n * C * C);
  const r = new Float64Array(n * C);
  const z = new Float64Array(C);
  const logits = mode === 'mse' ? null : new Float64Array(n * C);
  for (let b = 0; b < n; b++) {
    for (let f = 0; f < l.inDim; f++) inputs[b * F + f] = data.x[b * l.inDim + f];
    if (bias) inputs[b * F + F - 1] = 1;
    for (let c = 0; c < C; c++) {
      let t = bias ? w[l.biasOffset + c] : 0;
      for (let f = 0; f < l.inDim; f++) t += data.x[b * l.inDim + f] * w[l.kernelOffset + f * C + c];
      z[c] = t;
    }
    let ySum = 0;
    for (let c = 0; c < C; c++) ySum += data.y[b * C + c];
    if (mode === 'mse') {
      for (let c = 0; c < C; c++) {
        r[b * C + c] = (2 * (z[c] - data.y[b * C + c])) / C;
        K[(b * C + c) * C + c] = 2 / C;
      }
      continue;
    }
    logits?.set(z, b * C);
    const zMax = Math.max(...z);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[c] - zMax);
    for (let c = 0; c < C; c++) {
      const p = Math.exp(z[c] - zMax) / s;
      z[c] = p;
    }
    for (let c = 0; c < C; c++) {
      r[b * C + c] = ySum * z[c] - data.y[b * C + c];
      for (let c2 = 0; c2 < C; c2++) K[(b * C + c) * C + c2] = ySum * ((c === c2 ? z[c] : 0) - z[c] * z[c2]);
    }
  }
  const layer: DenseLayerCurvature = { n, features: F, outputs: C, inputs, outputCurvature: K, outputGradient: r, penaltyDiagonal: penalty };
  if (logits !== null) layer.outputLoss = { kind: 'softmax_cross_entropy', logits, targets: Float64Array.from(data.y.subarray(0, n * C)) };
  return layer;
}

/**
 * mean_b (A_b v_i)·(A_b v_j) over the examples the projections used (all N, or c.n evenly spaced as
 * src/core/curvature picks them), for models the lab's float64 engine runs: A_b v by central differences
 * of float64 per-example gradients (penalties included), step 1e-4 along unit v (truncation ~1e-8,
 * round-off ~1e-12). Checked against the producer's v_iᵀA_b v_i (relative 1e-4 of max_i mean_b |·|);
 * null (with the reason in `notes`) when it cannot be computed or does not match.
 */
export async function perExampleCurvatureSquare(spec: { model: string; data: string; labels?: string; loss?: string }, c: SubspaceCurvature, notes: string[] = []): Promise<Float64Array | null> {
  if (!/\.json$/i.test(spec.model) || c.vectors === undefined) return null;
  const { openLab } = require('../lab/open') as typeof import('../lab/open');
  let opened: Awaited<ReturnType<typeof openLab>>;
  try {
    opened = await openLab({ model: spec.model, data: { data: spec.data, labels: spec.labels }, loss: spec.loss, engine: 'dense-f64', backend: 'auto', batchSize: 1 });
  } catch (e) {
    notes.push(`per-example curvature outside V not computed: ${(e as Error).message}`);
    return null;
  }
  try {
    const m = opened.model;
    const P = m.paramCount;
    const { k, n } = c;
    if (P !== c.parameters) return null;
    const N = m.n;
    const rows = n >= N ? Int32Array.from({ length: N }, (_, i) => i) : Int32Array.from({ length: n }, (_, i) => Math.floor((i * N) / n));
    if (rows.length !== n) return null;
    const eps = 1e-4;
    const w0 = opened.initial;
    const shifted = Array.from({ length: k }, (_, i) =>
      [1, -1].map((sg) => {
        const w = w0.slice();
        for (let p = 0; p < P; p++) w[p] += sg * eps * c.vectors![i * P + p];
        return w;
      }),
    );
    const idx = new Int32Array(1);
    const gp = new Float64Array(P);
    const gm = new Float64Array(P);
    const av = Array.from({ length: k }, () => new Float64Array(P));
    const square = new Float64Array(k * k);
    let worst = 0;
    let scale = 0;
    for (let r = 0; r < n; r++) {
      idx[0] = rows[r];
      for (let i = 0; i < k; i++) {
        m.batchLossGrad(shifted[i][0], idx, gp);
        m.batchLossGrad(shifted[i][1], idx, gm);
        const a = av[i];
        let vav = 0;
        for (let p = 0; p < P; p++) {
          a[p] = (gp[p] - gm[p]) / (2 * eps);
          vav += a[p] * c.vectors![i * P + p];
        }
        const ref = c.perExampleCurvature[(r * k + i) * k + i];
        worst = Math.max(worst, Math.abs(vav - ref));
        scale = Math.max(scale, Math.abs(ref));
      }
      for (let i = 0; i < k; i++) {
        for (let j = i; j < k; j++) {
          let t = 0;
          const a = av[i];
          const b = av[j];
          for (let p = 0; p < P; p++) t += a[p] * b[p];
          square[i * k + j] += t / n;
        }
      }
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) square[i * k + j] = square[j * k + i];
    if (!(worst <= 1e-4 * Math.max(scale, 1e-300))) {
      notes.push(`per-example curvature outside V not used: v_iᵀA_b v_i from float64 differences differ from the producer's by ${worst.toExponential(2)} (largest ${scale.toExponential(2)})`);
      return null;
    }
    return square;
  } finally {
    opened.model.dispose();
  }
}

/** Largest n·k·P·(k + 4) (multiply-adds, about) the pipeline spends on perExampleCurvatureSquare. */
export const CURVATURE_SQUARE_BUDGET = 3e9;

/**
 * Largest one-Dense-layer model whose full-parameter solve runs by default: its cost grows as P³ (the
 * setup's eigen-decomposition and the basis changes) and P²·N (the per-example term); measured 10.6–11.5 s
 * of CPU at P = 650 on the digits softmax, and 3.5 s wall (4.3 s CPU, opening the float64 engine included)
 * at P = 300 over 1797 examples. Larger layers (up to
 * FULL_SOLVE_MAX_PARAMETERS) run it with `--finite-eta-full`.
 */
export const FULL_SOLVE_DEFAULT_MAX_PARAMETERS = 300;

/**
 * The non-quadratic (Gaussian-closure) correction also runs by default on such a small cross-entropy layer when
 * it has at most this many examples: its cost is about n × 512 points per iteration, 20–25 iterations for the
 * curve's three η (measured: n = 1,250, C = 4: 5.2 s of CPU; so about 2 s at 500). The digits softmax
 * (n = 1,797, C = 10) takes about 28 s: opt-in there (`--finite-eta-full`).
 */
export const CLOSURE_DEFAULT_MAX_EXAMPLES = 500;

/**
 * What the pipeline adds to the engine's curvature before the prediction (float64 Dense models only):
 * the whole layer when the model is one Dense layer the full-parameter solve covers and either it is small
 * (≤ FULL_SOLVE_DEFAULT_MAX_PARAMETERS, while the top directions do not already span every parameter) or
 * `full` asks for it (`--finite-eta-full`, up to FULL_SOLVE_MAX_PARAMETERS); otherwise, within
 * CURVATURE_SQUARE_BUDGET, mean_b (A_b v_i)·(A_b v_j) for the first-order coupling to the other directions.
 * Larger layers are opt-in because the solve costs P³ per Lanczos step (about 11 s of CPU on the
 * 650-parameter digits softmax, against about 2 s for the rest of the curvature; the panel re-analyses a
 * growing log within seconds). Says what it did in c.notes; never fails the analysis.
 */
export async function attachFiniteEtaExtras(c: SubspaceCurvature, spec: { model: string; data: string; labels?: string; loss?: string }, extras: { full?: boolean } = {}): Promise<SubspaceCurvature> {
  if (!/\.json$/i.test(spec.model) || !c.converged) return c;
  try {
    const small = c.parameters <= FULL_SOLVE_DEFAULT_MAX_PARAMETERS;
    if (extras.full || small) {
      const layer = await denseLayerCurvature(spec);
      if (layer !== null && layer.outputs * layer.features <= FULL_SOLVE_MAX_PARAMETERS) {
        const cheap = small && layer.outputLoss !== undefined && layer.n <= CLOSURE_DEFAULT_MAX_EXAMPLES;
        if (extras.full || cheap) layer.correctNonQuadratic = true;
        // With k = P the subspace solve is already exact for the quadratic model: the layer is needed only for the closure.
        if (extras.full || cheap || c.k < c.parameters) {
          c.denseLayer = layer;
          return c;
        }
      }
      if (extras.full)
        c.notes.push(
        layer === null
          ? 'full-parameter solve asked for (--finite-eta-full) but the model is not one Dense layer: the top directions with their first-order coupling instead'
          : `full-parameter solve asked for (--finite-eta-full) but the layer has ${layer.outputs * layer.features} parameters > ${FULL_SOLVE_MAX_PARAMETERS}: the top directions with their first-order coupling instead`,
      );
    }
    const cost = c.n * c.k * c.parameters * (c.k + 4);
    if (cost > CURVATURE_SQUARE_BUDGET) {
      c.notes.push(`per-example curvature outside the top ${c.k} directions not computed: about ${cost.toExponential(1)} multiply-adds > ${CURVATURE_SQUARE_BUDGET.toExponential(0)}`);
      return c;
    }
    const t0 = Date.now();
    const sq = await perExampleCurvatureSquare(spec, c, c.notes);
    if (sq !== null) {
      c.perExampleCurvatureSquare = sq;
      c.notes.push(`mean_b (A_b v_i)·(A_b v_j) from float64 per-example gradients at w₀ ± 1e-4·v_i (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } catch (e) {
    c.notes.push(`finite-η extras not computed: ${(e as Error).message}`);
  }
  return c;
}
