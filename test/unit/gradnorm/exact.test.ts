import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { hessian, perExampleGradients } from '../../../src/core/gradnorm/exact';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { writeNpy } from '../../../src/core/data/npy';
import { saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';
import { runInThisThread } from '../../../src/core/worker/in-thread';
import { vectorRelError } from '../../support/models/compare';
import { asLoaded, memoryArrays, randomArray, randomLabels } from '../../support/models/random';

// Oracle: softmax regression and least squares in closed form (float64 JS). Parameter order: the
// kernel (d×C, row-major: index i·C + k) then the bias (C).
const N = 30;
const d = 4;
const C = 3;
const lambda = 0.02;

async function softmaxProblem(fromLogits: boolean) {
  const X = randomArray(N * d, 31);
  const y = randomLabels(N, C, 32);
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [d], units: C, activation: fromLogits ? 'linear' : 'softmax', kernelRegularizer: tf.regularizers.l2({ l2: lambda }), kernelInitializer: tf.initializers.randomNormal({ seed: 3 }), biasInitializer: tf.initializers.randomNormal({ seed: 4 }) })],
  });
  const W = model.getWeights()[0].dataSync();
  const c = model.getWeights()[1].dataSync();
  const probs = Array.from({ length: N }, (_, b) => {
    const z = Array.from({ length: C }, (_, k) => c[k] + Array.from({ length: d }, (_, i) => X[b * d + i] * W[i * C + k]).reduce((a, v) => a + v, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / s);
  });
  const problem = await openGradProblem({ model: asLoaded(model, fromLogits ? 'sparse_categorical_crossentropy_from_logits' : 'sparse_categorical_crossentropy'), data: memoryArrays(X, [d], y) });
  return { problem, X, y, W, probs };
}

describe('per-example gradients and Hessian (oracle: closed-form softmax regression and least squares)', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('per-example gradients of softmax regression: x_b ⊗ (p_b − e_y) + 2λW (1e-5 relative, float32)', async () => {
    const { problem, X, y, W, probs } = await softmaxProblem(false);
    const { rows, params } = await perExampleGradients(problem);
    assert.deepEqual(
      params.map((p) => [p.name.replace(/_\w+?(?=\/)/, ''), p.offset, p.size]),
      [
        ['dense/kernel', 0, d * C],
        ['dense/bias', d * C, C],
      ],
    );
    for (let b = 0; b < N; b++) {
      const want = new Float64Array(d * C + C);
      for (let k = 0; k < C; k++) {
        const r = probs[b][k] - (y[b] === k ? 1 : 0);
        for (let i = 0; i < d; i++) want[i * C + k] = X[b * d + i] * r + 2 * lambda * W[i * C + k];
        want[d * C + k] = r;
      }
      assert.ok(vectorRelError(rows[b], want) < 1e-5, `example ${b}: ${vectorRelError(rows[b], want)}`);
    }
    const noPenalty = await perExampleGradients(problem, { includePenalty: false });
    assert.ok(Math.abs(noPenalty.rows[0][0] - (rows[0][0] - 2 * lambda * W[0])) < 1e-6);
  });

  for (const fromLogits of [false, true]) {
    it(`Hessian of softmax regression ${fromLogits ? 'from logits' : 'on probabilities'}: mean_b (diag p − ppᵀ) ⊗ x̃x̃ᵀ + 2λI (1e-4 of max |H|: Richardson-extrapolated differences of float32 gradients)`, async () => {
      const { problem, X, probs } = await softmaxProblem(fromLogits);
      const { matrix } = await hessian(problem);
      const P = d * C + C;
      const idx = (i: number, k: number) => (i < d ? i * C + k : d * C + k);
      const want = new Float64Array(P * P);
      for (let b = 0; b < N; b++) {
        const xt = [...Array.from(X.subarray(b * d, b * d + d)), 1];
        for (let i = 0; i <= d; i++)
          for (let j = 0; j <= d; j++)
            for (let k = 0; k < C; k++)
              for (let l = 0; l < C; l++) want[idx(i, k) * P + idx(j, l)] += (xt[i] * xt[j] * ((k === l ? probs[b][k] : 0) - probs[b][k] * probs[b][l])) / N;
      }
      for (let i = 0; i < d * C; i++) want[i * P + i] += 2 * lambda;
      assert.ok(vectorRelError(matrix, want) < 1e-4, `relative error ${vectorRelError(matrix, want)}`);
    });
  }

  it('Hessian of least squares with mse: (2/N) Σ x̃x̃ᵀ, without the penalty when asked (1e-4: float32 gradient noise ÷ step)', async () => {
    const X = randomArray(N * d, 41);
    const y = Float64Array.from(randomArray(N, 42));
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [d], units: 1, kernelRegularizer: tf.regularizers.l2({ l2: lambda }) })] });
    const problem = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(X, [d], y, [1], false) });
    const { matrix } = await hessian(problem, { includePenalty: false });
    const P = d + 1;
    const want = new Float64Array(P * P);
    for (let b = 0; b < N; b++) {
      const xt = [...Array.from(X.subarray(b * d, b * d + d)), 1];
      for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) want[i * P + j] += (2 * xt[i] * xt[j]) / N;
    }
    assert.ok(vectorRelError(matrix, want) < 1e-4, `relative error ${vectorRelError(matrix, want)}`);
  });

  it('the `exact` worker job returns both matrices flattened row-major (wiring; same oracle, 1e-4)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exact-job-'));
    const X = randomArray(N * d, 61);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [d], units: 1 })] });
    const file = await saveLayersModel(model, join(dir, 'm'), { loss: 'mse' });
    writeNpy(join(dir, 'x.npy'), X, [N, d]);
    writeNpy(join(dir, 'y.npy'), randomArray(N, 62), [N, 1]);
    const r = await runInThisThread({ kind: 'exact', request: { model: file, data: { data: join(dir, 'x.npy'), labels: join(dir, 'y.npy') }, backend: 'cpu', hessian: true, perExampleGradients: true } });
    const P = d + 1;
    assert.equal(r.perExampleGradients!.length, N * P);
    const want = new Float64Array(P * P);
    for (let b = 0; b < N; b++) {
      const xt = [...Array.from(X.subarray(b * d, b * d + d)), 1];
      for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) want[i * P + j] += (2 * xt[i] * xt[j]) / N;
    }
    assert.ok(vectorRelError(r.hessian!, want) < 1e-4, `relative error ${vectorRelError(r.hessian!, want)}`);
  });

  it('refuses models above the parameter limit', async () => {
    const { problem } = await softmaxProblem(true);
    await assert.rejects(hessian(problem, { maxParams: 10 }), /has 15 parameters; exact per-parameter quantities are limited to 10/);
  });
});
