import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { GraphBuilder } from '../../../../src/core/model/layers/builder';
import { LayerCtx } from '../../../../src/core/model/layers/context';
import { lowerActivation, SUPPORTED_ACTIVATIONS } from '../../../../src/core/model/layers/activations';
import { lowerLayersModel } from '../../../../src/core/model/layers';
import type { EngineGraph } from '../../../../src/core/graph/types';
import { assertClose, checkForward, inputs, randomize, runGraph } from './support';

const L = tf.layers;

/** Activations tfjs names and runs (the oracle is model.predict()). */
const TFJS = ['linear', 'relu', 'relu6', 'sigmoid', 'hardSigmoid', 'tanh', 'softmax', 'logSoftmax', 'elu', 'selu', 'softplus', 'softsign', 'swish', 'mish', 'gelu', 'gelu_new'];

/** Keras-only names, checked against their formulas. */
const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26 is too coarse for 1e-5; integrate the series instead.
  let sum = 0;
  let term = x;
  for (let n = 0; n < 80; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const KERAS: [unknown, (x: number) => number][] = [
  ['exponential', (x) => Math.exp(x)],
  ['silu', (x) => x / (1 + Math.exp(-x))],
  ['leaky_relu', (x) => (x >= 0 ? x : 0.2 * x)],
  ['hard_sigmoid', (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5))],
  ['hard_silu', (x) => (x * Math.min(6, Math.max(0, x + 3))) / 6],
  [{ module: 'keras.activations', class_name: 'function', config: 'softsign', registered_name: 'softsign' }, (x) => x / (1 + Math.abs(x))],
  ['gelu', (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
  [{ class_name: 'gelu', config: { approximate: true } }, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))],
];

/** A graph of one activation applied to the input, lowered through lowerActivation directly. */
function activationGraph(spec: unknown, n: number): EngineGraph {
  const b = new GraphBuilder('t');
  b.reserve('input');
  const layer = L.activation({ activation: 'linear', name: 'act' });
  const ctx = new LayerCtx(b, layer, ['input'], [[null, n]], [[null, n]]);
  const out = lowerActivation(ctx, 'input', spec);
  return {
    format: 'tfjs',
    file: 't',
    opset: 17,
    input: { name: 'input', dtype: 'float32', shape: [null, n] },
    output: { name: out, dtype: 'float32', shape: [null, n] },
    nodes: b.nodes,
    params: b.params,
    constants: b.constants,
    facts: { hasBatchNorm: false, hasRegularizers: false },
    notes: b.notes,
  };
}

describe('TF.js layers lowering: activations', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  for (const name of TFJS) {
    it(`Dense with activation '${name}' equals model.predict()`, async () => {
      await checkForward(randomize(tf.sequential({ layers: [L.dense({ inputShape: [6], units: 5, activation: name as 'relu' })] })), { batch: 4 });
    });
  }

  it('the Activation layer lowers the same way', async () => {
    await checkForward(randomize(tf.sequential({ layers: [L.dense({ inputShape: [6], units: 5 }), L.activation({ activation: 'softplus' })] })));
  });

  for (const [spec, f] of KERAS) {
    it(`Keras activation ${JSON.stringify(spec)} equals its formula`, async () => {
      if (spec === 'linear') return;
      const x = inputs(12, 5);
      const g = activationGraph(spec, 6);
      const r = await runGraph(g, x, [2, 6]);
      assertClose(r.data, Array.from(x, f), 1e-5, 1e-6);
    });
  }

  it('every supported activation name lowers', () => {
    for (const name of SUPPORTED_ACTIVATIONS) activationGraph(name, 3);
  });

  it('an unknown activation is an error naming the layer and the activation', () => {
    const model = tf.sequential({ layers: [L.dense({ inputShape: [3], units: 2, name: 'head' })] });
    // Swap the config's activation for one the lowering does not know, as a Keras front-end could hand over.
    const layer = model.layers[0] as tf.layers.Layer;
    const getConfig = layer.getConfig.bind(layer);
    layer.getConfig = () => ({ ...getConfig(), activation: 'crelu' });
    assert.throws(() => lowerLayersModel(model, { file: 'k.keras' }), /k\.keras: layer 'head' \(Dense\): activation 'crelu' is not supported.*supported: linear, relu/);
  });
});
