/**
 * Small helpers shared by the op rules of this folder: typed constants (in the program's float type:
 * float64 in tests, float32 otherwise), zeros by ConstantOfShape, constant-input readers and the
 * convolution geometry (explicit pads from auto_pad; the ConvTranspose that maps an output cotangent
 * back onto an input of a given size).
 */
import { attr, intsAttr, stringAttr, type ConstTensor, type GraphNode } from '../../graph/types';
import type { Emitter } from '../emitter';
import type { VjpContext } from './types';

export type FloatType = 'float32' | 'float64';

export const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

export const floatType = (ctx: VjpContext, name: string): FloatType => (ctx.dtype(name) === 'float64' ? 'float64' : 'float32');

/** A float constant of the given dims and type. */
export function floatConst(em: Emitter, dims: number[], values: ArrayLike<number>, dtype: FloatType, hint = 'const'): string {
  const data = dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  return em.constant({ dims, dtype, data }, hint);
}

/** Zeros of the given dims and type, built at run time (no initializer of that size). */
export function zeros(em: Emitter, dims: number[], dtype: FloatType): string {
  const value: ConstTensor = { dims: [1], dtype, data: dtype === 'float64' ? new Float64Array(1) : new Float32Array(1) };
  return em.one('ConstantOfShape', [em.i64(dims)], { value: attr.tensor(value) }, 'zeros');
}

/** The values of a constant input as numbers (int64 shapes, axes, pads), or undefined when not constant. */
export function constValues(ctx: VjpContext, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = ctx.constant(name);
  if (!t) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Like constValues, but a missing constant is an error naming the node and what it reads. */
export function requireConst(ctx: VjpContext, name: string, what: string): number[] {
  const v = constValues(ctx, name);
  if (!v) throw new Error(`${ctx.node.op} '${ctx.node.name}': the ${what} must be a constant for the gradient program`);
  return v;
}

export const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Where(mask, v, 0), v of float type `dtype` (emitted values have no ctx.dtype: pass a forward value's). */
export function masked(em: Emitter, mask: string, v: string, dtype: string): string {
  return em.one('Where', [mask, v, em.scalarOf(0, dtype)]);
}

export interface ConvGeometry {
  /** Spatial input sizes, kernel sizes (undilated), strides, dilations. */
  spatial: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Explicit begin and end pads per spatial axis (auto_pad resolved). */
  padBegin: number[];
  padEnd: number[];
}

/** Resolves auto_pad, pads, strides, dilations of a Conv or pool node over `spatial` sizes. */
export function convGeometry(node: GraphNode, spatial: number[], kernel: number[]): ConvGeometry {
  const n = spatial.length;
  const ones = Array<number>(n).fill(1);
  const strides = intsAttr(node, 'strides', ones);
  const dilations = intsAttr(node, 'dilations', ones);
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  let padBegin: number[];
  let padEnd: number[];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    padBegin = [];
    padEnd = [];
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(spatial[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i]);
      const small = Math.floor(total / 2);
      padBegin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      padEnd.push(total - padBegin[i]);
    }
  } else if (autoPad === 'VALID') {
    padBegin = Array<number>(n).fill(0);
    padEnd = Array<number>(n).fill(0);
  } else {
    const pads = intsAttr(node, 'pads', Array<number>(2 * n).fill(0));
    padBegin = pads.slice(0, n);
    padEnd = pads.slice(n, 2 * n);
  }
  return { spatial, kernel, strides, dilations, padBegin, padEnd };
}

/**
 * ConvTranspose of `dy` (spatial sizes `outSpatial`) with weight `w` that lands exactly on the input
 * positions 0..spatial−1 of `geo`: taps falling into the padding are cropped by the end pad, a missing
 * tail (input positions no window reached) is filled by output_padding (< stride by the floor in the
 * forward output size).
 */
export function convTransposeBack(em: Emitter, dy: string, w: string, geo: ConvGeometry, outSpatial: number[], group: number): string {
  const padEnd: number[] = [];
  const outPad: number[] = [];
  geo.spatial.forEach((size, i) => {
    const reach = geo.strides[i] * (outSpatial[i] - 1) + (geo.kernel[i] - 1) * geo.dilations[i] + 1 - geo.padBegin[i];
    padEnd.push(Math.max(0, reach - size));
    outPad.push(Math.max(0, size - reach));
  });
  return em.one('ConvTranspose', [dy, w], {
    strides: attr.ints(geo.strides),
    dilations: attr.ints(geo.dilations),
    pads: attr.ints([...geo.padBegin, ...padEnd]),
    output_padding: attr.ints(outPad),
    group: attr.int(group),
    kernel_shape: attr.ints(geo.kernel),
  });
}

const memoTable = new WeakMap<Emitter, Map<string, string>>();

/**
 * One computation per (program, key): values that a node's VJP and its per-example forms both read
 * (unfolded patches, normalised inputs) are emitted once. Key by the node's first output (unique in the graph, unlike node names) and what is computed.
 */
export function memo(em: Emitter, key: string, make: () => string): string {
  let table = memoTable.get(em);
  if (!table) memoTable.set(em, (table = new Map()));
  const hit = table.get(key);
  if (hit) return hit;
  const v = make();
  table.set(key, v);
  return v;
}
