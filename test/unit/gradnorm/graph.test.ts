import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { perExampleGradients } from '../../../src/core/gradnorm/exact';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { initBackend } from '../../../src/core/tf/backend';
import { assertClose, assertEnginesAgree, runEngine } from '../../support/models/compare';
import { asLoaded, memoryArrays, randomArray, randomLabels } from '../../support/models/random';

const N = 10;
const seeded = (s: number) => tf.initializers.glorotUniform({ seed: s });

describe('model graphs and fallbacks (oracle: the naive per-example loop, 1e-4 relative)', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('a functional model with two branches merged by Add', async () => {
    const inp = tf.input({ shape: [5] });
    const a = tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: seeded(1) }).apply(inp) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: seeded(2) }).apply(inp) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, kernelInitializer: seeded(3) }).apply(sum) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    const p = await openGradProblem({ model: asLoaded(model, 'sparse_categorical_crossentropy_from_logits'), data: memoryArrays(randomArray(N * 5, 1), [5], randomLabels(N, 3, 2)) });
    assertEnginesAgree(await runEngine(p, { chunkSize: 4 }), await runEngine(p, { engine: 'naive' }), 1e-4);
  });

  it('a layer without a vectorised rule (SimpleRNN) falls back to the exact loop and says so', async () => {
    const model = tf.sequential({ layers: [tf.layers.simpleRNN({ inputShape: [3, 2], units: 4, kernelInitializer: seeded(4), recurrentInitializer: seeded(5) }), tf.layers.dense({ units: 2 })] });
    const p = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(randomArray(N * 6, 3), [3, 2], Float64Array.from(randomArray(N * 2, 4)), [2], false) });
    const v = await runEngine(p, {});
    const n = await runEngine(p, { engine: 'naive' });
    assert.equal(v.stats.engine, 'naive');
    assert.ok(v.stats.notes.some((t) => /SimpleRNN '.*' has trainable weights and no vectorised rule.*exact per-example loop/.test(t)), v.stats.notes.join(' | '));
    assert.deepEqual(Array.from(v.norms), Array.from(n.norms));
  });

  it('a layer applied twice (shared weights) falls back to the exact loop', async () => {
    const inp = tf.input({ shape: [4] });
    const shared = tf.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: seeded(6) });
    const h = shared.apply(shared.apply(inp)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor });
    const p = await openGradProblem({ model: asLoaded(model, 'sparse_categorical_crossentropy_from_logits'), data: memoryArrays(randomArray(N * 4, 5), [4], randomLabels(N, 2, 6)) });
    const v = await runEngine(p, {});
    assert.equal(v.stats.engine, 'naive');
    assert.ok(v.stats.notes.some((t) => /applied 2 times \(shared weights\)/.test(t)));
  });

  it('dilated Conv2D (tfjs has no gradient for it) = the same model with a zero-inserted 3×3 kernel (oracle: naive gradients of that model, restricted)', async () => {
    // Model A: 2×2 kernels with dilation 2. Model B: 3×3 kernels with A's taps at (0,0), (0,2), (2,0), (2,2)
    // and zeros elsewhere — the same function, whose per-example gradients tfjs can compute.
    const build = (k: number, dilation: number) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 2, kernelSize: k, dilationRate: dilation, padding: 'same', activation: 'elu' }),
          tf.layers.conv2d({ filters: 2, kernelSize: k, dilationRate: dilation, padding: 'valid' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 2 }),
        ],
      });
    const A = build(2, 2);
    const B = build(3, 1);
    const r = randomArray(1000, 7, 0.5);
    const k1 = r.subarray(0, 16);
    const k2 = r.subarray(16, 32);
    const dense = r.subarray(100, 100 + 32 * 2);
    const inflate = (k: Float32Array) => {
      const out = new Float32Array(3 * 3 * 2 * 2);
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let c = 0; c < 4; c++) out[((2 * i) * 3 + 2 * j) * 4 + c] = k[(i * 2 + j) * 4 + c];
      return out;
    };
    const biases = [tf.tensor1d([0.1, -0.2]), tf.tensor1d([0.05, 0.3]), tf.tensor1d([0.2, -0.1])];
    A.setWeights([tf.tensor4d(k1, [2, 2, 2, 2]), biases[0], tf.tensor4d(k2, [2, 2, 2, 2]), biases[1], tf.tensor2d(dense, [32, 2]), biases[2]]);
    B.setWeights([tf.tensor4d(inflate(k1), [3, 3, 2, 2]), biases[0], tf.tensor4d(inflate(k2), [3, 3, 2, 2]), biases[1], tf.tensor2d(dense, [32, 2]), biases[2]]);
    const data = () => memoryArrays(randomArray(N * 72, 8), [6, 6, 2], randomLabels(N, 2, 9));
    const pA = await openGradProblem({ model: asLoaded(A, 'sparse_categorical_crossentropy_from_logits'), data: data() });
    const pB = await openGradProblem({ model: asLoaded(B, 'sparse_categorical_crossentropy_from_logits'), data: data() });
    const v = await runEngine(pA, { chunkSize: 4 });
    const { rows } = await perExampleGradients(pB);
    const taps = [0, 2, 6, 8];
    for (let b = 0; b < N; b++) {
      let sq = 0;
      let off = 0;
      for (const p of pB.params) {
        for (let k = 0; k < p.size; k++) {
          const g = rows[b][off + k];
          const keep = p.shape.length === 4 ? taps.includes(Math.floor(k / 4)) : true;
          if (keep) sq += g * g;
        }
        off += p.size;
      }
      assertClose(v.norms[b], sq, 1e-4, 1e-6, `‖g_${b}‖²`);
    }
  });
});
