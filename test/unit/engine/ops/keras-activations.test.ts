import { strict as assert } from 'node:assert';
import { attr } from '../../../../src/core/graph/types';
import { prelu, resize, selu, softsign, thresholdedRelu } from '../../../../src/core/engine/ops/keras-activations';
import { checkRule } from '../../../support/engine/vjp-check';

// Oracle: central differences of each op's own ORT forward (test/support/engine/vjp-check.ts). float64
// where ORT has double kernels (tolerance 1e-6); Selu, Softsign, ThresholdedRelu and Resize have float32
// kernels only: ε = 1e-2, tolerance 2e-3 (truncation ≈ ε²·f‴; Resize is linear: exact up to rounding).
const TOL = 1e-6;

describe('engine ops for Keras activations and layers', () => {
  for (const [op, rule, attrs] of [
    ['Selu', selu, {}],
    ['Softsign', softsign, {}],
    ['ThresholdedRelu', thresholdedRelu, { alpha: attr.float(0.3) }],
  ] as const) {
    it(`${op} (float32 kernels)`, async () => {
      const r = await checkRule(rule, { op, attrs, dtype: 'float32', inputs: [{ dims: [3, 7], awayFromZero: 0.4 }] });
      assert.ok(r.inputs[0] < 2e-3, JSON.stringify(r));
    });
  }
  it('PRelu with a learned slope per channel: VJP and per-example form', async () => {
    const r = await checkRule(prelu, { op: 'PRelu', inputs: [{ dims: [3, 4, 5], awayFromZero: 0.05 }, { dims: [5], weight: true, positive: true }] });
    assert.ok(r.inputs.every((e) => e < TOL) && r.perExample.every((e) => e < TOL), JSON.stringify(r));
  });
  it('Resize: nearest upsampling by integer factors (asymmetric, floor)', async () => {
    const r = await checkRule(resize, {
      op: 'Resize',
      dtype: 'float32',
      attrs: { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor') },
      inputs: [{ dims: [2, 3, 4, 3] }, { dims: [0], data: [], dtype: 'float32', constant: true }, { dims: [4], data: [1, 1, 2, 3], dtype: 'float32', constant: true }],
    });
    assert.ok(r.inputs[0] < 1e-3, JSON.stringify(r));
  });
});
