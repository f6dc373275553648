import * as tf from '@tensorflow/tfjs';
import { perExampleLoss } from './loss';
import type { GradProblem } from './problem';

/** One chunk's per-example results, in JS memory. */
export interface ChunkResult {
  /** ℓ_b, the weight penalties included. */
  losses: Float64Array;
  /** ‖g_b restricted to weight w‖², per weight tensor. */
  perWeightSq: Float64Array[];
  /** Σ_b g_b and Σ_b g_b² per weight tensor (flattened), when wanted. */
  sums: (Float64Array | undefined)[];
  sumSqs: (Float64Array | undefined)[];
}

/** tfjs' own weight-penalty losses of every layer (recursing into nested models). */
function layerPenalties(model: tf.LayersModel): tf.Scalar[] {
  const out: tf.Scalar[] = [];
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) out.push(...layerPenalties(layer));
    else out.push(...layer.calculateLosses());
  }
  return out;
}

/**
 * The exact gradient of one example's loss: tfjs' own layer implementations (`model.apply`,
 * inference mode), tfjs' own regulariser losses and `tf.variableGrads` with respect to the trainable
 * weights. It shares nothing with the ONNX engine (its own graph lowering, VJP rules and per-example
 * forms), which makes it that engine's oracle in the tests and its fallback for layers it cannot express.
 */
export function exampleGradient(
  problem: GradProblem,
  x: Float32Array,
  y: Float32Array,
  b: number,
  visit: (loss: number, grads: Float32Array[]) => void,
  includePenalty = true,
): void {
  const vars = problem.params.map((p) => p.variable.read() as tf.Variable);
  const xs = problem.inputs.rowSize;
  const ys = problem.targets.size;
  tf.engine().startScope();
  try {
    const xb = tf.tensor(x.subarray(b * xs, (b + 1) * xs), [1, ...problem.inputs.rowShape]);
    const yb = tf.tensor(y.subarray(b * ys, (b + 1) * ys), [1, ...problem.outputShape]);
    const { value, grads } = tf.variableGrads(() => {
      const out = problem.model.apply(xb, { training: false }) as tf.Tensor;
      return tf.addN([tf.sum(perExampleLoss(problem.loss, yb, out)), ...(includePenalty ? layerPenalties(problem.model) : [])]) as tf.Scalar;
    }, vars);
    visit(
      value.dataSync()[0],
      vars.map((v) => grads[v.name].dataSync() as Float32Array),
    );
  } finally {
    tf.engine().endScope();
  }
}

/** The exact per-example loop over a chunk, reduced to per-chunk results. */
export function naiveChunk(problem: GradProblem, x: Float32Array, y: Float32Array, B: number, want: { sum: boolean; sumSq: boolean }): ChunkResult {
  const { params } = problem;
  const result: ChunkResult = {
    losses: new Float64Array(B),
    perWeightSq: params.map(() => new Float64Array(B)),
    sums: params.map((p) => (want.sum ? new Float64Array(p.size) : undefined)),
    sumSqs: params.map((p) => (want.sumSq ? new Float64Array(p.size) : undefined)),
  };
  for (let b = 0; b < B; b++) {
    exampleGradient(problem, x, y, b, (loss, grads) => {
      result.losses[b] = loss;
      grads.forEach((g, i) => {
        let sq = 0;
        const sum = result.sums[i];
        const sumSq = result.sumSqs[i];
        for (let k = 0; k < g.length; k++) {
          sq += g[k] * g[k];
          if (sum) sum[k] += g[k];
          if (sumSq) sumSq[k] += g[k] * g[k];
        }
        result.perWeightSq[i][b] = sq;
      });
    });
  }
  return result;
}
