import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { parseLossName, perExampleLoss, resolveLoss, type LossSpec } from '../../../src/core/gradnorm/loss';
import { initBackend } from '../../../src/core/tf/backend';

// Oracle: the closed-form per-example losses evaluated in float64 JS; tolerance 1e-6 relative
// (float32 evaluation of log/exp on O(1) values).
const spec = (kind: LossSpec['kind'], fromLogits = false): LossSpec => ({ kind, fromLogits, source: 'test' });
const logits = [
  [1.5, -0.5, 0.25],
  [-2, 0.1, 3],
];
const probs = logits.map((r) => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
});
const onehot = [
  [0, 1, 0],
  [0, 0, 1],
];

function run(s: LossSpec, yTrue: number[][], yPred: number[][]): number[] {
  return Array.from(tf.tidy(() => perExampleLoss(s, tf.tensor2d(yTrue), tf.tensor2d(yPred)).dataSync()));
}

function close(a: number[], b: number[]) {
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-6 * Math.max(1, Math.abs(b[i])), `${v} vs ${b[i]}`));
}

describe('per-example losses (oracle: closed forms in float64; 1e-6 relative)', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('categorical and sparse CE on probabilities: −log p_y', () => {
    const want = probs.map((p, b) => -Math.log(p[onehot[b].indexOf(1)]));
    close(run(spec('categorical_crossentropy'), onehot, probs), want);
    close(run(spec('sparse_categorical_crossentropy'), onehot, probs), want);
  });

  it('CE from logits: logsumexp(z) − z_y', () => {
    const want = logits.map((z, b) => Math.log(z.reduce((a, v) => a + Math.exp(v), 0)) - z[onehot[b].indexOf(1)]);
    close(run(spec('categorical_crossentropy', true), onehot, logits), want);
  });

  it('binary CE on probabilities and from logits, averaged over the last axis (Keras)', () => {
    const y = [
      [1, 0, 1],
      [0, 0, 1],
    ];
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const eps = 1e-7;
    const wantP = logits.map((z, b) => z.reduce((a, v, k) => a - (y[b][k] * Math.log(sig(v) + eps) + (1 - y[b][k]) * Math.log(1 - sig(v) + eps)), 0) / 3);
    close(run(spec('binary_crossentropy'), y, logits.map((r) => r.map(sig))), wantP);
    const wantL = logits.map((z, b) => z.reduce((a, v, k) => a + Math.max(v, 0) - v * y[b][k] + Math.log(1 + Math.exp(-Math.abs(v))), 0) / 3);
    close(run(spec('binary_crossentropy', true), y, logits), wantL);
  });

  it('mse averages over the last axis', () => {
    close(run(spec('mse'), onehot, logits), logits.map((z, b) => z.reduce((a, v, k) => a + (v - onehot[b][k]) ** 2, 0) / 3));
  });

  it('parses Keras, camelCase and class names, with from-logits suffixes', () => {
    assert.deepEqual(parseLossName('sparse_categorical_crossentropy'), { kind: 'sparse_categorical_crossentropy', fromLogits: false });
    assert.deepEqual(parseLossName('sparseCategoricalCrossentropy'), { kind: 'sparse_categorical_crossentropy', fromLogits: false });
    assert.deepEqual(parseLossName('CategoricalCrossentropy'), { kind: 'categorical_crossentropy', fromLogits: false });
    assert.deepEqual(parseLossName('binary_crossentropy_from_logits'), { kind: 'binary_crossentropy', fromLogits: true });
    assert.deepEqual(parseLossName('meanSquaredError'), { kind: 'mse', fromLogits: false });
    assert.equal(parseLossName('hinge'), undefined);
  });

  it('takes the loss from a Keras trainingConfig object, --loss winning over it', () => {
    const tc = { loss: { class_name: 'SparseCategoricalCrossentropy', config: { from_logits: true, reduction: 'auto' } } };
    assert.deepEqual(resolveLoss(undefined, tc, 'm.json'), { kind: 'sparse_categorical_crossentropy', fromLogits: true, source: 'model.json' });
    assert.equal(resolveLoss('mse', tc, 'm.json').kind, 'mse');
    assert.throws(() => resolveLoss(undefined, undefined, 'm.json'), /m\.json: records no training loss; pass --loss/);
    assert.throws(() => resolveLoss(undefined, { loss: 'hinge' }, 'm.json'), /trainingConfig loss 'hinge' is not supported/);
    assert.throws(() => resolveLoss(undefined, { loss: ['mse', 'mse'] }, 'm.json'), /multi-output/);
  });
});
