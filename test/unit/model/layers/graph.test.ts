import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { EngineGraph } from '../../../../src/core/graph/types';
import { lowerLayersModel, SUPPORTED_LAYERS } from '../../../../src/core/model/layers';
import { loadModel } from '../../../../src/core/model/load';
import { trainableParams } from '../../../../src/core/model/params';
import { assertClose, checkForward, inputs, randomize, runGraph } from './support';

const L = tf.layers;
const ROOT = join(__dirname, '..', '..', '..', '..');

/** Every node input is the graph input, a parameter, a constant, '' or an earlier node's output; names are unique. */
function assertWellFormed(g: EngineGraph): void {
  const defined = new Set<string>([g.input.name, ...g.params.map((p) => p.name), ...g.constants.map((c) => c.name)]);
  assert.equal(defined.size, 1 + g.params.length + g.constants.length, 'input, parameter and constant names are unique');
  for (const n of g.nodes) {
    for (const i of n.inputs) assert.ok(i === '' || defined.has(i), `node ${n.name} reads ${i} before it is defined`);
    for (const o of n.outputs) {
      assert.ok(!defined.has(o), `value ${o} defined twice`);
      defined.add(o);
    }
  }
  assert.ok(defined.has(g.output.name));
  assert.equal(new Set(g.nodes.map((n) => n.name)).size, g.nodes.length, 'node names are unique');
}

describe('TF.js layers lowering: model graphs, parameters and errors', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('a functional model with a residual branch', async () => {
    const inp = tf.input({ shape: [6] });
    const h = L.dense({ units: 6, activation: 'relu' }).apply(inp) as tf.SymbolicTensor;
    const r = L.add().apply([inp, L.dense({ units: 6 }).apply(h) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const out = L.dense({ units: 3, activation: 'softmax' }).apply(L.layerNormalization({}).apply(r)) as tf.SymbolicTensor;
    assertWellFormed(await checkForward(randomize(tf.model({ inputs: inp, outputs: out }))));
  });

  it('a nested Sequential inside a functional model is inlined; parameter names and order equal trainableParams', async () => {
    const inner = tf.sequential({ layers: [L.dense({ inputShape: [4], units: 5, activation: 'tanh' }), L.dense({ units: 4 })] });
    const inp = tf.input({ shape: [4] });
    const a = inner.apply(inp) as tf.SymbolicTensor;
    const out = L.dense({ units: 2 }).apply(L.concatenate().apply([a, inp])) as tf.SymbolicTensor;
    const model = randomize(tf.model({ inputs: inp, outputs: out }));
    const g = await checkForward(model);
    assertWellFormed(g);
    assert.deepEqual(
      g.params.map((p) => p.name),
      trainableParams(model).map((p) => p.name),
    );
    assert.deepEqual(
      g.params.map((p) => p.tensor.dims),
      trainableParams(model).map((p) => p.shape),
    );
  });

  it('a Sequential inside a Sequential', async () => {
    const inner = tf.sequential({ layers: [L.dense({ inputShape: [4], units: 5, activation: 'relu' })] });
    const model = randomize(tf.sequential({ layers: [inner, L.dense({ units: 2 })] }));
    const g = await checkForward(model);
    assert.deepEqual(g.params.map((p) => p.name), trainableParams(model).map((p) => p.name));
  });

  it('a layer applied twice (shared weights) uses one parameter in both places', async () => {
    const inp = tf.input({ shape: [4] });
    const shared = L.dense({ units: 4, activation: 'tanh', name: 'shared' });
    const out = L.dense({ units: 2 }).apply(shared.apply(shared.apply(inp))) as tf.SymbolicTensor;
    const model = randomize(tf.model({ inputs: inp, outputs: out }));
    const g = await checkForward(model);
    assertWellFormed(g);
    assert.equal(g.params.length, 4);
    assert.equal(g.nodes.filter((n) => n.inputs.includes(g.params[0].name)).length, 2);
  });

  it('frozen layers: their weights are constants, the rest stay parameters in trainableWeights order', async () => {
    const frozen = L.dense({ inputShape: [4], units: 3, name: 'frozen' });
    const model = randomize(tf.sequential({ layers: [frozen, L.dense({ units: 2, name: 'head' })] }));
    frozen.trainable = false;
    const g = await checkForward(model);
    assert.deepEqual(g.params.map((p) => p.name), ['head/kernel', 'head/bias']);
    assert.deepEqual(g.constants.map((c) => c.name).slice(0, 2), ['frozen/kernel', 'frozen/bias']);
  });

  it('parameter values are the weights, in row-major tfjs layout', () => {
    const model = randomize(tf.sequential({ layers: [L.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 2 })] }));
    const g = lowerLayersModel(model, { file: 'm' });
    model.trainableWeights.forEach((w, i) => assert.deepEqual(Array.from(g.params[i].tensor.data as Float32Array), Array.from(w.read().dataSync())));
  });

  it('kernel/bias/embeddings regularisers become parameter penalties (L1L2, l1, l2)', () => {
    const model = tf.sequential({
      layers: [
        L.embedding({ inputDim: 5, outputDim: 3, inputLength: 2, embeddingsRegularizer: tf.regularizers.l1({ l1: 0.02 }) }),
        L.flatten(),
        L.dense({ units: 4, kernelRegularizer: tf.regularizers.l1l2({ l1: 0.01, l2: 0.003 }), biasRegularizer: tf.regularizers.l2({ l2: 0.5 }) }),
        L.dense({ units: 2 }),
      ],
    });
    const g = lowerLayersModel(model, { file: 'm' });
    assert.deepEqual(
      g.params.map((p) => p.penalty),
      [{ l1: 0.02, l2: 0 }, { l1: 0.01, l2: 0.003 }, { l1: 0, l2: 0.5 }, undefined, undefined],
    );
    assert.equal(g.facts.hasRegularizers, true);
    assert.equal(g.facts.hasBatchNorm, false);
  });

  it('Keras-style regulariser configs (snake_case keys, L2 and L1 classes) are read too', () => {
    const model = tf.sequential({ layers: [L.dense({ inputShape: [3], units: 2, name: 'k' })] });
    const layer = model.layers[0];
    const getConfig = layer.getConfig.bind(layer);
    layer.getConfig = () => ({ ...getConfig(), kernelRegularizer: null, kernel_regularizer: { class_name: 'L2', config: { l2: 0.25 } }, bias_regularizer: { class_name: 'L1', config: { l1: 0.5 } } });
    const g = lowerLayersModel(model, { file: 'm' });
    assert.deepEqual(g.params.map((p) => p.penalty), [{ l1: 0, l2: 0.25 }, { l1: 0.5, l2: 0 }]);
  });

  it('weights are found by name when a layer does not hold them in the tfjs properties', async () => {
    const model = randomize(tf.sequential({ layers: [L.dense({ inputShape: [3], units: 2 }), L.batchNormalization({})] }));
    const byProps = await checkForward(model);
    for (const layer of model.layers) for (const prop of ['kernel', 'bias', 'gamma', 'beta', 'movingMean', 'movingVariance']) (layer as unknown as Record<string, unknown>)[prop] = undefined;
    const byNames = lowerLayersModel(model, { file: 'model.json (test)' });
    assert.deepEqual(byNames, byProps);
    assert.equal(byNames.params.length, 4);
    assert.equal(byNames.constants.length, 2);
  });

  it('the repo checkpoints (softmax, mlp) lower, run, and carry their modelTopology penalties', async () => {
    for (const name of ['softmax', 'mlp']) {
      const file = join(ROOT, 'examples', 'digits', 'checkpoints', name, 'model.json');
      const loaded = await loadModel(file);
      const g = lowerLayersModel(loaded.model, { file, trainingConfig: loaded.trainingConfig });
      assertWellFormed(g);
      assert.equal(g.file, file);
      assert.deepEqual(g.trainingConfig, { loss: 'sparse_categorical_crossentropy' });
      assert.deepEqual(g.params.map((p) => p.name), trainableParams(loaded.model).map((p) => p.name));
      const topo = JSON.parse(readFileSync(file, 'utf8')).modelTopology.config.layers as { config: { kernel_regularizer: { config: { l1: number; l2: number } } | null; bias_regularizer: unknown } }[];
      const want = topo.flatMap((l) => [l.config.kernel_regularizer ? { l1: l.config.kernel_regularizer.config.l1, l2: l.config.kernel_regularizer.config.l2 } : undefined, l.config.bias_regularizer ? {} : undefined]);
      assert.deepEqual(g.params.map((p) => p.penalty), want);
      assert.equal(g.facts.hasRegularizers, true);
      await checkForward(loaded.model, { batch: 5 });
    }
  });

  it('a model of identities gets an Identity node to its output', async () => {
    const g = await checkForward(tf.sequential({ layers: [L.dropout({ inputShape: [3], rate: 0.2 })] }));
    assert.deepEqual(g.nodes.map((n) => n.op), ['Identity']);
    assert.notEqual(g.output.name, g.input.name);
  });

  it('an unsupported layer is an error naming the layer and listing what is supported', () => {
    const model = tf.sequential({ layers: [L.simpleRNN({ inputShape: [3, 2], units: 4, name: 'rnn' })] });
    assert.throws(
      () => lowerLayersModel(model, { file: 'model.json' }),
      (e: Error) => e.name === 'HeatcapError' && /^model\.json: layer 'rnn' \(SimpleRNN\) is not supported by the engine graph; supported: Dense, Conv1D/.test(e.message),
    );
    assert.ok(SUPPORTED_LAYERS.includes('Conv2D'));
  });

  it('an activity regulariser is an error naming the layer', () => {
    // tfjs cannot apply a layer with an activity regulariser; a Keras front-end can hand one over.
    const model = tf.sequential({ layers: [L.dense({ inputShape: [3], units: 2, name: 'act_reg' })] });
    const layer = model.layers[0];
    const getConfig = layer.getConfig.bind(layer);
    layer.getConfig = () => ({ ...getConfig(), activityRegularizer: { className: 'L1L2', config: { l1: 0, l2: 0.01 } } });
    assert.throws(() => lowerLayersModel(model, { file: 'm' }), /layer 'act_reg' \(Dense\): has an activity regularizer/);
  });

  it('a regulariser other than L1/L2 is an error naming the layer', () => {
    const model = tf.sequential({ layers: [L.dense({ inputShape: [3], units: 2, name: 'ortho' })] });
    const layer = model.layers[0];
    const getConfig = layer.getConfig.bind(layer);
    layer.getConfig = () => ({ ...getConfig(), kernelRegularizer: { className: 'OrthogonalRegularizer', config: { factor: 0.01 } } });
    assert.throws(() => lowerLayersModel(model, { file: 'm' }), /layer 'ortho' \(Dense\): regulariser OrthogonalRegularizer/);
  });

  it('models with two inputs or two outputs are refused', () => {
    const a = tf.input({ shape: [2] });
    const b = tf.input({ shape: [2] });
    const two = tf.model({ inputs: [a, b], outputs: L.add().apply([a, b]) as tf.SymbolicTensor });
    assert.throws(() => lowerLayersModel(two, { file: 'm' }), /2 inputs/);
    const d = L.dense({ units: 2 });
    const twoOut = tf.model({ inputs: a, outputs: [d.apply(a) as tf.SymbolicTensor, L.dense({ units: 1 }).apply(a) as tf.SymbolicTensor] });
    assert.throws(() => lowerLayersModel(twoOut, { file: 'm' }), /2 outputs/);
  });

  it('channels_first Conv2D and pooling need no transposes', async () => {
    const model = randomize(
      tf.sequential({
        layers: [
          L.conv2d({ inputShape: [2, 6, 6], filters: 3, kernelSize: 3, dataFormat: 'channelsFirst', padding: 'same' }),
          L.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst' }),
          L.globalAveragePooling2d({ dataFormat: 'channelsFirst' }),
        ],
      }),
    );
    const g = await checkForward(model);
    assert.deepEqual(g.nodes.filter((n) => n.op === 'Transpose').map((n) => n.inputs[0]), [g.params[0].name]);
  });

  it('BatchNormalization(axis 1) on a 4-D input runs directly (oracle: the formula; tfjs 4.22 itself mis-broadcasts this case)', async () => {
    const model = randomize(tf.sequential({ layers: [L.batchNormalization({ inputShape: [2, 3, 4], axis: 1, epsilon: 1e-3 })] }));
    const g = lowerLayersModel(model, { file: 'm' });
    assert.deepEqual(g.nodes.map((n) => n.op), ['BatchNormalization']);
    const [gamma, beta, mean, variance] = model.getWeights().map((t) => t.dataSync());
    const x = inputs(2 * 24, 9);
    const want = Array.from(x, (v, i) => {
      const c = Math.floor(i / 12) % 2;
      return ((v - mean[c]) / Math.sqrt(variance[c] + 1e-3)) * gamma[c] + beta[c];
    });
    assertClose((await runGraph(g, x, [2, 2, 3, 4])).data, want, 1e-5, 1e-6);
  });
});
