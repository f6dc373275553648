import { strict as assert } from 'node:assert';
import { attr } from '../../../../src/core/graph/types';
import { gemm, matmul } from '../../../../src/core/engine/ops/matmul';
import { checkRule } from '../../../support/engine/vjp-check';

// Oracle: float64 central differences of the op's own ORT forward (test/support/engine/vjp-check.ts);
// tolerance 1e-6 relative (observed ≈1e-9: truncation ε² and rounding 1e-16/ε with ε = 1e-6).
const TOL = 1e-6;

describe('engine op MatMul', () => {
  it('activation × weight (Dense on [B, d]) — VJP and per-example outer form', async () => {
    const r = await checkRule(matmul, { op: 'MatMul', inputs: [{ dims: [4, 3] }, { dims: [3, 5], weight: true }] });
    assert.ok(r.inputs[0] < TOL && r.inputs[1] < TOL, JSON.stringify(r));
    assert.ok(r.perExample[0] < TOL, JSON.stringify(r));
  });
  it('sequence input [B, T, d] × weight (ghost / materialised forms)', async () => {
    const r = await checkRule(matmul, { op: 'MatMul', inputs: [{ dims: [3, 4, 6] }, { dims: [6, 2], weight: true }] });
    assert.ok(r.inputs[0] < TOL && r.perExample[0] < TOL, JSON.stringify(r));
  });
  it('activation × activation with broadcasting (attention scores)', async () => {
    const r = await checkRule(matmul, { op: 'MatMul', inputs: [{ dims: [2, 3, 4, 5] }, { dims: [2, 1, 5, 3] }] });
    assert.ok(r.inputs[0] < TOL && r.inputs[1] < TOL, JSON.stringify(r));
  });
  it('weight × activation (W·X_b)', async () => {
    const r = await checkRule(matmul, { op: 'MatMul', inputs: [{ dims: [4, 3], weight: true }, { dims: [2, 3, 5] }] });
    assert.ok(r.inputs[0] < TOL && r.inputs[1] < TOL && r.perExample[0] < TOL, JSON.stringify(r));
  });
});

describe('engine op Gemm', () => {
  for (const transB of [0, 1]) {
    it(`transB=${transB}, alpha/beta, bias broadcast — VJP and per-example forms`, async () => {
      const r = await checkRule(gemm, {
        op: 'Gemm',
        attrs: { transB: attr.int(transB), alpha: attr.float(0.7), beta: attr.float(1.3) },
        inputs: [{ dims: [5, 3] }, { dims: transB ? [4, 3] : [3, 4], weight: true }, { dims: [4], weight: true }],
      });
      assert.ok(r.inputs.every((e) => e < TOL), JSON.stringify(r));
      assert.ok(r.perExample.every((e) => e < TOL), JSON.stringify(r));
    });
  }
  it('transA=1 VJP', async () => {
    const r = await checkRule(gemm, { op: 'Gemm', attrs: { transA: attr.int(1) }, inputs: [{ dims: [3, 5] }, { dims: [3, 4] }, { dims: [1, 4] }] });
    assert.ok(r.inputs.every((e) => e < TOL), JSON.stringify(r));
  });
});
