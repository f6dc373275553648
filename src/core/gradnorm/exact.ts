import * as tf from '@tensorflow/tfjs';
import { throwIfCancelled, type CancelToken } from '../cancel';
import { HeatcapError } from '../errors';
import { flatParams, paramCount, setFlatParams } from '../model/params';
import { describeParams } from './engine';
import { perExampleLoss } from './loss';
import { exampleGradient } from './naive';
import type { GradProblem } from './problem';
import { weightPenalty } from './regularizers';
import type { ParamDescription } from './stats';

/** Per-parameter matrices are for small models (THEORY.md §2–3 refinements): P ≤ this. */
export const MAX_EXACT_PARAMS = 5000;

export interface ExactOptions {
  /** Include the model's weight penalties (default true: ℓ_b as SGD sees it). */
  includePenalty?: boolean;
  /** Largest parameter count accepted (default MAX_EXACT_PARAMS). */
  maxParams?: number;
  token?: CancelToken;
}

function checkSize(problem: GradProblem, opts: ExactOptions): number {
  const P = paramCount(problem.params);
  const max = opts.maxParams ?? MAX_EXACT_PARAMS;
  if (P > max) throw new HeatcapError(problem.modelFile, `has ${P} parameters; exact per-parameter quantities are limited to ${max}`);
  return P;
}

/**
 * The N×P matrix of per-example gradients g_b = ∇ℓ_b (one Float64Array row per example, the model's
 * flattened parameter order), each from tf.variableGrads of that example alone (exact up to float32).
 */
export async function perExampleGradients(problem: GradProblem, opts: ExactOptions = {}): Promise<{ params: ParamDescription[]; rows: Float64Array[] }> {
  const P = checkSize(problem, opts);
  const rows: Float64Array[] = [];
  const chunk = 256;
  const x = new Float32Array(chunk * problem.inputs.rowSize);
  for (let s = 0; s < problem.n; s += chunk) {
    throwIfCancelled(opts.token);
    const B = Math.min(chunk, problem.n - s);
    problem.inputs.readRows(s, B, x);
    const y = problem.targets.read(s, B);
    for (let b = 0; b < B; b++) {
      const row = new Float64Array(P);
      exampleGradient(problem, x, y, b, (_loss, grads) => grads.forEach((g, i) => row.set(g, problem.params[i].offset)), opts.includePenalty !== false);
      rows.push(row);
    }
    await new Promise((r) => setImmediate(r));
  }
  return { params: describeParams(problem), rows };
}

/** 2·l2 per parameter: the Hessian of the L2 part of the penalty (the L1 part's is 0 away from w = 0). */
function penaltyCurvature(problem: GradProblem): Float64Array {
  const out = new Float64Array(paramCount(problem.params));
  const layers = problem.model.layers;
  for (const p of problem.params) {
    const layer = layers.find((l) => l.trainableWeights.includes(p.variable));
    const pen = layer ? weightPenalty(layer, p.name) : undefined;
    if (pen) out.fill(2 * pen.l2, p.offset, p.offset + p.size);
  }
  return out;
}

/**
 * ∇ mean_b (data loss ℓ_b), penalty excluded: tf.variableGrads of Σ_b ℓ_b over chunks of 1024 examples
 * (tfjs' own layers in inference mode, as the per-example loop), summed in float64 and divided by N.
 */
async function meanDataGradient(problem: GradProblem, token?: CancelToken): Promise<Float64Array> {
  const sum = new Float64Array(paramCount(problem.params));
  const vars = problem.params.map((p) => p.variable.read() as tf.Variable);
  const chunk = 1024;
  const x = new Float32Array(chunk * problem.inputs.rowSize);
  for (let s = 0; s < problem.n; s += chunk) {
    throwIfCancelled(token);
    const B = Math.min(chunk, problem.n - s);
    problem.inputs.readRows(s, B, x);
    const y = problem.targets.read(s, B);
    tf.tidy(() => {
      const xb = tf.tensor(x.subarray(0, B * problem.inputs.rowSize), [B, ...problem.inputs.rowShape]);
      const yb = tf.tensor(y.subarray(0, B * problem.targets.size), [B, ...problem.outputShape]);
      const { grads } = tf.variableGrads(() => tf.sum(perExampleLoss(problem.loss, yb, problem.model.apply(xb, { training: false }) as tf.Tensor)) as tf.Scalar, vars);
      problem.params.forEach((p, i) => {
        const g = grads[vars[i].name].dataSync();
        for (let k = 0; k < p.size; k++) sum[p.offset + k] += g[k];
      });
    });
    await new Promise((r) => setImmediate(r));
  }
  return sum.map((g) => g / problem.n);
}

/**
 * The P×P Hessian (row-major, symmetrised) of the mean training loss L = mean_b ℓ_b at the loaded
 * weights, the penalty included unless `includePenalty: false` (its L2 part adds 2·l2·I exactly; the
 * L1 part has zero curvature away from w = 0).
 *
 * Method: central differences of exact gradients with one Richardson step,
 * H e_i ≈ (4·D(h/2) − D(h))/3, D(h) = (∇L(θ + h e_i) − ∇L(θ − h e_i))/(2h), h = 0.01·max(1, |θ_i|):
 * truncation O(h⁴), float32 noise ≈ 3·ε·|∇ℓ|/h — about 1e-5–1e-4 of the largest entry on problems with
 * O(1) inputs (tested against softmax regression and least squares). tfjs' double backpropagation is
 * not used: it treats tensors saved for the backward pass (e.g. exp's output) as constants, which
 * drops Hessian terms (diag(p) of the softmax, for one).
 */
export async function hessian(problem: GradProblem, opts: ExactOptions = {}): Promise<{ params: ParamDescription[]; matrix: Float64Array }> {
  const P = checkSize(problem, opts);
  const H = new Float64Array(P * P);
  const theta = flatParams(problem.params);
  const work = Float64Array.from(theta);
  const at = async (i: number, delta: number) => {
    work[i] = theta[i] + delta;
    setFlatParams(problem.params, work);
    return meanDataGradient(problem, opts.token);
  };
  try {
    for (let i = 0; i < P; i++) {
      throwIfCancelled(opts.token);
      const h = 0.01 * Math.max(1, Math.abs(theta[i]));
      const [p1, m1, p2, m2] = [await at(i, h), await at(i, -h), await at(i, h / 2), await at(i, -h / 2)];
      work[i] = theta[i];
      for (let j = 0; j < P; j++) {
        const d1 = (p1[j] - m1[j]) / (2 * h);
        const d2 = (p2[j] - m2[j]) / h;
        H[j * P + i] = (4 * d2 - d1) / 3;
      }
    }
  } finally {
    setFlatParams(problem.params, theta);
  }
  if (opts.includePenalty !== false) {
    const c = penaltyCurvature(problem);
    for (let i = 0; i < P; i++) H[i * P + i] += c[i];
  }
  for (let i = 0; i < P; i++) {
    for (let j = i + 1; j < P; j++) {
      const m = (H[i * P + j] + H[j * P + i]) / 2;
      H[i * P + j] = m;
      H[j * P + i] = m;
    }
  }
  return { params: describeParams(problem), matrix: H };
}
