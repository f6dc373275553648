import * as tf from '@tensorflow/tfjs';

/** One trainable weight tensor and its place in the model's flattened parameter vector. */
export interface ParamInfo {
  /** The weight's name in model.json's manifest (tfjs `originalName`, e.g. `dense_1/kernel`). */
  name: string;
  shape: number[];
  size: number;
  /** Offset of its first element in the flattened vector (row-major within the tensor). */
  offset: number;
  variable: tf.LayerVariable;
}

/**
 * The model's trainable weights in `model.trainableWeights` order: the parameter order every
 * per-parameter array (mean gradient, diagonal second moment, per-example gradient rows) uses.
 */
export function trainableParams(model: tf.LayersModel): ParamInfo[] {
  let offset = 0;
  return model.trainableWeights.map((v) => {
    const size = v.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const info: ParamInfo = { name: v.originalName ?? v.name, shape: v.shape as number[], size, offset, variable: v };
    offset += size;
    return info;
  });
}

export function paramCount(params: ParamInfo[]): number {
  return params.reduce((a, p) => a + p.size, 0);
}

/** The current parameter values as one flat float64 vector, in `trainableParams` order. */
export function flatParams(params: ParamInfo[]): Float64Array {
  const out = new Float64Array(paramCount(params));
  for (const p of params) out.set(p.variable.read().dataSync(), p.offset);
  return out;
}

/** Overwrites the trainable weights from a flat vector in `trainableParams` order. */
export function setFlatParams(params: ParamInfo[], values: ArrayLike<number>): void {
  for (const p of params) {
    const slice = Float32Array.from({ length: p.size }, (_, i) => values[p.offset + i]);
    tf.tidy(() => {
      p.variable.write(tf.tensor(slice, p.shape));
    });
  }
}
