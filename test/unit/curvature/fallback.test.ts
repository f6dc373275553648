import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeSubspaceCurvature } from '../../../src/core/curvature';
import { RULES } from '../../../src/core/curvature/jvp';
import { writeNpy } from '../../../src/core/data/npy';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import type { GraphNode } from '../../../src/core/graph/types';
import { encodeModel } from '../../../src/core/onnx/proto';
import { tempDir } from '../lab/fixtures';

/**
 * An op the gradient program differentiates but the tangent rules do not: the curvature module falls
 * back to central differences and says why. Every op of the engine's VJP table now has a tangent rule
 * (jvp.test.ts checks that), and the cases that still throw NoTangentRule (non-constant reduction axes,
 * MaxPool storage_order 1, BatchNormalization training_mode=1) have no gradient rule either, so no model
 * reaches the fallback through them; the gap is made here by taking Max's rule out of the table for the
 * duration of the test (Max of three operands, each a function of the parameters: exact since its rule
 * covers n operands, exact-hvp-ops.test.ts).
 */
describe('curvature: fallback to central differences where an op has no tangent rule', function () {
  this.timeout(60000);
  const tmp = tempDir('heatcap-jvp-fallback-');

  before(() => {
    let s = 7;
    const rand = () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    };
    const w = (name: string, dims: number[]) => ({ name, tensor: { dims, dtype: 'float32' as const, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, rand) } });
    const nodes: GraphNode[] = [
      { op: 'Gemm', name: 'a', inputs: ['x', 'w1', 'b1'], outputs: ['h1'], attrs: {} },
      { op: 'Gemm', name: 'b', inputs: ['x', 'w2', 'b2'], outputs: ['h2'], attrs: {} },
      { op: 'Gemm', name: 'c', inputs: ['x', 'w3', 'b3'], outputs: ['h3'], attrs: {} },
      { op: 'Max', name: 'max3', inputs: ['h1', 'h2', 'h3'], outputs: ['h'], attrs: {} },
      { op: 'Gemm', name: 'out', inputs: ['h', 'w4', 'b4'], outputs: ['logits'], attrs: {} },
    ];
    const model = buildModel({
      opset: 17,
      name: 'max3',
      nodes,
      initializers: [w('w1', [4, 5]), w('b1', [5]), w('w2', [4, 5]), w('b2', [5]), w('w3', [4, 5]), w('b3', [5]), w('w4', [5, 3]), w('b4', [3])],
      inputs: [{ name: 'x', dtype: 'float32', shape: [null, 4] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: [null, 3] }],
    });
    writeFileSync(join(tmp.dir, 'model.onnx'), encodeModel(model));
    const N = 30;
    writeNpy(join(tmp.dir, 'x.npy'), Float32Array.from({ length: N * 4 }, rand), [N, 4]);
    writeNpy(join(tmp.dir, 'y.npy'), Float32Array.from({ length: N }, (_, i) => i % 3), [N]);
  });

  it('Max without its tangent rule: central_difference_float32, a note naming the op', async () => {
    const spec = { model: join(tmp.dir, 'model.onnx'), data: { data: join(tmp.dir, 'x.npy'), labels: join(tmp.dir, 'y.npy') }, loss: 'cross_entropy' };
    const maxRule = RULES.Max;
    delete RULES.Max;
    let r: Awaited<ReturnType<typeof computeSubspaceCurvature>>;
    try {
      r = await computeSubspaceCurvature(spec, { k: 2 });
    } finally {
      RULES.Max = maxRule;
    }
    assert.equal(r.hvp, 'central_difference_float32');
    assert.ok(r.hvpStep! > 0);
    const note = r.notes.find((n) => n.startsWith('exact Hessian-vector products not used'));
    assert.ok(note && /op Max \(node 'max3'\) has no tangent \(forward-mode\) rule/.test(note), r.notes.join('\n'));
    assert.ok(r.notes.some((n) => n.includes('by central differences of V·g_b')), r.notes.join('\n'));
  });

  it('the same model with the rule in place: exact products (r_operator_float32), no fallback note', async () => {
    const r = await computeSubspaceCurvature({ model: join(tmp.dir, 'model.onnx'), data: { data: join(tmp.dir, 'x.npy'), labels: join(tmp.dir, 'y.npy') }, loss: 'cross_entropy' }, { k: 2 });
    assert.equal(r.hvp, 'r_operator_float32', r.notes.join('\n'));
    assert.ok(!r.notes.some((n) => n.startsWith('exact Hessian-vector products not used')), r.notes.join('\n'));
  });
});
