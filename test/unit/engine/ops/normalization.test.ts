import { strict as assert } from 'node:assert';
import { attr } from '../../../../src/core/graph/types';
import { batchNormalization, layerNormalization } from '../../../../src/core/engine/ops/normalization';
import { Emitter } from '../../../../src/core/engine/emitter';
import type { VjpContext } from '../../../../src/core/engine/ops/types';
import { checkRule } from '../../../support/engine/vjp-check';

// Oracle: float64 central differences of ORT's own BatchNormalization / LayerNormalization forward
// (test/support/engine/vjp-check.ts; both have double kernels), tolerance 1e-6 relative (observed ≈1e-9).
const TOL = 1e-6;
const ok = (r: { inputs: number[]; perExample: number[] }, perExample: number) => {
  const errs = [...r.inputs.filter((e) => !Number.isNaN(e)), ...r.perExample];
  assert.ok(errs.every((e) => e < TOL), JSON.stringify(r));
  assert.equal(r.perExample.length, perExample);
};

describe('engine op BatchNormalization', () => {
  it('NCHW, inference statistics as constants — VJP and per-example scale/bias', async () => {
    const r = await checkRule(batchNormalization, {
      op: 'BatchNormalization',
      attrs: { epsilon: attr.float(1e-3) },
      inputs: [{ dims: [3, 4, 2, 3] }, { dims: [4], weight: true }, { dims: [4], weight: true }, { dims: [4], constant: true }, { dims: [4], constant: true, positive: true }],
    });
    ok(r, 2);
  });
  it('(N, C) input (BatchNorm1d)', async () => {
    const r = await checkRule(batchNormalization, {
      op: 'BatchNormalization',
      inputs: [{ dims: [5, 3] }, { dims: [3], weight: true }, { dims: [3], weight: true }, { dims: [3], constant: true }, { dims: [3], constant: true, positive: true }],
    });
    ok(r, 2);
  });
  it('statistics that are not constants get exact cotangents', async () => {
    const r = await checkRule(batchNormalization, {
      op: 'BatchNormalization',
      inputs: [{ dims: [3, 2, 4] }, { dims: [2] }, { dims: [2] }, { dims: [2] }, { dims: [2], positive: true }],
    });
    assert.ok(r.inputs.every((e) => e < TOL), JSON.stringify(r));
  });
  it('training_mode=1 is refused', () => {
    const node = { op: 'BatchNormalization', name: 'bn', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y', 'rm', 'rv'], attrs: { training_mode: attr.int(1) } };
    const ctx: VjpContext = { node, em: new Emitter(17), shape: () => [3, 2], dtype: () => 'float32', dy: ['dy'], needs: [true, true, true, false, false], constant: () => undefined };
    assert.throws(() => batchNormalization.vjp(ctx), /training_mode=1/);
  });
});

describe('engine op LayerNormalization', () => {
  it('last axis of [B, T, C], scale and bias per example', async () => {
    const r = await checkRule(layerNormalization, { op: 'LayerNormalization', inputs: [{ dims: [3, 4, 5] }, { dims: [5], weight: true }, { dims: [5], weight: true }] });
    ok(r, 2);
  });
  it('axis 1 over [B, C, H, W] (three normalised axes), no bias, epsilon', async () => {
    const r = await checkRule(layerNormalization, {
      op: 'LayerNormalization',
      attrs: { axis: attr.int(1), epsilon: attr.float(1e-3) },
      inputs: [{ dims: [2, 3, 2, 2] }, { dims: [3, 2, 2], weight: true }],
    });
    ok(r, 1);
  });
  it('declared Mean/InvStdDev outputs carry no cotangent', async () => {
    const r = await checkRule(layerNormalization, {
      op: 'LayerNormalization',
      outputs: 3,
      differentiableOutputs: [0],
      attrs: { axis: attr.int(-2) },
      inputs: [{ dims: [2, 3, 4] }, { dims: [3, 4], weight: true }, { dims: [3, 4], weight: true }],
    });
    ok(r, 2);
  });
});
