import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { computeGradStats } from '../../../src/core/gradnorm/engine';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { trainModel } from '../../../src/core/model/train';
import { initBackend } from '../../../src/core/tf/backend';
import { asLoaded, memoryArrays, randomArray } from '../../support/models/random';

describe('trainModel (oracle: the closed-form least-squares optimum)', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('full-batch gradient descent on least squares reaches the normal-equations solution (1e-4) and ‖ḡ‖² ≈ 0', async () => {
    const N = 50;
    const X = randomArray(N * 2, 51);
    const y = Float64Array.from({ length: N }, (_, b) => 1.5 * X[2 * b] - 0.5 * X[2 * b + 1] + 0.25);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1, kernelInitializer: 'zeros' })] });
    const p = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(X, [2], y, [1], false) });
    const { epochLosses } = await trainModel(p, { learningRate: 0.2, epochs: 400 });
    assert.ok(epochLosses[epochLosses.length - 1] < 1e-8, `final loss ${epochLosses[epochLosses.length - 1]}`);
    const [w, b] = model.getWeights().map((t) => Array.from(t.dataSync()));
    // Noise-free data: the optimum is the generating (1.5, −0.5, 0.25).
    assert.ok(Math.abs(w[0] - 1.5) < 1e-4 && Math.abs(w[1] + 0.5) < 1e-4 && Math.abs(b[0] - 0.25) < 1e-4, `${w} ${b}`);
    const s = await computeGradStats(p);
    assert.ok(s.meanGradSqNorm < 1e-6, `‖ḡ‖² = ${s.meanGradSqNorm}`);
  });

  it('is deterministic for a seed (minibatch Adam)', async () => {
    const run = async () => {
      const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1, kernelInitializer: 'zeros' })] });
      const X = randomArray(40, 3);
      const p = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(X, [2], Float64Array.from(randomArray(20, 4)), [1], false) });
      return (await trainModel(p, { optimizer: 'adam', learningRate: 0.05, epochs: 5, batchSize: 4, seed: 9 })).epochLosses;
    };
    assert.deepEqual(await run(), await run());
  });
});
