/**
 * Small TF.js models of the common layer types, with their data: the ONNX engine against TF.js' exact
 * per-example loop (test/unit/engine/tfjs-models.test.ts).
 */
import type { LayerSpec } from '../../../src/core/model/build';
import { memoryArrays, randomArray, randomLabels } from './random';

/** Examples per case. */
export const N = 12;

export interface Case {
  name: string;
  inputShape: number[];
  layers: LayerSpec[];
  loss: string;
  /** Labels: class count (indices), or `{ shape, kind }` for one-hot / binary / regression targets. */
  labels: { classes: number } | { shape: number[]; kind: 'binary' | 'real' };
  ids?: number;
}

export const cases: Case[] = [
  {
    name: 'MLP tanh → softmax, sparse CE, kernel L1+L2 and bias L2 penalties',
    inputShape: [6],
    layers: [{ type: 'dense', units: 5, activation: 'tanh', kernelL1: 0.003, kernelL2: 0.01, biasL2: 0.02 }, { type: 'dense', units: 3, activation: 'softmax', kernelL2: 0.005 }],
    loss: 'sparse_categorical_crossentropy',
    labels: { classes: 3 },
  },
  {
    name: 'MLP relu → logits, categorical CE from logits (indices turned one-hot)',
    inputShape: [5],
    layers: [{ type: 'dense', units: 7, activation: 'relu' }, { type: 'dense', units: 4 }],
    loss: 'categorical_crossentropy_from_logits',
    labels: { classes: 4 },
  },
  {
    name: 'sigmoid outputs, binary CE on probabilities',
    inputShape: [4],
    layers: [{ type: 'dense', units: 6, activation: 'sigmoid' }, { type: 'dense', units: 2, activation: 'sigmoid' }],
    loss: 'binary_crossentropy',
    labels: { shape: [2], kind: 'binary' },
  },
  {
    name: 'linear output, binary CE from logits (camelCase alias)',
    inputShape: [4],
    layers: [{ type: 'dense', units: 5, activation: 'elu' }, { type: 'dense', units: 1 }],
    loss: 'binaryCrossentropy_from_logits',
    labels: { shape: [1], kind: 'binary' },
  },
  {
    name: 'regression with 3 outputs, mse (meanSquaredError alias)',
    inputShape: [5],
    layers: [{ type: 'dense', units: 4, activation: 'softmax' }, { type: 'dense', units: 3, kernelL2: 0.01 }],
    loss: 'meanSquaredError',
    labels: { shape: [3], kind: 'real' },
  },
  {
    name: 'Conv2D valid stride 1 + max pooling + Dense',
    inputShape: [8, 8, 2],
    layers: [{ type: 'conv2d', filters: 3, kernelSize: 3, activation: 'relu', kernelL2: 0.01 }, { type: 'maxPool2d', poolSize: 2 }, { type: 'flatten' }, { type: 'dense', units: 3 }],
    loss: 'sparse_categorical_crossentropy_from_logits',
    labels: { classes: 3 },
  },
  {
    name: 'Conv2D same padding stride 2, then valid 2×2 stride 1',
    inputShape: [7, 7, 2],
    layers: [{ type: 'conv2d', filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }, { type: 'conv2d', filters: 2, kernelSize: 2, activation: 'tanh' }, { type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }],
    loss: 'sparse_categorical_crossentropy',
    labels: { classes: 3 },
  },
  {
    name: 'Conv2D same padding stride 1 (even kernel) and valid stride 2',
    inputShape: [6, 6, 1],
    layers: [{ type: 'conv2d', filters: 2, kernelSize: [2, 3], padding: 'same', activation: 'sigmoid' }, { type: 'conv2d', filters: 2, kernelSize: 3, strides: 2 }, { type: 'flatten' }, { type: 'dense', units: 2 }],
    loss: 'mse',
    labels: { shape: [2], kind: 'real' },
  },
  {
    name: 'Conv2D where the ghost form is cheaper (2×2 output positions, 72 inputs, 16 filters)',
    inputShape: [4, 4, 8],
    layers: [{ type: 'conv2d', filters: 16, kernelSize: 3, activation: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 3 }],
    loss: 'sparse_categorical_crossentropy_from_logits',
    labels: { classes: 3 },
  },
  {
    name: 'Dense over a sequence axis, materialised form (T = 4, 5 → 6)',
    inputShape: [4, 5],
    layers: [{ type: 'dense', units: 6, activation: 'relu', kernelL2: 0.01 }, { type: 'flatten' }, { type: 'dense', units: 2, activation: 'softmax' }],
    loss: 'sparse_categorical_crossentropy',
    labels: { classes: 2 },
  },
  {
    name: 'Dense over a sequence axis, ghost form (T = 3, 8 → 16)',
    inputShape: [3, 8],
    layers: [{ type: 'dense', units: 16, activation: 'gelu' }, { type: 'flatten' }, { type: 'dense', units: 2 }],
    loss: 'sparse_categorical_crossentropy_from_logits',
    labels: { classes: 2 },
  },
  {
    name: 'Embedding (repeated token ids, L2 penalty) + Dense, mse',
    inputShape: [6],
    layers: [{ type: 'embedding', inputDim: 5, outputDim: 3, embeddingsL2: 0.01 }, { type: 'flatten' }, { type: 'dense', units: 1 }],
    loss: 'mse',
    labels: { shape: [1], kind: 'real' },
    ids: 5,
  },
  {
    name: 'LayerNormalization and BatchNormalization (inference mode)',
    inputShape: [4, 3],
    layers: [{ type: 'dense', units: 5, activation: 'relu' }, { type: 'layerNorm' }, { type: 'flatten' }, { type: 'batchNorm' }, { type: 'dense', units: 3, activation: 'softmax' }],
    loss: 'sparse_categorical_crossentropy',
    labels: { classes: 3 },
  },
  {
    name: 'BatchNormalization on conv channels, dropout (inference: identity)',
    inputShape: [5, 5, 2],
    layers: [{ type: 'conv2d', filters: 3, kernelSize: 3 }, { type: 'batchNorm' }, { type: 'activation', activation: 'relu' }, { type: 'dropout', rate: 0.5 }, { type: 'flatten' }, { type: 'dense', units: 2 }],
    loss: 'sparse_categorical_crossentropy_from_logits',
    labels: { classes: 2 },
  },
];

export function dataFor(c: Case, seed: number) {
  const size = c.inputShape.reduce((a, b) => a * b, 1);
  const x = c.ids ? Float32Array.from(randomLabels(N * size, c.ids, seed)) : randomArray(N * size, seed);
  if ('classes' in c.labels) return memoryArrays(x, c.inputShape, randomLabels(N, c.labels.classes, seed + 1));
  const k = c.labels.shape.reduce((a, b) => a * b, 1);
  const y = c.labels.kind === 'binary' ? randomLabels(N * k, 2, seed + 1) : Float64Array.from(randomArray(N * k, seed + 1));
  return memoryArrays(x, c.inputShape, y, c.labels.shape, c.labels.kind === 'binary');
}

