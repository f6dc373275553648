import * as tf from '@tensorflow/tfjs';
import { MemorySource } from '../../../src/core/data/source';
import { buildSequential, type LayerSpec } from '../../../src/core/model/build';
import type { TrainingArrays } from '../../../src/core/data/open';
import type { LoadedModel } from '../../../src/core/model/load';
import { mulberry32 } from '../../../src/core/random';

export const rng = mulberry32;

export function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => gaussian(r) * scale);
}

export function randomLabels(n: number, classes: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.floor(r() * classes));
}

/** Training arrays held in memory (no files), as openTrainingArrays would return them. */
export function memoryArrays(x: Float32Array, xRowShape: number[], y: Float64Array, yRowShape: number[] = [], integerLabels = true): TrainingArrays {
  const n = y.length / Math.max(1, yRowShape.reduce((a, b) => a * b, 1));
  return {
    inputs: new MemorySource('x (memory)', x, n, xRowShape, false),
    labels: new MemorySource('y (memory)', y, n, yRowShape, integerLabels),
    close: () => {},
  };
}

/** A model built in memory, wrapped as if it had been loaded from `name`. */
export function asLoaded(model: tf.LayersModel, loss: string, name = 'model.json (memory)'): LoadedModel {
  return {
    model,
    file: name,
    trainingConfig: { loss },
    manifest: { file: name, modelTopology: {}, groups: [], totalElements: 0 },
  };
}

export function seqModel(inputShape: number[], specs: LayerSpec[], seed = 1): tf.Sequential {
  return buildSequential(inputShape, specs, seed);
}
