/**
 * The ONNX engine on TF.js LayersModels of every layer type (test/support/models/cases.ts and the models
 * below), against an independent oracle: TF.js' exact per-example loop — tf.variableGrads of one example
 * at a time through tfjs' own layers, losses and regularisers (src/core/gradnorm/naive.ts). Tolerance
 * 1e-4 relative (both float32; the random models here saturate nothing, so clipped and exact
 * cross-entropy coincide).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import type { TrainingArrays } from '../../../src/core/data/open';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { initBackend } from '../../../src/core/tf/backend';
import { cases, dataFor, type Case } from '../../support/models/cases';
import { assertEnginesAgree, runEngine, runOnnxOnLayersModel } from '../../support/models/compare';
import { asLoaded, memoryArrays, randomArray, randomLabels, seqModel } from '../../support/models/random';

const TOL = 1e-4;
const LOGITS = 'sparse_categorical_crossentropy_from_logits';

/** ONNX engine vs the naive loop on one model and data set; returns the ONNX run (its notes say which forms ran). */
async function agree(model: tf.LayersModel, loss: string, data: () => TrainingArrays, diagonal = true) {
  const naive = await runEngine(await openGradProblem({ model: asLoaded(model, loss), data: data() }), { diagonal });
  const onnx = await runOnnxOnLayersModel(model, loss, data(), { chunkSize: 4, diagonal });
  assert.equal(onnx.stats.engine, 'onnx', onnx.stats.notes.join(' | '));
  assertEnginesAgree(onnx, naive, TOL);
  return onnx;
}

/**
 * Conv layers with ≥ 100 output positions take the reversed per-example product (a_bᵀ·δ_b, with the batch sum
 * and the Adam diagonal transposed back, src/core/engine/per-example.ts): one case here reaches it, the
 * shared cases (≤ 64 positions) do not.
 */
const reversedProductCases: Case[] = [
  {
    name: 'Conv2D with 100 output positions (reversed per-example product, diagonal transposed back) + max pooling + Dense',
    inputShape: [12, 12, 2],
    layers: [{ type: 'conv2d', filters: 3, kernelSize: 3, activation: 'relu', kernelL2: 0.01 }, { type: 'maxPool2d', poolSize: 2 }, { type: 'flatten' }, { type: 'dense', units: 3 }],
    loss: 'sparse_categorical_crossentropy_from_logits',
    labels: { classes: 3 },
  },
];

describe('ONNX engine = TF.js naive per-example loop on TF.js models (oracle: tf.variableGrads per example; 1e-4)', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend('cpu');
  });

  [...cases, ...reversedProductCases].forEach((c) => {
    it(c.name, async () => {
      const model = seqModel(c.inputShape, c.layers, 11);
      try {
        await agree(model, c.loss, () => dataFor(c, 5));
      } finally {
        model.dispose();
      }
    });
  });

  // Without the Adam diagonal the engine may choose other per-example forms (ghost norms) by cost.
  for (const key of ['ghost form (T = 3', 'ghost form is cheaper']) {
    const c = cases.find((k) => k.name.includes(key))!;
    it(`${c.name}, without the diagonal`, async () => {
      const model = seqModel(c.inputShape, c.layers, 11);
      try {
        await agree(model, c.loss, () => dataFor(c, 5), false);
      } finally {
        model.dispose();
      }
    });
  }
});

const N = 10;
const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
const conv = (filters: number, activation: string, s: number, extra: Record<string, unknown> = {}) =>
  tf.layers.conv2d({ filters, kernelSize: 3, activation: activation as never, kernelInitializer: init(s), biasInitializer: tf.initializers.randomNormal({ seed: s + 100 }), ...extra });
const dense = (units: number, s: number) => tf.layers.dense({ units, kernelInitializer: init(s) });

interface HandModel {
  name: string;
  inputShape: number[];
  build: () => tf.LayersModel;
  /** Without the diagonal second moment, so cheaper per-example forms can be chosen. */
  noDiagonal?: boolean;
}

/** Conv → max-pool blocks (the shapes the removed TF.js engine had shortcuts for: pools that skip the last rows, overlapping and same-padded pools, a conv read twice). */
const poolModels: HandModel[] = [
  {
    name: 'relu conv (L2 penalties) → 2×2 pool (11 → 5 reads 10), same-padded relu conv → pool, Dense',
    inputShape: [13, 13, 1],
    build: () =>
      tf.sequential({
        layers: [
          conv(4, 'relu', 21, { inputShape: [13, 13, 1], kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }), biasRegularizer: tf.regularizers.l2({ l2: 0.02 }) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          conv(3, 'relu', 22, { padding: 'same' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          dense(3, 23),
        ],
      }),
  },
  {
    name: 'same padding, stride 2, 3 input channels, linear conv without bias → pool',
    inputShape: [13, 12, 3],
    build: () => tf.sequential({ layers: [conv(3, 'linear', 24, { inputShape: [13, 12, 3], padding: 'same', strides: 2, useBias: false }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), dense(3, 25)] }),
  },
  {
    name: 'relu conv → overlapping 3×3 stride-2 pool (8 → 3 reads 7); same-padded conv → 2×2 pool; same-padded pool',
    inputShape: [10, 10, 2],
    build: () =>
      tf.sequential({
        layers: [
          conv(3, 'relu', 4, { inputShape: [10, 10, 2] }),
          tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }),
          conv(2, 'relu', 5, { padding: 'same' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          conv(2, 'relu', 6, { padding: 'same' }),
          tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
          tf.layers.flatten(),
          dense(3, 7),
        ],
      }),
  },
  {
    name: 'relu Dense on a 4-D input → pool; tanh same-padded conv → pool; elu conv',
    inputShape: [6, 6, 2],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [6, 6, 2], units: 3, activation: 'relu', kernelInitializer: init(8) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          conv(2, 'tanh', 9, { padding: 'same' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          conv(2, 'elu', 12, { padding: 'same' }),
          tf.layers.flatten(),
          dense(3, 10),
        ],
      }),
  },
  {
    name: 'a wide conv over few positions → pool (3 → 1 reads 2), without the diagonal',
    inputShape: [5, 5, 8],
    noDiagonal: true,
    build: () => tf.sequential({ layers: [conv(16, 'relu', 16, { inputShape: [5, 5, 8] }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), dense(3, 17)] }),
  },
  {
    name: 'relu conv read by a pool and by a second branch, concatenated',
    inputShape: [7, 7, 1],
    build: () => {
      const inp = tf.input({ shape: [7, 7, 1] });
      const c = conv(2, 'relu', 14).apply(inp) as tf.SymbolicTensor;
      const pooled = tf.layers.flatten().apply(tf.layers.maxPooling2d({ poolSize: 2 }).apply(c)) as tf.SymbolicTensor;
      const direct = tf.layers.flatten().apply(c) as tf.SymbolicTensor;
      const both = tf.layers.concatenate().apply([pooled, direct]) as tf.SymbolicTensor;
      return tf.model({ inputs: inp, outputs: dense(3, 15).apply(both) as tf.SymbolicTensor });
    },
  },
];

/** Layer types beyond the shared cases: other convolutions, average and global pooling, padding and cropping. */
const layerModels: HandModel[] = [
  {
    name: 'Conv1D valid, same with stride 2, and with an L1 penalty → MaxPooling1D → GlobalAveragePooling1D',
    inputShape: [12, 3],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.conv1d({ inputShape: [12, 3], filters: 4, kernelSize: 3, activation: 'tanh', kernelInitializer: init(31) }),
          tf.layers.conv1d({ filters: 3, kernelSize: 2, padding: 'same', strides: 2, kernelInitializer: init(32) }),
          tf.layers.maxPooling1d({ poolSize: 2 }),
          tf.layers.conv1d({ filters: 3, kernelSize: 2, kernelInitializer: init(33), kernelRegularizer: tf.regularizers.l1({ l1: 0.01 }) }),
          tf.layers.globalAveragePooling1d(),
          dense(3, 34),
        ],
      }),
  },
  {
    name: 'Conv3D (valid, then same with stride 2) → Flatten → Dense',
    inputShape: [5, 5, 4, 2],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.conv3d({ inputShape: [5, 5, 4, 2], filters: 3, kernelSize: 2, activation: 'relu', kernelInitializer: init(41) }),
          tf.layers.conv3d({ filters: 2, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: init(42) }),
          tf.layers.flatten(),
          dense(3, 43),
        ],
      }),
  },
  {
    name: 'DepthwiseConv2D (depth multiplier 2, same, stride 2) → SeparableConv2D (multiplier 1: tfjs 4.22 does not reload its own multiplier-2 SeparableConv2D) → GlobalMaxPooling2D',
    inputShape: [8, 8, 3],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.depthwiseConv2d({ inputShape: [8, 8, 3], kernelSize: 3, depthMultiplier: 2, padding: 'same', strides: 2, activation: 'relu', depthwiseInitializer: init(51), biasInitializer: tf.initializers.randomNormal({ seed: 52 }) }),
          tf.layers.separableConv2d({ filters: 4, kernelSize: 2, depthwiseInitializer: init(53), pointwiseInitializer: init(54), biasInitializer: tf.initializers.randomNormal({ seed: 55 }) }),
          tf.layers.globalMaxPooling2d({}),
          dense(3, 56),
        ],
      }),
  },
  {
    // Valid average pooling only: for a same-padded one tfjs' own gradient divides by the full window at the
    // borders while its forward excludes the padding (the ONNX rule is checked against central differences
    // with count_include_pad 0 in test/unit/engine/ops/pool.test.ts).
    name: 'ZeroPadding2D → Conv2D → AveragePooling2D → Cropping2D → GlobalAveragePooling2D',
    inputShape: [7, 7, 2],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.zeroPadding2d({ inputShape: [7, 7, 2], padding: [[1, 2], [2, 1]] }),
          conv(3, 'sigmoid', 61),
          tf.layers.averagePooling2d({ poolSize: 2 }),
          tf.layers.cropping2D({ cropping: [[1, 0], [0, 1]] }),
          conv(2, 'linear', 62, { padding: 'same' }),
          tf.layers.globalAveragePooling2d({}),
          dense(3, 63),
        ],
      }),
  },
];

describe('ONNX engine = TF.js naive per-example loop on more TF.js layer types (1e-4)', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend('cpu');
  });
  for (const m of [...poolModels, ...layerModels]) {
    it(m.name, async () => {
      const model = m.build();
      const size = m.inputShape.reduce((a, b) => a * b, 1);
      try {
        await agree(model, LOGITS, () => memoryArrays(randomArray(N * size, 12), m.inputShape, randomLabels(N, 3, 13)), !m.noDiagonal);
      } finally {
        model.dispose();
      }
    });
  }
});
