import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { buildPlan, type PlanStep } from '../../../src/core/gradnorm/plan';
import { cropTopLeft } from '../../../src/core/gradnorm/rules/crop';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { initBackend } from '../../../src/core/tf/backend';
import { assertEnginesAgree, runEngine } from '../../support/models/compare';
import { asLoaded, memoryArrays, randomArray, randomLabels } from '../../support/models/random';

// Oracle: the naive per-example loop (tf.variableGrads through tfjs' own layers), 1e-4 relative.
// These models exercise the plan's conv → max-pool shortcuts (pool-shortcuts.ts): relu′ folded into the
// pool's routing, and the positions of δ past what a valid pool reads skipped.
const N = 10;
const TOL = 1e-4;
const init = (s: number) => tf.initializers.glorotUniform({ seed: s });

interface PoolModel {
  name: string;
  build: () => tf.LayersModel;
  inputShape: number[];
  /**
   * Per trainable layer in plan order: 'fused' (merged with its pool, rules/conv-pool.ts), 'folded'
   * (its pool hands back δ, relu′ applied), 'trimmed' (skips a border its pool never reads), both, or none.
   */
  modes: Mode[];
  /** Without the diagonal second moment (which forces the materialised form), so ghost forms can be chosen. */
  noDiagonal?: boolean;
}

const conv = (filters: number, activation: string, s: number, extra: Record<string, unknown> = {}) =>
  tf.layers.conv2d({ filters, kernelSize: 3, activation: activation as never, kernelInitializer: init(s), biasInitializer: 'randomNormal', ...extra });
const dense = (units: number, s: number) => tf.layers.dense({ units, kernelInitializer: init(s) });

type Mode = 'fused' | 'folded' | 'trimmed' | 'folded+trimmed' | 'none';

const models: PoolModel[] = [
  {
    name: 'first conv fused with its pool (3×3 relu, 11 → 5 reads 10, penalties), then a folded and trimmed conv',
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
    modes: ['fused', 'folded+trimmed', 'none'],
  },
  {
    name: 'first conv fused: same padding, stride 2, 3 input channels, linear, no bias',
    inputShape: [13, 12, 3],
    build: () =>
      tf.sequential({
        layers: [conv(3, 'linear', 24, { inputShape: [13, 12, 3], padding: 'same', strides: 2, useBias: false }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), dense(3, 25)],
      }),
    modes: ['fused', 'none'],
  },
  {
    name: 'two relu conv → 2×2 pool blocks on odd sizes (as the benchmark CNN: 11 → 5 reads 10)',
    inputShape: [13, 13, 1],
    build: () =>
      tf.sequential({
        layers: [conv(3, 'relu', 1, { inputShape: [13, 13, 1] }), tf.layers.maxPooling2d({ poolSize: 2 }), conv(4, 'relu', 2), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), dense(3, 3)],
      }),
    modes: ['fused', 'folded+trimmed', 'none'],
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
    modes: ['folded+trimmed', 'folded+trimmed', 'folded', 'none'],
  },
  {
    name: 'relu Dense on a 4-D input → pool; tanh same-padded conv → pool (not folded, trimmed)',
    inputShape: [6, 6, 2],
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [6, 6, 2], units: 3, activation: 'relu', kernelInitializer: init(8) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          conv(2, 'tanh', 9, { padding: 'same' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          dense(3, 10),
        ],
      }),
    modes: ['folded', 'trimmed', 'none'],
  },
  {
    name: 'elu conv (no fused block) trimmed by its pool (5 → 2 reads 4), its input gradient by tfjs',
    inputShape: [12, 12, 2],
    build: () =>
      tf.sequential({
        layers: [conv(3, 'relu', 11, { inputShape: [12, 12, 2] }), tf.layers.maxPooling2d({ poolSize: 2 }), conv(2, 'elu', 12, { padding: 'same' }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), dense(3, 13)],
      }),
    modes: ['fused', 'trimmed', 'none'],
  },
  {
    name: 'a conv in the ghost form, trimmed by its pool (3 → 1 reads 2: 4 positions)',
    inputShape: [5, 5, 8],
    noDiagonal: true,
    build: () => tf.sequential({ layers: [conv(16, 'relu', 16, { inputShape: [5, 5, 8] }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), dense(3, 17)] }),
    modes: ['folded+trimmed', 'none'],
  },
  {
    name: 'relu conv read by a pool and by a second branch (no shortcut)',
    inputShape: [7, 7, 1],
    build: () => {
      const inp = tf.input({ shape: [7, 7, 1] });
      const c = conv(2, 'relu', 14).apply(inp) as tf.SymbolicTensor;
      const pooled = tf.layers.flatten().apply(tf.layers.maxPooling2d({ poolSize: 2 }).apply(c)) as tf.SymbolicTensor;
      const direct = tf.layers.flatten().apply(c) as tf.SymbolicTensor;
      const both = tf.layers.concatenate().apply([pooled, direct]) as tf.SymbolicTensor;
      return tf.model({ inputs: inp, outputs: dense(3, 15).apply(both) as tf.SymbolicTensor });
    },
    modes: ['none', 'none'],
  },
];

function modeOf(step: PlanStep): Mode {
  const t = step.trainable!;
  if (/max-pool/.test(t.rule.describe())) return 'fused';
  const [, rows, cols] = step.layer.outputShape as number[];
  const [r, c] = t.readExtent?.(rows, cols) ?? [rows, cols];
  const trimmed = r < rows || c < cols;
  return t.dyIsDelta ? (trimmed ? 'folded+trimmed' : 'folded') : trimmed ? 'trimmed' : 'none';
}

async function check(m: PoolModel) {
  const model = m.build();
  const size = m.inputShape.reduce((a, b) => a * b, 1);
  const problem = await openGradProblem({ model: asLoaded(model, 'sparse_categorical_crossentropy_from_logits'), data: memoryArrays(randomArray(N * size, 12), m.inputShape, randomLabels(N, 3, 13)) });
  const plan = buildPlan(problem.model, problem.params);
  assert.deepEqual(plan.steps.filter((s) => s.trainable).map(modeOf), m.modes);
  const diagonal = !m.noDiagonal;
  const before = tf.memory().numTensors;
  const v = await runEngine(problem, { chunkSize: 4, diagonal });
  assert.equal(tf.memory().numTensors, before, 'the vectorised engine leaks no tensors');
  assertEnginesAgree(v, await runEngine(problem, { engine: 'naive', diagonal }), TOL);
  model.dispose();
  return v;
}

describe('conv → max-pool shortcuts of the plan = naive per-example loop (1e-4 relative)', () => {
  after(async () => {
    await initBackend('cpu');
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const m of models) {
      it(`${m.name} [${backend}]`, async () => {
        await initBackend(backend);
        const v = await check(m);
        if (m.noDiagonal) assert.ok(v.stats.notes.some((n) => /over 2×2 positions: ghost/.test(n)), v.stats.notes.join(' | '));
      });
    }
  }
});

describe('cropTopLeft = tf.slice of the first rows and columns', () => {
  after(async () => {
    await initBackend('cpu');
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`(3, 5, 4, 2) → (3, 3, 2, 2) and unchanged sizes [${backend}]`, async () => {
      await initBackend(backend);
      tf.tidy(() => {
        const x = tf.tensor4d(randomArray(3 * 5 * 4 * 2, 21), [3, 5, 4, 2]);
        const got = cropTopLeft(x, 3, 2);
        assert.deepEqual(got.shape, [3, 3, 2, 2]);
        assert.deepEqual(Array.from(got.dataSync()), Array.from(tf.slice(x, [0, 0, 0, 0], [3, 3, 2, 2]).dataSync()));
        assert.equal(cropTopLeft(x, 5, 4), x);
      });
    });
  }
});
