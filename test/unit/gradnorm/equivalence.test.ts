import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import type { LayerSpec } from '../../../src/core/model/build';
import { initBackend } from '../../../src/core/tf/backend';
import { assertEnginesAgree, runEngine } from '../../support/models/compare';
import { asLoaded, memoryArrays, randomArray, randomLabels, seqModel } from '../../support/models/random';

// Oracle: the naive engine — tf.variableGrads of one example at a time through tfjs' own layers and
// regularisers (naive.ts). Tolerance 1e-4 relative (issue #3); both run in float32, so the observed
// differences are ~1e-7–1e-6 from summation order.
const TOL = 1e-4;
const N = 12;

interface Case {
  name: string;
  inputShape: number[];
  layers: LayerSpec[];
  loss: string;
  /** Labels: class count (indices), or `{ shape, kind }` for one-hot / binary / regression targets. */
  labels: { classes: number } | { shape: number[]; kind: 'binary' | 'real' };
  ids?: number;
}

const cases: Case[] = [
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

function dataFor(c: Case, seed: number) {
  const size = c.inputShape.reduce((a, b) => a * b, 1);
  const x = c.ids ? Float32Array.from(randomLabels(N * size, c.ids, seed)) : randomArray(N * size, seed);
  if ('classes' in c.labels) return memoryArrays(x, c.inputShape, randomLabels(N, c.labels.classes, seed + 1));
  const k = c.labels.shape.reduce((a, b) => a * b, 1);
  const y = c.labels.kind === 'binary' ? randomLabels(N * k, 2, seed + 1) : Float64Array.from(randomArray(N * k, seed + 1));
  return memoryArrays(x, c.inputShape, y, c.labels.shape, c.labels.kind === 'binary');
}

async function check(c: Case, diagonal: boolean) {
  const model = seqModel(c.inputShape, c.layers, 11);
  const problem = await openGradProblem({ model: asLoaded(model, c.loss), data: dataFor(c, 5) });
  const before = tf.memory().numTensors;
  const v = await runEngine(problem, { chunkSize: 5, diagonal });
  assert.equal(tf.memory().numTensors, before, 'the vectorised engine leaks no tensors');
  const n = await runEngine(problem, { engine: 'naive', diagonal });
  assertEnginesAgree(v, n, TOL);
  model.dispose();
  return v;
}

describe('vectorised per-example norms = naive per-example loop (oracle: tf.variableGrads per example; 1e-4 relative)', () => {
  before(async () => {
    await initBackend('cpu');
  });
  for (const c of cases) {
    it(`${c.name} [cpu]`, async () => {
      await check(c, true);
    });
  }

  it('the sequence-axis Dense takes the ghost form when the diagonal is not needed, and agrees', async () => {
    const v = await check(cases.find((c) => c.name.includes('ghost form (T = 3'))!, false);
    assert.ok(v.stats.notes.some((n) => /dense over 3 positions: ghost/.test(n)), v.stats.notes.join(' | '));
  });

  it('the small-output Conv2D takes the ghost form when the diagonal is not needed, and agrees', async () => {
    const v = await check(cases.find((c) => c.name.includes('ghost form is cheaper'))!, false);
    assert.ok(v.stats.notes.some((n) => /over 2×2 positions: ghost/.test(n)), v.stats.notes.join(' | '));
  });

  describe('on the wasm backend (vectorised on wasm, naive oracle where wasm has the kernels, else cpu)', () => {
    before(async () => {
      await initBackend('wasm');
    });
    after(async () => {
      await initBackend('cpu');
    });
    for (const name of ['MLP tanh', 'Conv2D valid stride 1', 'Conv2D same padding stride 2', 'Embedding', 'LayerNormalization']) {
      it(`${name} [wasm]`, async () => {
        const c = cases.find((k) => k.name.startsWith(name))!;
        const v = await check(c, true);
        assert.equal(v.stats.backend, 'wasm');
      });
    }
  });
});
