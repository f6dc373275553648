/**
 * Slice (starts/ends/axes/steps constant inputs, ONNX clamping of negative and out-of-range bounds) and
 * Pad. Slice's cotangent puts dy back where the slice read: a Pad for unit-step axes, a ScatterElements
 * per axis with another step. Pad's cotangent in constant mode is Pad with the negated pads (which crops
 * what was padded and zero-fills what negative pads cropped); in reflect/edge/wrap mode every output
 * element copies one input element: the same Pad applied to the flat input positions (Range) says
 * which, and dy is scatter-added there.
 */
import { attr, stringAttr } from '../../graph/types';
import { constValues, floatType, normAxis, prod, requireConst, zeros } from './common';
import type { OpRule } from './types';

/** The indices a Slice reads along one axis of size `dim` (ONNX semantics). */
export function sliceIndices(dim: number, start: number, end: number, step: number): number[] {
  if (step === 0) throw new Error('Slice: step 0');
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
  } else {
    start = Math.min(Math.max(start, 0), dim - 1);
    end = Math.min(Math.max(end, -1), dim - 1);
  }
  const out: number[] = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(i);
  return out;
}

export const slice: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    const em = ctx.em;
    const [x, startsName, endsName, axesName, stepsName] = ctx.node.inputs;
    const xs = ctx.shape(x);
    const dt = floatType(ctx, x);
    const starts = requireConst(ctx, startsName, 'starts');
    const ends = requireConst(ctx, endsName, 'ends');
    const axes = (constValues(ctx, axesName) ?? starts.map((_, i) => i)).map((a) => normAxis(a, xs.length));
    const steps = constValues(ctx, stepsName) ?? starts.map(() => 1);
    const picked = xs.map((d) => Array.from({ length: d }, (_, i) => i));
    axes.forEach((a, j) => (picked[a] = sliceIndices(xs[a], starts[j], ends[j], steps[j])));
    if (picked.some((p) => p.length === 0)) {
      out[0] = zeros(em, xs, dt);
      return out;
    }
    let g = dy;
    const shape = picked.map((p) => p.length);
    const padBegin = xs.map(() => 0);
    const padEnd = xs.map(() => 0);
    for (let a = 0; a < xs.length; a++) {
      const p = picked[a];
      const contiguous = p.every((v, i) => v === p[0] + i);
      if (contiguous) {
        padBegin[a] = p[0];
        padEnd[a] = xs[a] - p[0] - p.length;
        continue;
      }
      // Scatter along axis a: [.., |p|, ..] → [.., xs[a], ..] (distinct indices: no reduction needed).
      const idxShape = shape.map((d, i) => (i === a ? d : 1));
      const idx = em.one('Expand', [em.constant({ dims: idxShape, dtype: 'int64', data: BigInt64Array.from(p.map((v) => BigInt(v))) }, 'slice_idx'), em.i64(shape)]);
      const target = shape.map((d, i) => (i === a ? xs[a] : d));
      g = em.one('ScatterElements', [zeros(em, target, dt), idx, g], { axis: attr.int(a) });
      shape[a] = xs[a];
    }
    if (padBegin.some((v) => v) || padEnd.some((v) => v)) g = em.one('Pad', [g, em.i64([...padBegin, ...padEnd])]);
    out[0] = g;
    return out;
  },
};

export const pad: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    const em = ctx.em;
    const mode = stringAttr(ctx.node, 'mode', 'constant');
    const [x, padsName, , axesName] = ctx.node.inputs;
    const xs = ctx.shape(x);
    const rank = xs.length;
    if (mode !== 'constant') {
      const n = prod(xs);
      const i64 = (v: number) => em.constant({ dims: [], dtype: 'int64', data: BigInt64Array.of(BigInt(v)) }, 'i64_scalar');
      const positions = em.reshape(em.one('Range', [i64(0), i64(n), i64(1)]), xs);
      const source = em.one('Pad', axesName ? [positions, padsName, '', axesName] : [positions, padsName], { mode: attr.string(mode) });
      const flat = em.one('ScatterElements', [zeros(em, [n], floatType(ctx, x)), em.reshape(source, [-1]), em.reshape(dy, [-1])], { axis: attr.int(0), reduction: attr.string('add') });
      out[0] = em.reshape(flat, xs);
      return out;
    }
    const pads = requireConst(ctx, padsName, 'pads');
    const axes = (constValues(ctx, axesName) ?? Array.from({ length: rank }, (_, i) => i)).map((a) => normAxis(a, rank));
    const full = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, j) => {
      full[a] = -pads[j];
      full[a + rank] = -pads[j + axes.length];
    });
    out[0] = em.one('Pad', [dy, em.i64(full)]);
    return out;
  },
};
