import * as tf from '@tensorflow/tfjs';
import type { ParamInfo } from '../model/params';
import type { Plan } from './plan';
import { penaltyGrad, penaltyValue, weightPenalty } from './regularizers';

/** The model's weight penalties at the loaded weights: R(Φ) and r = ∇R, flat and per weight tensor. */
export interface Penalties {
  /** R(Φ), added to every ℓ_b. */
  value: number;
  /** r in the flattened parameter order (zeros where a weight has no penalty). */
  grad: Float64Array;
  /** r per weight tensor as a tensor (undefined where the weight has no penalty). */
  tensors: (tf.Tensor | undefined)[];
  /** ‖r_w‖² per weight tensor. */
  normSq: number[];
  dispose(): void;
}

export function penaltiesOf(plan: Plan, params: ParamInfo[]): Penalties {
  const grad = new Float64Array(params.reduce((a, p) => a + p.size, 0));
  const tensors: (tf.Tensor | undefined)[] = params.map(() => undefined);
  const normSq = params.map(() => 0);
  let value = 0;
  for (const step of plan.steps) {
    if (step.layer.trainableWeights.length === 0) continue;
    step.layer.trainableWeights.forEach((w) => {
      const i = params.findIndex((p) => p.variable === w);
      if (i < 0) return;
      const pen = weightPenalty(step.layer, params[i].name);
      if (!pen) return;
      const values = params[i].variable.read().dataSync();
      value += penaltyValue(pen, values);
      const r = penaltyGrad(pen, values);
      grad.set(r, params[i].offset);
      tensors[i] = tf.tensor(Float32Array.from(r), params[i].shape);
      normSq[i] = r.reduce((a, x) => a + x * x, 0);
    });
  }
  return { value, grad, tensors, normSq, dispose: () => tensors.forEach((t) => t?.dispose()) };
}
