import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { lowerLayersModel } from '../../../../src/core/model/layers';
import { assertClose, checkForward, inputs, randomize, runGraph } from './support';

const L = tf.layers;
const seq = (layers: tf.layers.Layer[]) => randomize(tf.sequential({ layers }));
const ops = (g: { nodes: { op: string }[] }) => g.nodes.map((n) => n.op);

describe('TF.js layers lowering: forward pass through ONNX Runtime equals model.predict() (1e-5 relative)', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('Dense on a 2-D input: MatMul + Add of the kernel and bias parameters', async () => {
    const g = await checkForward(seq([L.dense({ inputShape: [5], units: 4 })]));
    assert.deepEqual(ops(g), ['MatMul', 'Add']);
    assert.deepEqual(g.params.map((p) => p.tensor.dims), [[5, 4], [4]]);
    assert.equal(g.opset, 17);
    assert.deepEqual(g.input, { name: 'input', dtype: 'float32', shape: [null, 5] });
    assert.deepEqual(g.output.shape, [null, 4]);
  });

  it('Dense without bias on a 3-D input', async () => {
    const g = await checkForward(seq([L.dense({ inputShape: [3, 5], units: 2, useBias: false, activation: 'tanh' })]));
    assert.deepEqual(ops(g), ['MatMul', 'Tanh']);
  });

  it('Conv2D valid, channels_last: Transposes around Conv, kernel parameter kept in tfjs layout', async () => {
    const g = await checkForward(seq([L.conv2d({ inputShape: [7, 6, 3], filters: 4, kernelSize: [3, 2], activation: 'relu' })]));
    assert.deepEqual(g.params[0].tensor.dims, [3, 2, 3, 4]);
    const kt = g.nodes.find((n) => n.op === 'Transpose' && n.inputs[0] === g.params[0].name);
    assert.deepEqual(kt?.attrs.perm, { type: 'ints', v: [3, 2, 0, 1] });
    assert.deepEqual(ops(g), ['Transpose', 'Transpose', 'Conv', 'Transpose', 'Relu']);
  });

  it('Conv2D same padding with stride 2 and an odd size (TF pads the extra pixel at the end)', async () => {
    const g = await checkForward(seq([L.conv2d({ inputShape: [7, 8, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same' })]));
    assert.deepEqual(g.nodes.find((n) => n.op === 'Conv')?.attrs.pads, { type: 'ints', v: [1, 0, 1, 1] });
  });

  it('Conv2D same padding with dilation', async () => {
    await checkForward(seq([L.conv2d({ inputShape: [9, 9, 2], filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' })]));
  });

  it('Conv2D same padding with unknown spatial size uses auto_pad SAME_UPPER', async () => {
    const inp = tf.input({ shape: [null, null, 2] });
    const out = L.globalAveragePooling2d({}).apply(L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }).apply(inp)) as tf.SymbolicTensor;
    const model = randomize(tf.model({ inputs: inp, outputs: out }));
    const g = lowerLayersModel(model, { file: 'm' });
    assert.deepEqual(g.nodes.find((n) => n.op === 'Conv')?.attrs.auto_pad, { type: 'string', v: 'SAME_UPPER' });
    assert.deepEqual(g.input.shape, [null, null, null, 2]);
  });

  it('Conv1D (valid, same, causal)', async () => {
    await checkForward(seq([L.conv1d({ inputShape: [9, 3], filters: 4, kernelSize: 3 })]));
    await checkForward(seq([L.conv1d({ inputShape: [9, 3], filters: 4, kernelSize: 4, strides: 2, padding: 'same' })]));
  });

  it('Conv1D causal padding (tfjs cannot run it: oracle written out)', async () => {
    const [T, C, O, K, D] = [9, 3, 2, 3, 2];
    const model = seq([L.conv1d({ inputShape: [T, C], filters: O, kernelSize: K, dilationRate: D, padding: 'causal' })]);
    const g = lowerLayersModel(model, { file: 'm' });
    const [w, b] = model.getWeights().map((t) => t.dataSync());
    const x = inputs(2 * T * C, 3);
    const want = new Float32Array(2 * T * O);
    for (let n = 0; n < 2; n++)
      for (let t = 0; t < T; t++)
        for (let o = 0; o < O; o++) {
          let acc = b[o];
          for (let k = 0; k < K; k++) {
            const ti = t + k * D - (K - 1) * D;
            if (ti < 0) continue;
            for (let c = 0; c < C; c++) acc += x[(n * T + ti) * C + c] * w[(k * C + c) * O + o];
          }
          want[(n * T + t) * O + o] = acc;
        }
    assertClose((await runGraph(g, x, [2, T, C])).data, want, 1e-5, 1e-6);
  });

  it('Conv3D', async () => {
    await checkForward(seq([L.conv3d({ inputShape: [4, 5, 4, 2], filters: 3, kernelSize: 2, padding: 'same' })]), { batch: 2 });
  });

  it('DepthwiseConv2D with depth multiplier 2 (grouped Conv, channel order c·mult + m)', async () => {
    const g = await checkForward(seq([L.depthwiseConv2d({ inputShape: [6, 6, 3], kernelSize: 3, depthMultiplier: 2, padding: 'same' })]));
    assert.deepEqual(g.nodes.find((n) => n.op === 'Conv')?.attrs.group, { type: 'int', v: 3 });
  });

  it('SeparableConv2D', async () => {
    await checkForward(seq([L.separableConv2d({ inputShape: [6, 7, 3], filters: 4, kernelSize: 3, depthMultiplier: 2, strides: 2, activation: 'relu' })]));
  });

  it('Embedding fed from the float input: Cast to int64 then Gather', async () => {
    const g = await checkForward(seq([L.embedding({ inputDim: 7, outputDim: 3, inputLength: 5 }), L.flatten(), L.dense({ units: 2 })]), { ids: 7 });
    assert.deepEqual(ops(g).slice(0, 2), ['Cast', 'Gather']);
    assert.equal(g.input.dtype, 'float32');
  });

  it('Embedding with mask_zero is refused, naming the layer', () => {
    const model = tf.sequential({ layers: [L.embedding({ inputDim: 7, outputDim: 3, inputLength: 5, maskZero: true, name: 'emb' })] });
    assert.throws(() => lowerLayersModel(model, { file: 'm.json' }), /m\.json: layer 'emb' \(Embedding\).*mask_zero/);
  });

  it('LayerNormalization over the last axis (opset-17 op)', async () => {
    const g = await checkForward(seq([L.layerNormalization({ inputShape: [4, 6], epsilon: 1e-3 })]));
    assert.deepEqual(ops(g), ['LayerNormalization']);
    assert.deepEqual(g.nodes[0].attrs.axis, { type: 'int', v: -1 });
  });

  it('LayerNormalization over the last axis of NHWC and over two trailing axes', async () => {
    await checkForward(seq([L.layerNormalization({ inputShape: [3, 4, 5] })]));
    const g = await checkForward(seq([L.layerNormalization({ inputShape: [4, 6], axis: [1, 2] })]));
    assert.deepEqual(g.nodes[0].attrs.axis, { type: 'int', v: 1 });
  });

  it('LayerNormalization without scale and center: γ/β become constants, not parameters', async () => {
    const g = await checkForward(seq([L.dense({ inputShape: [5], units: 6 }), L.layerNormalization({ center: false, scale: false })]));
    assert.equal(g.params.length, 2);
    const ln = g.nodes.find((n) => n.op === 'LayerNormalization')!;
    const consts = new Map(g.constants.map((c) => [c.name, c.tensor]));
    assert.deepEqual(Array.from(consts.get(ln.inputs[1])!.data as Float32Array), [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(Array.from(consts.get(ln.inputs[2])!.data as Float32Array), [0, 0, 0, 0, 0, 0]);
  });

  it('BatchNormalization on a 4-D NHWC input: Transposes around BatchNormalization; moving stats are constants', async () => {
    const g = await checkForward(seq([L.batchNormalization({ inputShape: [4, 5, 3] })]));
    assert.deepEqual(ops(g), ['Transpose', 'BatchNormalization', 'Transpose']);
    assert.deepEqual(g.params.map((p) => p.name.split('/').pop()), ['gamma', 'beta']);
    assert.deepEqual(g.constants.map((c) => c.name.split('/').pop()), ['moving_mean', 'moving_variance']);
    assert.equal(g.facts.hasBatchNorm, true);
  });

  it('BatchNormalization on a 2-D input works on axis 1 directly; without scale γ is a constant', async () => {
    const g = await checkForward(seq([L.dense({ inputShape: [5], units: 4 }), L.batchNormalization({ scale: false })]));
    assert.deepEqual(ops(g), ['MatMul', 'Add', 'BatchNormalization']);
    assert.equal(g.params.length, 3);
  });

  it('MaxPooling2D and AveragePooling2D, valid and same (same average excludes the padding)', async () => {
    for (const padding of ['valid', 'same'] as const) {
      await checkForward(seq([L.maxPooling2d({ inputShape: [7, 6, 2], poolSize: 3, strides: 2, padding })]));
      const g = await checkForward(seq([L.averagePooling2d({ inputShape: [7, 6, 2], poolSize: [3, 2], strides: 2, padding })]));
      assert.deepEqual(g.nodes.find((n) => n.op === 'AveragePool')?.attrs.count_include_pad, { type: 'int', v: 0 });
    }
  });

  it('MaxPooling1D and AveragePooling1D', async () => {
    await checkForward(seq([L.maxPooling1d({ inputShape: [9, 2], poolSize: 2 })]));
    await checkForward(seq([L.averagePooling1d({ inputShape: [9, 2], poolSize: 3, strides: 2, padding: 'same' })]));
  });

  it('GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D', async () => {
    await checkForward(seq([L.globalAveragePooling2d({ inputShape: [4, 5, 3] })]));
    await checkForward(seq([L.globalMaxPooling2d({ inputShape: [4, 5, 3] })]));
    await checkForward(seq([L.globalAveragePooling1d({ inputShape: [6, 3] })]));
    await checkForward(seq([L.globalMaxPooling1d({ inputShape: [6, 3] })]));
  });

  it('Flatten of NHWC (Keras order) into Dense', async () => {
    const g = await checkForward(seq([L.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 2 }), L.flatten(), L.dense({ units: 3, activation: 'softmax' })]));
    assert.ok(ops(g).includes('Flatten'));
  });

  it('Reshape (with −1) and Permute', async () => {
    await checkForward(seq([L.reshape({ inputShape: [12], targetShape: [-1, 3] }), L.permute({ dims: [2, 1] })]));
    await checkForward(seq([L.reshape({ inputShape: [12], targetShape: [2, 3, 2] }), L.permute({ dims: [3, 1, 2] })]));
  });

  it('Dropout, SpatialDropout1D and GaussianNoise are identities in inference', async () => {
    const g = await checkForward(seq([L.dense({ inputShape: [4], units: 6 }), L.dropout({ rate: 0.5 }), L.reshape({ targetShape: [3, 2] }), L.spatialDropout1d({ rate: 0.3 }), L.gaussianNoise({ stddev: 1 }), L.flatten()]));
    assert.deepEqual(ops(g), ['MatMul', 'Add', 'Reshape', 'Flatten']);
  });

  it('ZeroPadding2D then Conv2D', async () => {
    await checkForward(seq([L.zeroPadding2d({ inputShape: [4, 5, 2], padding: [[1, 2], [0, 3]] }), L.conv2d({ filters: 2, kernelSize: 3 })]));
  });

  it('UpSampling2D (nearest) and RepeatVector', async () => {
    await checkForward(seq([L.upSampling2d({ inputShape: [3, 4, 2], size: [2, 3] })]));
    await checkForward(seq([L.dense({ inputShape: [4], units: 3 }), L.repeatVector({ n: 4 })]));
  });

  it('TimeDistributed(Dense) and TimeDistributed(Conv2D)', async () => {
    await checkForward(seq([L.timeDistributed({ inputShape: [3, 4], layer: L.dense({ units: 2, activation: 'relu' }) })]));
    const g = await checkForward(seq([L.timeDistributed({ inputShape: [2, 5, 5, 2], layer: L.conv2d({ filters: 3, kernelSize: 2 }) }), L.flatten()]));
    assert.equal(g.params.length, 2);
  });

  it('Cropping2D', async () => {
    await checkForward(seq([L.cropping2D({ inputShape: [6, 7, 2], cropping: [[1, 2], [0, 3]] })]));
  });

  it('ReLU (max value), LeakyReLU, ELU, Softmax, ThresholdedReLU and PReLU layers', async () => {
    await checkForward(seq([L.reLU({ inputShape: [5], maxValue: 1.5 })]));
    await checkForward(seq([L.reLU({ inputShape: [5] })]));
    await checkForward(seq([L.leakyReLU({ inputShape: [5], alpha: 0.1 })]));
    await checkForward(seq([L.elu({ inputShape: [5] })]));
    await checkForward(seq([L.softmax({ inputShape: [3, 5], axis: -1 })]));
    await checkForward(seq([L.thresholdedReLU({ inputShape: [5], theta: 0.5 })]));
    const g = await checkForward(seq([L.dense({ inputShape: [5], units: 4 }), L.prelu({})]));
    assert.equal(g.params.length, 3);
  });

  it('merge layers: Add, Multiply, Average, Maximum, Minimum, Concatenate', async () => {
    const merges: [string, (ins: tf.SymbolicTensor[]) => tf.SymbolicTensor][] = [
      ['add', (i) => L.add().apply(i) as tf.SymbolicTensor],
      ['multiply', (i) => L.multiply().apply(i) as tf.SymbolicTensor],
      ['average', (i) => L.average().apply(i) as tf.SymbolicTensor],
      ['maximum', (i) => L.maximum().apply(i) as tf.SymbolicTensor],
      ['minimum', (i) => L.minimum().apply(i) as tf.SymbolicTensor],
      ['concatenate', (i) => L.concatenate({ axis: -1 }).apply(i) as tf.SymbolicTensor],
    ];
    for (const [name, merge] of merges) {
      const inp = tf.input({ shape: [4] });
      const branches = [0, 1, 2].map(() => L.dense({ units: 3 }).apply(inp) as tf.SymbolicTensor);
      const model = randomize(tf.model({ inputs: inp, outputs: merge(branches) }), name.length);
      await checkForward(model);
    }
  });

  it('a small CNN: Conv2D → BatchNorm → MaxPool → Conv2D → GlobalAveragePooling2D → Dense softmax', async () => {
    await checkForward(
      seq([
        L.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
        L.batchNormalization({}),
        L.maxPooling2d({ poolSize: 2 }),
        L.conv2d({ filters: 5, kernelSize: 3, activation: 'elu' }),
        L.globalAveragePooling2d({}),
        L.dense({ units: 3, activation: 'softmax' }),
      ]),
    );
  });
});
