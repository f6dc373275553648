import { strict as assert } from 'node:assert';
import { attr } from '../../../../src/core/graph/types';
import { gather } from '../../../../src/core/engine/ops/gather';
import { checkRule } from '../../../support/engine/vjp-check';

// Oracle: central differences of ORT's own Gather forward (test/support/engine/vjp-check.ts). Activation
// cases in float64 (ε = 1e-6), tolerance 1e-6 relative. The embedding-table cases run in float32
// (ε = 1e-2) because the `gather` per-example form is materialised with float32 zeros
// (per-example.ts); Gather is linear in its data, so tolerance 1e-4 (float32 rounding only).
const TOL64 = 1e-6;
const TOL32 = 1e-4;

describe('engine op Gather', () => {
  it('embedding table [V, D] read by ids [B, T] with repeats and a negative id — VJP and per-example gather form', async () => {
    const r = await checkRule(gather, {
      op: 'Gather',
      dtype: 'float32',
      inputs: [{ dims: [6, 3], weight: true }, { dims: [2, 4], dtype: 'int64', data: [1, 3, 1, -1, 0, 0, 2, 5] }],
    });
    assert.ok(r.inputs[0] < TOL32 && r.perExample[0] < TOL32, JSON.stringify(r));
  });
  it('embedding table read by ids [B] (T = 1), int32 ids', async () => {
    const r = await checkRule(gather, { op: 'Gather', dtype: 'float32', inputs: [{ dims: [5, 2], weight: true }, { dims: [3], dtype: 'int32', data: [4, 0, 4] }] });
    assert.ok(r.inputs[0] < TOL32 && r.perExample[0] < TOL32, JSON.stringify(r));
  });
  it('activation x[:, 0] (axis 1, constant scalar index)', async () => {
    const r = await checkRule(gather, { op: 'Gather', attrs: { axis: attr.int(1) }, inputs: [{ dims: [3, 4, 5] }, { dims: [], dtype: 'int64', data: [0], constant: true }] });
    assert.ok(r.inputs[0] < TOL64, JSON.stringify(r));
  });
  it('activation, last axis, constant indices with repeats and negatives', async () => {
    const r = await checkRule(gather, { op: 'Gather', attrs: { axis: attr.int(-1) }, inputs: [{ dims: [2, 3, 4] }, { dims: [2, 2], dtype: 'int64', data: [3, -1, 0, 0], constant: true }] });
    assert.ok(r.inputs[0] < TOL64, JSON.stringify(r));
  });
});
