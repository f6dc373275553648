/**
 * Graph rewrites change no number: the rewritten graph's forward output equals the original's exactly
 * (ORT, float32, same kernels on the same values), and the engine's statistics on a model with
 * Relu → MaxPool still match the PyTorch float64 oracle (test/unit/engine/oracle.test.ts covers cnn_bn and
 * resnet_tiny through the rewrite; here the structure and the forward values are checked directly).
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { poolBeforeRelu } from '../../../src/core/engine/rewrites';
import { forwardModel } from '../../../src/core/engine/onnx-encode';
import { createSession, ort } from '../../../src/core/engine/runtime';
import type { EngineGraph } from '../../../src/core/graph/types';
import { encodeModel } from '../../../src/core/onnx/proto';
import { loadOnnxGraph } from '../../../src/core/model/onnx/load';
import { readNpy } from '../../../src/core/data/npy';

const CNN = join(__dirname, '../../fixtures/onnx/cnn_bn');

describe('engine graph rewrites', () => {
  it('Relu → MaxPool becomes MaxPool → Relu, with the same forward output', async () => {
    const graph = loadOnnxGraph(join(CNN, 'model.onnx'));
    const rewritten = poolBeforeRelu(graph);
    const ops = (g: typeof graph) => g.nodes.map((n) => n.op).join(' ');
    assert.match(ops(graph), /Relu MaxPool/);
    assert.match(ops(rewritten), /MaxPool Relu/);
    assert.doesNotMatch(ops(rewritten), /Relu MaxPool/);
    const x = readNpy(join(CNN, 'x.npy'));
    const B = 32;
    const data = Float32Array.from(x.data.subarray(0, B * 64));
    const input = { dims: [B, 1, 8, 8], dtype: 'float32' as const, data };
    const forward = async (g: EngineGraph) => {
      const bytes = encodeModel(forwardModel(g, input.dims));
      const { session } = await createSession(bytes, { threads: 1 }, 'test');
      const out = await session.run({ [g.input.name]: new (ort().Tensor)('float32', data, input.dims) });
      return Array.from(out[g.output.name].data as Float32Array);
    };
    // Bit for bit: the same kernels on the same values (max commutes with relu exactly).
    assert.deepEqual(await forward(rewritten), await forward(graph));
  });

  it('leaves a Relu read by anything besides the pool alone (the rewrite would change that reader)', () => {
    const graph = loadOnnxGraph(join(CNN, 'model.onnx'));
    const i = graph.nodes.findIndex((n) => n.op === 'Relu' && graph.nodes.some((m) => m.op === 'MaxPool' && m.inputs[0] === n.outputs[0]));
    assert.ok(i >= 0, 'the fixture has Relu → MaxPool');
    const relu = graph.nodes[i];
    // A second reader of the Relu's output (as a residual branch would be).
    const branch = { op: 'Identity', name: 'branch', inputs: [relu.outputs[0]], outputs: ['branch_out'], attrs: {} };
    const shared = { ...graph, nodes: [...graph.nodes.slice(0, i + 1), branch, ...graph.nodes.slice(i + 1)] };
    assert.deepEqual(poolBeforeRelu(shared).nodes, shared.nodes);
  });
});
