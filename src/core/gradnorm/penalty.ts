import type * as tf from '@tensorflow/tfjs';
import type { ParamInfo } from '../model/params';
import { penaltyValue, weightPenalty } from './regularizers';

/** R(Φ): the model's L1/L2 weight penalties at the loaded weights, read from its layers' configs (regularizers.ts). */
export function penaltyOf(model: tf.LayersModel, params: ParamInfo[]): number {
  let value = 0;
  for (const p of params) {
    const layer = model.layers.find((l) => l.trainableWeights.includes(p.variable));
    const pen = layer ? weightPenalty(layer, p.name) : undefined;
    if (pen) value += penaltyValue(pen, p.variable.read().dataSync());
  }
  return value;
}
