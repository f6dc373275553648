import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { LabSetup } from '../../../src/core/lab/config';
import type { DenseF64Model } from '../../../src/core/lab/dense-f64';
import { openLab } from '../../../src/core/lab/open';
import { trainRun } from '../../../src/core/lab/train';
import { buildSequential, type LayerSpec } from '../../../src/core/model/build';
import { saveLayersModel } from '../../../src/core/model/load';
import { tempDir, writeFixture, type LabFixture } from './fixtures';

interface Case {
  name: string;
  layers: LayerSpec[];
  loss: string;
  labels: 'classes' | 'onehot' | 'binary' | 'real';
  outDim: number;
}

const CASES: Case[] = [
  { name: 'softmax regression, sparse CE on probabilities, L2', layers: [{ type: 'dense', units: 4, activation: 'softmax', kernelL2: 0.01 }], loss: 'sparse_categorical_crossentropy', labels: 'classes', outDim: 4 },
  { name: 'tanh → softmax MLP, categorical CE on one-hot rows, L1+L2', layers: [{ type: 'dense', units: 6, activation: 'tanh', kernelL1: 0.003, kernelL2: 0.01, biasL2: 0.02 }, { type: 'dense', units: 3, activation: 'softmax' }], loss: 'categorical_crossentropy', labels: 'onehot', outDim: 3 },
  { name: 'relu → linear logits, sparse CE from logits, no bias', layers: [{ type: 'dense', units: 5, activation: 'relu' }, { type: 'dense', units: 3, useBias: false }], loss: 'sparse_categorical_crossentropy_from_logits', labels: 'classes', outDim: 3 },
  { name: 'sigmoid outputs, binary CE', layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2, activation: 'sigmoid' }], loss: 'binary_crossentropy', labels: 'binary', outDim: 2 },
  { name: 'linear logits, binary CE from logits', layers: [{ type: 'dense', units: 2 }], loss: 'binary_crossentropy_from_logits', labels: 'binary', outDim: 2 },
  { name: 'linear regression, MSE, L2', layers: [{ type: 'dense', units: 3, activation: 'sigmoid' }, { type: 'dense', units: 2, kernelL2: 0.05 }], loss: 'mse', labels: 'real', outDim: 2 },
];

async function open(f: LabFixture, engine: 'dense-f64' | 'tfjs', batchSize = 4) {
  return openLab({ model: f.model, data: { data: f.data, labels: f.labels }, engine, backend: 'cpu', batchSize });
}

describe('lab engines: float64 Dense fast path vs TensorFlow.js', function () {
  this.timeout(60000);
  const tmp = tempDir('engines');
  after(() => tmp.cleanup());

  for (const [k, c] of CASES.entries()) {
    it(`${c.name}: loss and gradient agree with tfjs autodiff (float32 rounding) and with central differences (float64)`, async () => {
      const f = await writeFixture(join(tmp.dir, String(k)), { inputDim: 5, layers: c.layers, loss: c.loss, n: 30, labels: c.labels, outDim: c.outDim, seed: k + 1 });
      const fast = await open(f, 'dense-f64');
      const slow = await open(f, 'tfjs');
      assert.equal(fast.model.engine, 'dense-f64');
      assert.equal(slow.model.engine, 'tfjs');
      const w = fast.initial;
      const idx = Int32Array.of(3, 17, 3, 29);
      const gFast = new Float64Array(w.length);
      const gSlow = new Float64Array(w.length);
      const lFast = fast.model.batchLossGrad(w, idx, gFast);
      const lSlow = slow.model.batchLossGrad(w, idx, gSlow);
      // Oracle 1: tfjs autodiff of the gradient engine's Keras loss (src/core/gradnorm/loss.ts) in float32:
      // agreement to a few float32 ulps of the loss scale (2e-6 relative).
      assert.ok(Math.abs(lFast - lSlow) <= 2e-6 * Math.max(1, Math.abs(lFast)), `loss ${lFast} vs ${lSlow}`);
      const scale = Math.max(...gFast.map(Math.abs));
      gFast.forEach((g, i) => assert.ok(Math.abs(g - gSlow[i]) <= 2e-5 * scale, `grad[${i}] ${g} vs ${gSlow[i]}`));
      assert.ok(Math.abs(fast.model.fullLoss(w) - slow.model.fullLoss(w)) <= 2e-6 * Math.max(1, lFast));
      // Oracle 2: central differences of the fast path's own float64 loss, h = 1e-5: truncation error
      // O(h²·f‴) ≈ 1e-10 and rounding O(ε/h) ≈ 1e-11, so 1e-7 absolute is loose but discriminating.
      // L1 terms are non-differentiable at 0; no weight sits exactly there with these seeds.
      const model = fast.model as DenseF64Model;
      const tmpG = new Float64Array(w.length);
      for (let i = 0; i < w.length; i++) {
        const wp = Float64Array.from(w);
        const wm = Float64Array.from(w);
        wp[i] += 1e-5;
        wm[i] -= 1e-5;
        const fd = (model.batchLossGrad(wp, idx, tmpG) - model.batchLossGrad(wm, idx, tmpG)) / 2e-5;
        assert.ok(Math.abs(fd - gFast[i]) < 1e-7 * Math.max(1, Math.abs(fd)), `param ${i}: finite difference ${fd} vs ${gFast[i]}`);
      }
      fast.model.dispose();
      slow.model.dispose();
    });
  }

  it('auto picks the fast path for Dense models and tfjs otherwise, saying why', async () => {
    const dense = await writeFixture(join(tmp.dir, 'auto-dense'), { inputDim: 4, layers: [{ type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparse_categorical_crossentropy', n: 10, labels: 'classes', outDim: 3 });
    const a = await openLab({ model: dense.model, data: { data: dense.data, labels: dense.labels }, engine: 'auto', backend: 'cpu', batchSize: 2 });
    assert.equal(a.model.engine, 'dense-f64');
    const ln = await writeFixture(join(tmp.dir, 'auto-ln'), { inputDim: 4, layers: [{ type: 'dense', units: 3, activation: 'elu' }, { type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparse_categorical_crossentropy', n: 10, labels: 'classes', outDim: 3 });
    const b = await openLab({ model: ln.model, data: { data: ln.data, labels: ln.labels }, engine: 'auto', backend: 'cpu', batchSize: 2 });
    assert.equal(b.model.engine, 'tfjs');
    assert.ok(b.notes.some((n) => /not eligible.*activation 'elu'/.test(n)), b.notes.join('; '));
    await assert.rejects(openLab({ model: ln.model, data: { data: ln.data, labels: ln.labels }, engine: 'dense-f64', backend: 'cpu', batchSize: 2 }), /dense-f64 engine cannot train this model/);
    a.model.dispose();
    b.model.dispose();
  });

  it('a model whose gradient needs a kernel wasm lacks (Conv2D) trains on the cpu backend, and says so', async () => {
    const before = tf.getBackend();
    try {
      const f = await writeFixture(join(tmp.dir, 'conv'), { inputDim: 4, layers: [{ type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparse_categorical_crossentropy', n: 12, labels: 'classes', outDim: 3 });
      // The same data as 2×2×1 images through a Conv2D layer.
      const m = buildSequential([2, 2, 1], [{ type: 'conv2d', filters: 2, kernelSize: 2 }, { type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }], 3);
      await saveLayersModel(m, join(tmp.dir, 'conv', 'cnn'), { loss: 'sparse_categorical_crossentropy' });
      const lab = await openLab({ model: join(tmp.dir, 'conv', 'cnn', 'model.json'), data: { data: f.data, labels: f.labels }, engine: 'auto', backend: 'wasm', batchSize: 4 });
      assert.equal(lab.model.engine, 'tfjs');
      assert.ok(lab.notes.some((n) => /wasm has no 'Conv2DBackpropFilter' kernel; training on the pure-JS cpu backend/.test(n)), lab.notes.join('; '));
      const g = new Float64Array(lab.model.paramCount);
      assert.ok(Number.isFinite(lab.model.batchLossGrad(lab.initial, Int32Array.of(0, 1, 2, 3), g)));
      lab.model.dispose();
    } finally {
      await tf.setBackend(before);
    }
  });

  it('trains step by step like the tfjs path: same seed → same batches; logged losses agree to float32 rounding', async () => {
    const f = await writeFixture(join(tmp.dir, 'traj'), { inputDim: 5, layers: [{ type: 'dense', units: 6, activation: 'tanh', kernelL2: 0.01 }, { type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparse_categorical_crossentropy', n: 40, labels: 'classes', outDim: 3, seed: 5 });
    const setup: LabSetup = { batchSize: 4, sampling: 'reshuffle', momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0.001, seed: 3, steps: 400, burnIn: 0, logEvery: 1, fullLossEvery: 20 };
    const series: Record<string, number[][]> = {};
    for (const engine of ['dense-f64', 'tfjs'] as const) {
      const lab = await open(f, engine, 4);
      const dir = join(tmp.dir, `traj-${engine}`);
      await trainRun(lab.model, lab.initial, { logs: { tfevents: join(dir, 'tb'), csv: join(dir, 'csv') }, stateFile: join(dir, 'state'), lr: 0.05, setup, hparams: { lr: 0.05 } });
      const rows = readFileSync(join(dir, 'csv', 'metrics.csv'), 'utf8').trim().split('\n');
      const cols = rows[0].split(',');
      series[engine] = rows.slice(1).map((r) => r.split(',').map((c) => (c === '' ? NaN : Number(c))));
      assert.deepEqual(cols, ['epoch', 'step', 'full_train_loss', 'lr', 'train_loss']);
      lab.model.dispose();
    }
    const [a, b] = [series['dense-f64'], series.tfjs];
    assert.equal(a.length, b.length);
    let worst = 0;
    a.forEach((row, i) => row.forEach((v, j) => {
      if (Number.isNaN(v)) return assert.ok(Number.isNaN(b[i][j]));
      worst = Math.max(worst, Math.abs(v - b[i][j]) / Math.max(1, Math.abs(v)));
    }));
    // Per-step train_loss (logEvery 1) is each batch's own loss: equal batches make it agree to float32
    // rounding; different batches would differ by O(1). The trajectories drift apart only by float32
    // rounding of the tfjs gradients (≈1e-7 per step, contracting near the optimum): 1e-4 over 400 steps.
    assert.ok(worst < 1e-4, `largest relative difference ${worst}`);
  });
});
