import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeNpy } from '../../../src/core/data/npy';
import { perExampleGradients } from '../../../src/core/gradnorm/exact';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { runGradNorms } from '../../../src/core/gradnorm/run';
import { saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';
import { assertClose, assertEnginesAgree, runEngine, runOnnxOnLayersModel } from '../../support/models/compare';
import { asLoaded, memoryArrays, randomArray, randomLabels } from '../../support/models/random';

const N = 10;
const seeded = (s: number) => tf.initializers.glorotUniform({ seed: s });
const LOGITS = 'sparse_categorical_crossentropy_from_logits';

// The ONNX engine on TF.js model graphs, and the fallback to TF.js' per-example loop for a model.json the
// engine graph cannot express. Oracle: that loop (tf.variableGrads per example), 1e-4 relative.
describe('model graphs and fallbacks (ONNX engine vs the naive per-example loop, 1e-4 relative)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gn-graph-'));
  before(async () => {
    await initBackend('cpu');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a functional model with two branches merged by Add', async () => {
    const inp = tf.input({ shape: [5] });
    const a = tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: seeded(1) }).apply(inp) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: seeded(2) }).apply(inp) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, kernelInitializer: seeded(3) }).apply(sum) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    const data = () => memoryArrays(randomArray(N * 5, 1), [5], randomLabels(N, 3, 2));
    const p = await openGradProblem({ model: asLoaded(model, LOGITS), data: data() });
    assertEnginesAgree(await runOnnxOnLayersModel(model, LOGITS, data(), { chunkSize: 4 }), await runEngine(p), 1e-4);
  });

  it('a layer the engine graph cannot express (SimpleRNN): `auto` falls back to the per-example loop and says so; `onnx` refuses', async () => {
    const model = tf.sequential({ layers: [tf.layers.simpleRNN({ inputShape: [3, 2], units: 4, kernelInitializer: seeded(4), recurrentInitializer: seeded(5) }), tf.layers.dense({ units: 2 })] });
    const file = await saveLayersModel(model, join(dir, 'rnn'), { loss: 'mse' });
    const x = join(dir, 'rnn_x.npy');
    const y = join(dir, 'rnn_y.npy');
    writeNpy(x, randomArray(N * 6, 3), [N, 3, 2]);
    writeNpy(y, randomArray(N * 2, 4), [N, 2]);
    const run = await runGradNorms({ model: file, data: { data: x, labels: y }, backend: 'cpu', engine: 'auto', workers: 0, perExamplePath: join(dir, 'rnn_norms.npy') });
    assert.equal(run.engine, 'naive');
    assert.ok(run.notes.some((t) => /SimpleRNN.*not supported by the engine graph.*used the TensorFlow\.js per-example loop/.test(t)), run.notes.join(' | '));
    const n = await runEngine(await openGradProblem({ model: file, data: { data: x, labels: y } }));
    assertClose(run.meanSqNorm, n.stats.meanSqNorm, 1e-12, 0, 'E‖g_b‖²');
    await assert.rejects(runGradNorms({ model: file, data: { data: x, labels: y }, backend: 'cpu', engine: 'onnx', workers: 0 }), /SimpleRNN.*not supported by the engine graph/);
  });

  it('a layer applied twice (shared weights): one parameter, its gradient summed over both uses', async () => {
    const inp = tf.input({ shape: [4] });
    const shared = tf.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: seeded(6) });
    const h = shared.apply(shared.apply(inp)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor });
    const data = () => memoryArrays(randomArray(N * 4, 5), [4], randomLabels(N, 2, 6));
    const p = await openGradProblem({ model: asLoaded(model, LOGITS), data: data() });
    assertEnginesAgree(await runOnnxOnLayersModel(model, LOGITS, data(), { chunkSize: 4, diagonal: true }), await runEngine(p, { diagonal: true }), 1e-4);
  });

  it('dilated Conv2D (tfjs has no gradient for it): the ONNX engine = the same model with a zero-inserted 3×3 kernel (oracle: naive gradients of that model, restricted)', async () => {
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
    const pB = await openGradProblem({ model: asLoaded(B, LOGITS), data: data() });
    const v = await runOnnxOnLayersModel(A, LOGITS, data(), { chunkSize: 4 });
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

  it('the per-example loop on the wasm backend = on cpu (a kernel wasm lacks, e.g. Conv2DBackpropFilter: continued on cpu, with a note)', async () => {
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [5, 5, 2], filters: 2, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(10) }), tf.layers.flatten(), tf.layers.dense({ units: 3, kernelInitializer: seeded(11) })] });
    const p = await openGradProblem({ model: asLoaded(model, LOGITS), data: memoryArrays(randomArray(N * 50, 12), [5, 5, 2], randomLabels(N, 3, 13)) });
    const cpu = await runEngine(p, { chunkSize: 4 });
    await initBackend('wasm');
    try {
      const wasm = await runEngine(p, { chunkSize: 4 });
      assert.ok(wasm.stats.backend === 'wasm' || wasm.stats.notes.some((t) => /the wasm backend lacks a kernel .*continued on the cpu backend/.test(t)), `${wasm.stats.backend}: ${wasm.stats.notes.join(' | ')}`);
      for (let b = 0; b < N; b++) assertClose(wasm.norms[b], cpu.norms[b], 1e-4, 1e-6, `‖g_${b}‖²`);
    } finally {
      await initBackend('cpu');
    }
  });
});
