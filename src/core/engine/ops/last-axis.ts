/**
 * Elementwise ops between a tensor and something broadcast along its last axis, in the form ORT runs fast
 * when that axis is short. ORT's broadcasting loops over the rows and handles each short row separately:
 * one thread, transformer_tiny's [256, 12, 16] (16 per row), kernel time in its profile:
 *   x ∘ s, s = [256, 12, 1] (a per-row scalar):      105 µs;  MatMul(s, ones[1, 16]) then a same-shape op: 42 µs
 *   x ∘ γ, γ = [16] (a per-column vector):           107 µs;  MatMul(x, diag γ) (folded by ORT for a constant γ): 46 µs
 *   [256, 2, 12, 12] − [256, 2, 12, 1] (softmax VJP): 174 µs;  110 µs.
 * Both forms are exact: s·1 and x·γ + 0 round nothing (a NaN or ±∞ in a row of x would spread along that
 * row through the zeros of diag γ, where the norms are not finite anyway). Rows of more than SHORT_ROW
 * elements keep the plain broadcast, which is then efficient.
 */
import type { Emitter } from '../emitter';
import { floatConst, memo, prod, type FloatType } from './common';

/** Longest last axis the rewrites apply to (beyond, ORT's vectorised row loop amortises its overhead). */
const SHORT_ROW = 64;
/** Fewest rows for which the extra node pays off (each node costs a few µs whatever its size). */
const MIN_ROWS = 64;

function worthIt(shape: number[]): boolean {
  const K = shape[shape.length - 1];
  return shape.length >= 2 && K > 1 && K <= SHORT_ROW && prod(shape.slice(0, -1)) >= MIN_ROWS;
}

/** `s` ([..., 1], one value per row of `shape`) expanded to `shape`, or `s` itself where broadcasting is as fast. */
function expandRows(em: Emitter, s: string, shape: number[], dtype: FloatType): string {
  if (!worthIt(shape)) return s;
  const K = shape[shape.length - 1];
  const ones = memo(em, `ones_row\u0000${K}\u0000${dtype}`, () => floatConst(em, [1, K], new Array<number>(K).fill(1), dtype, 'ones'));
  const e = em.one('MatMul', [s, ones]);
  em.shapes.set(e, shape);
  return e;
}

/** x op s with s one value per row (shape of x with a last axis of 1). */
export function rowwise(em: Emitter, op: 'Mul' | 'Sub' | 'Add' | 'Div', x: string, s: string, shape: number[], dtype: FloatType, sFirst = false): string {
  const e = expandRows(em, s, shape, dtype);
  const y = em.one(op, sFirst ? [e, x] : [x, e]);
  em.shapes.set(y, shape);
  return y;
}

/** x · v with v one value per column ([K], broadcast over every row of x). */
export function columnScale(em: Emitter, x: string, v: string, shape: number[], dtype: FloatType): string {
  if (!worthIt(shape)) return em.mul(x, v);
  const K = shape[shape.length - 1];
  const eye = memo(em, `eye\u0000${K}\u0000${dtype}`, () => floatConst(em, [K, K], Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0)), dtype, 'eye'));
  const diag = em.mul(eye, em.reshape(v, [K, 1]));
  const y = em.one('MatMul', [x, diag]);
  em.shapes.set(y, shape);
  return y;
}

/**
 * `s` (x's shape with its last `m` axes 1) times `value`, broadcast to `shape`: the VJP of a global average
 * pool or a mean over trailing axes. ORT's Expand writes row by row (one thread, [256, 16, 1, 1] → 4 × 4:
 * 227 µs) where MatMul(s as [rows, 1], a [1, K] row of `value`) takes 20 µs; s·value is the same product.
 */
export function expandTrailing(em: Emitter, s: string, shape: number[], m: number, value: number, dtype: FloatType): string {
  const rows = prod(shape.slice(0, shape.length - m));
  const K = prod(shape.slice(shape.length - m));
  if (!worthIt([rows, K])) {
    const scaled = value === 1 ? s : em.mul(s, em.scalarOf(value, dtype));
    return em.one('Expand', [scaled, em.i64(shape)]);
  }
  const row = memo(em, `fill_row\u0000${K}\u0000${value}\u0000${dtype}`, () => floatConst(em, [1, K], new Array<number>(K).fill(value), dtype, 'fill'));
  const e = em.one('MatMul', [em.reshape(s, [rows, 1]), row]);
  em.shapes.set(e, [rows, K]);
  return em.reshape(e, shape);
}
