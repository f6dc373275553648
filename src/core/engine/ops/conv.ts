/**
 * Conv (N-d, NC…; 2-D and 1-D in practice): dx by a Conv with the flipped kernel (stride 1) or else by
 * ConvTranspose with the same weight, dW from the unfolded input (im2col), db = Σ dy. Per example (PERFORMANCE-NOTES.md "the method"): the input is
 * unfolded into patches a [B, T, C·K] (T output positions, K kernel taps) by a Conv with a fixed one-hot
 * kernel (group = C, the node's own strides/dilations/pads), so that G_b = d_bᵀ a_b with d = dy as
 * [B, T, M]: the `outer` form (layout MK) for group = 1; for group > 1 the weight is block-diagonal in
 * that picture and the per-example gradient is materialised per group (`dense`, [B, M, C/g, k…]).
 */
import { attr, intAttr } from '../../graph/types';
import type { Emitter } from '../emitter';
import { convGeometry, convTransposeBack, floatConst, floatType, memo, prod, type ConvGeometry } from './common';
import type { OpRule, PerExampleGrad, VjpContext } from './types';

interface ConvParts {
  x: string;
  w: string;
  bias?: string;
  B: number;
  C: number;
  M: number;
  group: number;
  geo: ConvGeometry;
  outSpatial: number[];
  T: number;
  K: number;
}

function parts(ctx: VjpContext): ConvParts {
  const [x, w, bias] = ctx.node.inputs;
  const xs = ctx.shape(x);
  const ws = ctx.shape(w);
  const ys = ctx.shape(ctx.node.outputs[0]);
  const kernel = ws.slice(2);
  const geo = convGeometry(ctx.node, xs.slice(2), kernel);
  return {
    x,
    w,
    bias: bias || undefined,
    B: xs[0],
    C: xs[1],
    M: ws[0],
    group: intAttr(ctx.node, 'group', 1),
    geo,
    outSpatial: ys.slice(2),
    T: prod(ys.slice(2)),
    K: prod(kernel),
  };
}

/**
 * Largest (input positions) × (taps · output positions) for which the patches are formed by a MatMul
 * with a constant 0/1 unfolding matrix instead of the one-hot Conv: on small maps ORT's grouped Conv
 * spends its time in per-(example, channel) calls. Measured on one core, batch 256, patches plus one
 * product: 16 channels 4×4, 3×3 pads 1 (16 · 144 = 2304): 2.6 vs 4.9 ms; 8 channels 8×8, 3×3 stride 2
 * (64 · 144): 2.1 vs 1.8 ms; 8×8 stride 1 (64 · 576): 4.4 vs 3.8 ms.
 */
const UNFOLD_BY_MATMUL_MAX = 4096;

/** Patches of x as [B, T, C·K] (channel-major, then kernel taps in row-major order). */
function unfold(ctx: VjpContext, p: ConvParts): string {
  const em = ctx.em;
  return memo(em, `${ctx.node.outputs[0]}\u0000im2col`, () => {
    const { geo } = p;
    const HW = prod(geo.spatial);
    const rows = (cols: string) => em.transpose(em.reshape(cols, [p.B, p.C * p.K, p.T]), [0, 2, 1]);
    // A 1×1 kernel at stride 1 without pads: the patches are x itself.
    if (p.K === 1 && HW === p.T && [...geo.padBegin, ...geo.padEnd].every((v) => v === 0)) return rows(p.x);
    if (HW * p.K * p.T <= UNFOLD_BY_MATMUL_MAX) {
      // U [HW, K·T]: column j·T + t has a 1 at the input position tap j of output position t reads
      // (none where it reads padding). x [B, C, HW]·U = [B, C, K·T] = [B, C·K, T].
      const n = geo.spatial.length;
      const out = p.outSpatial;
      const u = new Array<number>(HW * p.K * p.T).fill(0);
      const tap = new Array<number>(n);
      const pos = new Array<number>(n);
      for (let j = 0; j < p.K; j++) {
        for (let r = j, i = n - 1; i >= 0; i--) {
          tap[i] = r % geo.kernel[i];
          r = Math.floor(r / geo.kernel[i]);
        }
        for (let t = 0; t < p.T; t++) {
          for (let r = t, i = n - 1; i >= 0; i--) {
            pos[i] = r % out[i];
            r = Math.floor(r / out[i]);
          }
          let flat = 0;
          let inside = true;
          for (let i = 0; i < n; i++) {
            const at = pos[i] * geo.strides[i] - geo.padBegin[i] + tap[i] * geo.dilations[i];
            if (at < 0 || at >= geo.spatial[i]) inside = false;
            flat = flat * geo.spatial[i] + at;
          }
          if (inside) u[flat * p.K * p.T + j * p.T + t] = 1;
        }
      }
      const U = floatConst(em, [HW, p.K * p.T], u, floatType(ctx, p.x), 'unfold');
      return rows(em.one('MatMul', [em.reshape(p.x, [p.B, p.C, HW]), U]));
    }
    // One-hot kernel [C·K, 1, k…]: output channel c·K + j copies tap j of channel c.
    const eye = new Array<number>(p.C * p.K * p.K).fill(0);
    for (let c = 0; c < p.C; c++) for (let j = 0; j < p.K; j++) eye[(c * p.K + j) * p.K + j] = 1;
    const kernel = floatConst(em, [p.C * p.K, 1, ...geo.kernel], eye, floatType(ctx, p.x), 'im2col_kernel');
    const cols = em.one('Conv', [p.x, kernel], {
      group: attr.int(p.C),
      kernel_shape: attr.ints(geo.kernel),
      strides: attr.ints(geo.strides),
      dilations: attr.ints(geo.dilations),
      pads: attr.ints([...geo.padBegin, ...geo.padEnd]),
    });
    return rows(cols);
  });
}

/**
 * dx for a stride-1 Conv as a Conv of dy with the kernel flipped along its spatial axes and its in/out
 * channels swapped per group (dx[i] = Σ_j dy[i + pb − j·d]·w[j] is a correlation of dy, padded by
 * (k−1)·d − pb before and H − Ho + pb after, with w[k−1−j]). ORT runs it on its Conv kernels: 0.74 vs
 * 1.62 ms (16→16 channels, 4×4, batch 256) and 1.17 vs 2.55 ms (8→8, 8×8) against its ConvTranspose
 * (one core, measured). The kernel is built in the graph from the weight (constant-folded by ORT when
 * the weight is an initializer). Undefined where a pad would be negative (a pad beyond the kernel's
 * reach): ConvTranspose then.
 */
function flippedConvBack(em: Emitter, dy: string, w: string, wDims: number[], p: ConvParts): string | undefined {
  const { geo, group: g } = p;
  if (geo.strides.some((s) => s !== 1)) return undefined;
  const span = geo.kernel.map((k, i) => (k - 1) * geo.dilations[i]);
  const before = span.map((r, i) => r - geo.padBegin[i]);
  const after = geo.spatial.map((size, i) => size - p.outSpatial[i] + geo.padBegin[i]);
  if ([...before, ...after].some((v) => v < 0)) return undefined;
  const [M, Cg, ...kernel] = wDims;
  const n = kernel.length;
  // [M, C/g, k…] → [g, M/g, C/g, k…] → [g, C/g, M/g, k…] → [C, M/g, k…], then reversed along each k.
  const perm = [0, 2, 1, ...kernel.map((_, i) => i + 3)];
  const swapped = g === 1 ? em.transpose(w, [1, 0, ...kernel.map((_, i) => i + 2)]) : em.reshape(em.transpose(em.reshape(w, [g, M / g, Cg, ...kernel]), perm), [Cg * g, M / g, ...kernel]);
  const axes = kernel.map((_, i) => i + 2);
  const flipped = em.one('Slice', [swapped, em.i64(axes.map(() => -1)), em.i64(axes.map(() => -(2 ** 62))), em.i64(axes), em.i64(axes.map(() => -1))]);
  return em.one('Conv', [dy, flipped], {
    group: attr.int(g),
    kernel_shape: attr.ints(kernel),
    dilations: attr.ints(geo.dilations),
    pads: attr.ints([...before, ...after]),
    strides: attr.ints(Array<number>(n).fill(1)),
  });
}

/** dy as [B, T, M]. */
const dyRows = (em: Emitter, dy: string, p: ConvParts) => em.transpose(em.reshape(dy, [p.B, p.M, p.T]), [0, 2, 1]);

/** Per-group patches [B, g, T, Cg·K] and cotangent rows [B, g, T, Mg] (group > 1). */
function grouped(ctx: VjpContext, dy: string, p: ConvParts): { a: string; d: string } {
  const em = ctx.em;
  const g = p.group;
  const a = em.transpose(em.reshape(unfold(ctx, p), [p.B, p.T, g, (p.C / g) * p.K]), [0, 2, 1, 3]);
  const d = em.transpose(em.reshape(dy, [p.B, g, p.M / g, p.T]), [0, 1, 3, 2]);
  return { a, d };
}

export const conv: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy) return out;
    const em = ctx.em;
    const p = parts(ctx);
    if (ctx.needs[0]) out[0] = flippedConvBack(em, dy, p.w, ctx.shape(p.w), p) ?? convTransposeBack(em, dy, p.w, p.geo, p.outSpatial, p.group);
    if (ctx.needs[1]) {
      const wDims = ctx.shape(p.w);
      if (p.group === 1) {
        // Σ_b d_bᵀ a_b over all B·T rows: [M, C·K].
        const a2 = em.reshape(unfold(ctx, p), [p.B * p.T, p.C * p.K]);
        const d2 = em.reshape(dyRows(em, dy, p), [p.B * p.T, p.M]);
        out[1] = em.reshape(em.one('Gemm', [d2, a2], { transA: attr.int(1) }), wDims);
      } else {
        const { a, d } = grouped(ctx, dy, p);
        // [g, B·T, ·] per group, then [g, Mg, Cg·K] = [M, Cg, k…].
        const a3 = em.reshape(em.transpose(a, [1, 0, 2, 3]), [p.group, p.B * p.T, (p.C / p.group) * p.K]);
        const d3 = em.reshape(em.transpose(d, [1, 0, 2, 3]), [p.group, p.B * p.T, p.M / p.group]);
        out[1] = em.reshape(em.one('MatMul', [em.transpose(d3, [0, 2, 1]), a3]), wDims);
      }
    }
    if (p.bias && ctx.needs[2]) {
      const axes = [0, ...p.outSpatial.map((_, i) => i + 2)];
      out[2] = em.reduce('ReduceSum', dy, axes, false);
    }
    return out;
  },
  perExample(ctx, k): PerExampleGrad | undefined {
    const dy = ctx.dy[0];
    if (!dy) return undefined;
    const em = ctx.em;
    const p = parts(ctx);
    if (k === 1) {
      if (p.group === 1) return { kind: 'outer', a: unfold(ctx, p), d: dyRows(em, dy, p), layout: 'MK' };
      const { a, d } = grouped(ctx, dy, p);
      // [B, g, Mg, Cg·K] = [B, M, Cg, k…].
      const g = em.one('MatMul', [em.transpose(d, [0, 1, 3, 2]), a]);
      return { kind: 'dense', g: em.reshape(g, [p.B, ...ctx.shape(p.w)]) };
    }
    if (k === 2 && p.bias) return { kind: 'dense', g: em.reduce('ReduceSum', dy, p.outSpatial.map((_, i) => i + 2), false) };
    return undefined;
  },
};
