import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { buildPlan } from '../../../src/core/gradnorm/plan';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { initBackend } from '../../../src/core/tf/backend';
import { assertEnginesAgree, runEngine } from '../../support/models/compare';
import { asLoaded, memoryArrays, randomArray, randomLabels } from '../../support/models/random';

// Oracle: the naive per-example loop (tf.variableGrads through tfjs' own layers), 1e-4 relative.
// These models exercise the plan's conv → max-pool shortcuts: relu′ folded into the pool's routing.
const N = 10;
const TOL = 1e-4;
const init = (s: number) => tf.initializers.glorotUniform({ seed: s });

interface PoolModel {
  name: string;
  build: () => tf.LayersModel;
  inputShape: number[];
  /** Per trainable layer in plan order: whether its pool hands back δ (relu′ folded). */
  folded: boolean[];
}

const conv = (filters: number, activation: string, s: number, extra: Record<string, unknown> = {}) =>
  tf.layers.conv2d({ filters, kernelSize: 3, activation: activation as never, kernelInitializer: init(s), biasInitializer: 'randomNormal', ...extra });

const models: PoolModel[] = [
  {
    name: 'two relu conv → 2×2 pool blocks on odd sizes (as the benchmark CNN)',
    inputShape: [11, 11, 1],
    build: () =>
      tf.sequential({
        layers: [conv(3, 'relu', 1, { inputShape: [11, 11, 1] }), tf.layers.maxPooling2d({ poolSize: 2 }), conv(4, 'relu', 2, { padding: 'same' }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 3, kernelInitializer: init(3) })],
      }),
    folded: [true, true, false],
  },
  {
    name: 'relu conv → overlapping 3×3 stride-2 pool and a same-padded pool (general loop)',
    inputShape: [9, 9, 2],
    build: () =>
      tf.sequential({
        layers: [
          conv(3, 'relu', 4, { inputShape: [9, 9, 2] }),
          tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }),
          conv(2, 'relu', 5, { padding: 'same' }),
          tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, kernelInitializer: init(6) }),
        ],
      }),
    folded: [true, true, false],
  },
  {
    name: 'relu Dense on a 4-D input → pool; tanh conv → pool (not folded)',
    inputShape: [6, 6, 2],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [6, 6, 2], units: 3, activation: 'relu', kernelInitializer: init(7) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          conv(2, 'tanh', 8, { padding: 'same' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, kernelInitializer: init(9) }),
        ],
      }),
    folded: [true, false, false],
  },
  {
    name: 'relu conv read by a pool and by a second branch (not folded)',
    inputShape: [7, 7, 1],
    build: () => {
      const inp = tf.input({ shape: [7, 7, 1] });
      const c = conv(2, 'relu', 10).apply(inp) as tf.SymbolicTensor;
      const pooled = tf.layers.flatten().apply(tf.layers.maxPooling2d({ poolSize: 2 }).apply(c)) as tf.SymbolicTensor;
      const direct = tf.layers.flatten().apply(c) as tf.SymbolicTensor;
      const both = tf.layers.concatenate().apply([pooled, direct]) as tf.SymbolicTensor;
      return tf.model({ inputs: inp, outputs: tf.layers.dense({ units: 3, kernelInitializer: init(11) }).apply(both) as tf.SymbolicTensor });
    },
    folded: [false, false],
  },
];

async function check(m: PoolModel) {
  const model = m.build();
  const size = m.inputShape.reduce((a, b) => a * b, 1);
  const problem = await openGradProblem({ model: asLoaded(model, 'sparse_categorical_crossentropy_from_logits'), data: memoryArrays(randomArray(N * size, 12), m.inputShape, randomLabels(N, 3, 13)) });
  const plan = buildPlan(problem.model, problem.params);
  assert.deepEqual(
    plan.steps.filter((s) => s.trainable).map((s) => s.trainable!.dyIsDelta),
    m.folded,
  );
  const before = tf.memory().numTensors;
  const v = await runEngine(problem, { chunkSize: 4, diagonal: true });
  assert.equal(tf.memory().numTensors, before, 'the vectorised engine leaks no tensors');
  assertEnginesAgree(v, await runEngine(problem, { engine: 'naive', diagonal: true }), TOL);
  model.dispose();
}

describe('conv → max-pool shortcuts of the plan = naive per-example loop (1e-4 relative)', () => {
  after(async () => {
    await initBackend('cpu');
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const m of models) {
      it(`${m.name} [${backend}]`, async () => {
        await initBackend(backend);
        await check(m);
      });
    }
  }
});
