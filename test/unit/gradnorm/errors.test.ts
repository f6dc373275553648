import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../../../src/core/errors';
import { writeNpy } from '../../../src/core/data/npy';
import { computeGradStats } from '../../../src/core/gradnorm/engine';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { initBackend } from '../../../src/core/tf/backend';
import { asLoaded, memoryArrays, randomArray, randomLabels, seqModel } from '../../support/models/random';

const dir = mkdtempSync(join(tmpdir(), 'bad-'));

function isError(file: string | undefined, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof HeatcapError, `not a HeatcapError: ${String(e)}`);
    if (file !== undefined) assert.equal(e.file, file);
    assert.match(e.what, pattern);
    return true;
  };
}

describe('bad inputs give errors that name the file and what is wrong', () => {
  before(async () => {
    await initBackend('cpu');
  });
  const mlp = () => seqModel([4], [{ type: 'dense', units: 3 }], 2);

  it('data rows that do not fit the model input', async () => {
    const x = join(dir, 'x.npy');
    const y = join(dir, 'y.npy');
    writeNpy(x, randomArray(5 * 3, 1), [5, 3]);
    writeNpy(y, new Int32Array(5), [5]);
    await assert.rejects(
      openGradProblem({ model: asLoaded(mlp(), 'sparse_categorical_crossentropy'), data: { data: x, labels: y } }),
      isError(x, /rows of shape \(3\) \(3 values\) do not fit the model's input \(4\)/),
    );
  });

  it('inputs are reshaped to the model input when the sizes agree (784 → 28×28×1 style)', async () => {
    const model = seqModel([2, 2, 1], [{ type: 'flatten' }, { type: 'dense', units: 2 }], 2);
    const p = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(randomArray(3 * 4, 1), [4], Float64Array.from(randomArray(6, 2)), [2], false) });
    assert.deepEqual(p.inputs.rowShape, [2, 2, 1]);
    assert.ok(p.notes.some((n) => /reshaped from \(4\) to \(2, 2, 1\)/.test(n)));
  });

  it('a class label outside the model outputs, with the example index', async () => {
    const y = randomLabels(6, 3, 1);
    y[4] = 3;
    const p = await openGradProblem({ model: asLoaded(mlp(), 'sparse_categorical_crossentropy_from_logits'), data: memoryArrays(randomArray(24, 1), [4], y) });
    await assert.rejects(computeGradStats(p), isError('y (memory)', /example 4: label 3 is not a class index of the model's 3 outputs \(0\.\.2\)/));
  });

  it('a NaN in the inputs, with the example index', async () => {
    const x = randomArray(24, 1);
    x[9] = NaN;
    const p = await openGradProblem({ model: asLoaded(mlp(), 'sparse_categorical_crossentropy_from_logits'), data: memoryArrays(x, [4], randomLabels(6, 3, 1)) });
    await assert.rejects(computeGradStats(p), isError('x (memory)', /example 2: input value NaN is not finite/));
  });

  it('one-hot rows that do not sum to 1, and binary targets outside [0, 1]', async () => {
    const y = new Float64Array(6 * 3);
    for (let b = 0; b < 6; b++) y[b * 3] = 1;
    y[5 * 3 + 1] = 1;
    const p = await openGradProblem({ model: asLoaded(mlp(), 'categorical_crossentropy_from_logits'), data: memoryArrays(randomArray(24, 1), [4], y, [3]) });
    await assert.rejects(computeGradStats(p), /example 5: label row sums to 2, not 1/);
    const yb = Float64Array.from([0, 1, 2, 0, 1, 0].flatMap((v) => [v, v, v]));
    const pb = await openGradProblem({ model: asLoaded(mlp(), 'binary_crossentropy_from_logits'), data: memoryArrays(randomArray(24, 1), [4], yb, [3], true) });
    await assert.rejects(computeGradStats(pb), /example 2: target 2 is outside \[0, 1\]/);
  });

  it('labels whose shape fits neither indices nor one-hot', async () => {
    await assert.rejects(
      openGradProblem({ model: asLoaded(mlp(), 'sparse_categorical_crossentropy'), data: memoryArrays(randomArray(24, 1), [4], new Float64Array(6 * 2), [2]) }),
      /labels of shape \(N, 2\) fit neither class indices \(N\) nor one-hot \(N, 3\)/,
    );
  });

  it('a token id outside the embedding table', async () => {
    const model = seqModel([3], [{ type: 'embedding', inputDim: 4, outputDim: 2 }, { type: 'flatten' }, { type: 'dense', units: 1 }], 2);
    const x = Float32Array.from([0, 1, 2, 3, 4, 0]);
    const p = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(x, [3], new Float64Array(2), [1], false) });
    await assert.rejects(computeGradStats(p), isError('x (memory)', /example 1: token id 4 is outside embedding '.*' \(0\.\.3\)/));
  });

  it('a model with two inputs, or no recorded loss', async () => {
    const a = tf.input({ shape: [2] });
    const b = tf.input({ shape: [2] });
    const two = tf.model({ inputs: [a, b], outputs: tf.layers.dense({ units: 1 }).apply(tf.layers.concatenate().apply([a, b])) as tf.SymbolicTensor });
    await assert.rejects(openGradProblem({ model: asLoaded(two, 'mse'), data: memoryArrays(randomArray(4, 1), [2], new Float64Array(2), [1]) }), /has 2 inputs; only single-input models are supported/);
    const loaded = { ...asLoaded(mlp(), 'mse'), trainingConfig: undefined };
    await assert.rejects(openGradProblem({ model: loaded, data: memoryArrays(randomArray(8, 1), [4], new Float64Array(2)) }), /records no training loss; pass --loss/);
  });
});
