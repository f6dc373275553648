import { strict as assert } from 'node:assert';
import { attr, type Attr } from '../../../../src/core/graph/types';
import { conv } from '../../../../src/core/engine/ops/conv';
import { checkRule } from '../../../support/engine/vjp-check';

// Oracle: central differences of ORT's own Conv forward (test/support/engine/vjp-check.ts). ORT has
// float32 Conv/ConvTranspose kernels only, so the check runs in float32 with ε = 1e-2; Conv is linear in
// x, W and b, so the differences are exact up to float32 rounding: tolerance 1e-3 relative (observed
// ≈1e-5). Per-example forms: im2col `outer` (group 1) and per-group `dense` (group > 1).
const TOL = 1e-3;

function check(name: string, xDims: number[], wDims: number[], attrs: Record<string, Attr>, bias = true) {
  it(name, async () => {
    const inputs = [{ dims: xDims }, { dims: wDims, weight: true }, ...(bias ? [{ dims: [wDims[0]], weight: true }] : [])];
    const r = await checkRule(conv, { op: 'Conv', dtype: 'float32', attrs, inputs });
    assert.ok(r.inputs.every((e) => e < TOL), JSON.stringify(r));
    assert.equal(r.perExample.length, bias ? 2 : 1);
    assert.ok(r.perExample.every((e) => e < TOL), JSON.stringify(r));
  });
}

describe('engine op Conv', () => {
  check('3×3, pads 1', [2, 3, 5, 5], [4, 3, 3, 3], { pads: attr.ints([1, 1, 1, 1]) });
  check('stride 2, asymmetric pads, input size not reached by the last window', [2, 2, 6, 7], [3, 2, 3, 2], { strides: attr.ints([2, 2]), pads: attr.ints([1, 0, 0, 1]) });
  check('dilation 2', [2, 2, 7, 6], [3, 2, 2, 3], { dilations: attr.ints([2, 2]) });
  check('group 2', [2, 4, 5, 5], [6, 2, 3, 3], { group: attr.int(2), pads: attr.ints([1, 1, 1, 1]) });
  check('depthwise (group = C), stride 2', [2, 3, 6, 6], [3, 1, 3, 3], { group: attr.int(3), strides: attr.ints([2, 2]) });
  check('SAME_UPPER, stride 2', [2, 2, 5, 6], [3, 2, 3, 3], { auto_pad: attr.string('SAME_UPPER'), strides: attr.ints([2, 2]) });
  check('SAME_LOWER', [2, 2, 4, 4], [2, 2, 2, 2], { auto_pad: attr.string('SAME_LOWER') });
  check('1×1 kernel, no bias', [3, 4, 3, 3], [5, 4, 1, 1], {}, false);
  check('1-D (NCW), stride 2, pads', [2, 3, 9], [4, 3, 3], { strides: attr.ints([2]), pads: attr.ints([1, 2]) });
  // Stride 1: dx by a Conv with the flipped, channel-swapped kernel (the ConvTranspose only where a pad
  // exceeds the kernel's reach, the last case).
  check('stride 1, asymmetric pads', [2, 3, 5, 6], [4, 3, 3, 2], { pads: attr.ints([2, 0, 0, 1]) });
  check('stride 1, group 2 with dilation 2 and pads', [2, 4, 7, 7], [6, 2, 3, 3], { group: attr.int(2), dilations: attr.ints([2, 2]), pads: attr.ints([1, 2, 2, 1]) });
  check('1-D (NCW), stride 1, pads', [2, 3, 9], [4, 3, 3], { pads: attr.ints([1, 2]) });
  check('stride 1, pads beyond the kernel (ConvTranspose)', [2, 2, 4, 4], [3, 2, 2, 2], { pads: attr.ints([2, 0, 1, 2]) });
  // Patches: by a 0/1 unfolding MatMul on small maps (inputs × taps × positions ≤ 4096: most cases
  // above, and these), by the one-hot Conv on larger ones ('3×3, pads 1', 'group 2', the two below), and
  // x itself for a 1×1 kernel at stride 1 ('1×1 kernel, no bias').
  check('small map: 3×3, pads 1, 4×4', [2, 3, 4, 4], [4, 3, 3, 3], { pads: attr.ints([1, 1, 1, 1]) });
  check('1×1 kernel, stride 2', [2, 3, 5, 5], [2, 3, 1, 1], { strides: attr.ints([2, 2]) });
  check('larger map: 3×3, stride 2, pads 1, 12×12 (one-hot Conv)', [2, 2, 12, 12], [3, 2, 3, 3], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) });
  check('larger map: 1-D, 40 long (one-hot Conv)', [2, 2, 40], [3, 2, 3], { pads: attr.ints([1, 1]) });
});
