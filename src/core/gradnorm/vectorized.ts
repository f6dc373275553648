import * as tf from '@tensorflow/tfjs';
import type { Penalties } from './penalty';
import { runPlan, type Plan } from './plan';
import { perExampleLoss } from './loss';
import type { GradProblem } from './problem';
import type { Want, WeightResult } from './rules/types';

/** One chunk's per-example results, in JS memory. */
export interface ChunkResult {
  /** ℓ_b including R(Φ). */
  losses: Float64Array;
  /** ‖g_b restricted to weight w‖² (g_b = h_b + r), per weight tensor. */
  perWeightSq: Float64Array[];
  /** Σ_b h_b and Σ_b h_b² per weight tensor (flattened), when wanted. */
  sums: (Float64Array | undefined)[];
  sumSqs: (Float64Array | undefined)[];
}

function toF64(x: tf.Tensor | Float64Array | undefined): Float64Array | undefined {
  if (x === undefined) return undefined;
  // new Float64Array(typed array) converts in one native pass; Float64Array.from iterates (slow for 400k).
  return x instanceof Float64Array ? x : new Float64Array(x.dataSync() as Float32Array);
}

/**
 * One batched forward and one backward pass to the layer outputs: every trainable layer's
 * pre-activation z gets z + e (e a zero scalar, so tf.grads has an input on the path) and a tap that
 * records δ = ∂Σ_bℓ_b/∂z. Weight gradients are never formed by autodiff; each layer's rule turns
 * (saved input, δ) into per-example squared norms (PERFORMANCE-NOTES.md, "the method").
 */
export function vectorizedChunk(problem: GradProblem, plan: Plan, pen: Penalties, x: Float32Array, y: Float32Array, B: number, want: Want): ChunkResult {
  const T = plan.trainableCount;
  const saved: tf.Tensor[][] = Array.from({ length: T }, () => []);
  const deltas: (tf.Tensor | undefined)[] = new Array(T).fill(undefined);
  const held: tf.Tensor[] = [];
  const hold = <U extends tf.Tensor>(t: U): U => {
    held.push(t);
    return t;
  };
  let lossesT: tf.Tensor | undefined;
  // Generic tap: z passes through unchanged (a reshape shares its data) while e puts it on the path.
  const taps = Array.from({ length: T }, (_, ti) =>
    tf.customGrad((...args: unknown[]) => {
      const z = args[0] as tf.Tensor;
      return {
        value: tf.reshape(z, z.shape),
        gradFunc: (dy: tf.Tensor) => {
          deltas[ti] = tf.keep(dy);
          return [dy, tf.zeros([])];
        },
      };
    }),
  );
  const xT = tf.tensor(x.subarray(0, B * problem.inputs.rowSize), [B, ...problem.inputs.rowShape]);
  const yT = tf.tensor(y.subarray(0, B * problem.targets.size), [B, ...problem.outputShape]);
  const es = Array.from({ length: T }, () => tf.scalar(0));
  const result: ChunkResult = { losses: new Float64Array(B), perWeightSq: [], sums: [], sumSqs: [] };
  try {
    const grads = tf.grads((...e: tf.Tensor[]) => {
      const out = runPlan(plan, xT, {
        weights: (step) => step.trainable!.params.map((i) => problem.params[i].variable.read()),
        layer: (ti, info) => ({
          tap: (z) => taps[ti](z, e[ti]) as tf.Tensor,
          e: e[ti],
          capture: (d) => {
            deltas[ti] = d;
          },
          hold: (t) => hold(tf.keep(t)),
          save: (t) => saved[ti].push(tf.keep(t)),
          ...info,
        }),
        hold: (t) => hold(tf.keep(t)),
      });
      lossesT = tf.keep(perExampleLoss(problem.loss, yT, out));
      return tf.sum(lossesT);
    })(es);
    tf.dispose(grads);
    const lv = lossesT!.dataSync();
    for (let b = 0; b < B; b++) result.losses[b] = lv[b] + pen.value;
    const P = problem.params.length;
    result.perWeightSq = Array.from({ length: P }, () => new Float64Array(B));
    result.sums = new Array(P).fill(undefined);
    result.sumSqs = new Array(P).fill(undefined);
    for (const step of plan.steps) {
      if (!step.trainable) continue;
      const { index, rule, params } = step.trainable;
      const delta = deltas[index];
      if (!delta) {
        // The layer's output never reaches the loss: h_b = 0, so g_b = r.
        for (const pi of params) {
          result.perWeightSq[pi].fill(pen.normSq[pi]);
          const size = problem.params[pi].size;
          result.sums[pi] = want.sum ? new Float64Array(size) : undefined;
          result.sumSqs[pi] = want.sumSq ? new Float64Array(size) : undefined;
        }
        continue;
      }
      tf.engine().startScope();
      try {
        const weights = params.map((i) => problem.params[i].variable.read());
        const res: WeightResult[] = rule.contributions(saved[index], delta, weights, params.map((i) => pen.tensors[i]), want);
        res.forEach((r, k) => {
          const pi = params[k];
          const sq = toF64(r.sq)!;
          const cross = toF64(r.cross);
          const rn2 = pen.normSq[pi];
          const outSq = result.perWeightSq[pi];
          // ‖h_b + r‖² = ‖h_b‖² + 2⟨h_b, r⟩ + ‖r‖².
          for (let b = 0; b < B; b++) outSq[b] = sq[b] + (cross ? 2 * cross[b] : 0) + rn2;
          result.sums[pi] = toF64(r.sum);
          result.sumSqs[pi] = toF64(r.sumSq);
        });
      } finally {
        tf.engine().endScope();
      }
    }
    return result;
  } finally {
    tf.dispose([xT, yT, ...es, ...saved.flat(), ...held, ...(deltas.filter(Boolean) as tf.Tensor[])]);
    if (lossesT) lossesT.dispose();
  }
}
