/**
 * MatMul (numpy semantics, rank ≥ 2 operands) and Gemm. A weight operand gets the outer-product form
 * G_b = a_bᵀ·d_b over the positions t of example b (T = 1 for a plain Dense input: Goodfellow's
 * ‖a_b‖²‖d_b‖²; T > 1: sequences, the ghost norm; per-example.ts picks the cheaper).
 */
import { attr, floatAttr, intAttr } from '../../graph/types';
import { perExampleUnbroadcast, unbroadcast } from './broadcast';
import type { OpRule, PerExampleGrad, VjpContext } from './types';

const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

export const matmul: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const [a, b] = ctx.node.inputs;
    if (!dy) return [undefined, undefined];
    const em = ctx.em;
    const sa = ctx.shape(a);
    const sb = ctx.shape(b);
    const sy = ctx.shape(ctx.node.outputs[0]);
    if (sa.length < 2 || sb.length < 2) throw new Error(`MatMul '${ctx.node.name}': 1-D operands are not supported by the gradient program`);
    const da = ctx.needs[0] ? unbroadcast(em, em.one('MatMul', [dy, em.transpose(b, swapLast(sb.length))]), sy.slice(0, -1).concat(sa[sa.length - 1]), sa) : undefined;
    const db = ctx.needs[1] ? unbroadcast(em, em.one('MatMul', [em.transpose(a, swapLast(sa.length)), dy]), sy.slice(0, -2).concat(sb.slice(-2)), sb) : undefined;
    return [da, db];
  },
  perExample(ctx, k) {
    const dy = ctx.dy[0];
    if (!dy) return undefined;
    const em = ctx.em;
    const [a, b] = ctx.node.inputs;
    const sa = ctx.shape(a);
    const sb = ctx.shape(b);
    const sy = ctx.shape(ctx.node.outputs[0]);
    const B = sy[0];
    if (k === 1 && sb.length === 2 && sa.length >= 2) {
      // Y_b[t] = A_b[t]·W: G_b = Σ_t A_b[t]ᵀ dY_b[t].
      const T = prod(sa.slice(1, -1));
      return { kind: 'outer', a: em.reshape(a, [B, T, sb[0]]), d: em.reshape(dy, [B, T, sb[1]]), layout: 'KM', linear: { y: ctx.node.outputs[0], dy } };
    }
    if (k === 0 && sa.length === 2 && sb.length === 3) {
      // Y_b = W·X_b (W n×k, X_b k×m): G_b = dY_b X_bᵀ = (X_b dY_bᵀ)ᵀ over the m columns.
      return { kind: 'outer', a: em.transpose(b, [0, 2, 1]), d: em.transpose(dy, [0, 2, 1]), layout: 'MK', linear: { y: ctx.node.outputs[0], dy } };
    }
    return undefined;
  },
};

function gemmParts(ctx: VjpContext) {
  return {
    alpha: floatAttr(ctx.node, 'alpha', 1),
    beta: floatAttr(ctx.node, 'beta', 1),
    transA: intAttr(ctx.node, 'transA', 0),
    transB: intAttr(ctx.node, 'transB', 0),
  };
}

export const gemm: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const [a, b, c] = ctx.node.inputs;
    if (!dy) return [undefined, undefined, undefined];
    const em = ctx.em;
    const { alpha, beta, transA, transB } = gemmParts(ctx);
    // Y = α A′B′ + βC with A′ = transA ? Aᵀ : A, B′ = transB ? Bᵀ : B.
    const da = ctx.needs[0]
      ? transA
        ? em.one('Gemm', [b, dy], { alpha: attr.float(alpha), transA: attr.int(transB), transB: attr.int(1) })
        : em.one('Gemm', [dy, b], { alpha: attr.float(alpha), transB: attr.int(1 - transB) })
      : undefined;
    const db = ctx.needs[1]
      ? transB
        ? em.one('Gemm', [dy, a], { alpha: attr.float(alpha), transA: attr.int(1), transB: attr.int(transA) })
        : em.one('Gemm', [a, dy], { alpha: attr.float(alpha), transA: attr.int(1 - transA) })
      : undefined;
    let dc: string | undefined;
    if (c && ctx.needs[2]) {
      const scaled = beta === 1 ? dy : em.mul(dy, em.scalarOf(beta, ctx.dtype(dy)));
      dc = unbroadcast(em, scaled, ctx.shape(ctx.node.outputs[0]), ctx.shape(c));
    }
    return [da, db, dc];
  },
  perExample(ctx, k): PerExampleGrad | undefined {
    const dy = ctx.dy[0];
    if (!dy) return undefined;
    const em = ctx.em;
    const { alpha, beta, transA, transB } = gemmParts(ctx);
    if (transA) return undefined;
    const [a, , c] = ctx.node.inputs;
    const [B, M] = ctx.shape(ctx.node.outputs[0]);
    if (k === 1) {
      const K = ctx.shape(a)[1];
      const d = alpha === 1 ? dy : em.mul(dy, em.scalarOf(alpha, ctx.dtype(dy)));
      return { kind: 'outer', a: em.reshape(a, [B, 1, K]), d: em.reshape(d, [B, 1, M]), layout: transB ? 'MK' : 'KM' };
    }
    if (k === 2 && c) {
      const d = beta === 1 ? dy : em.mul(dy, em.scalarOf(beta, ctx.dtype(dy)));
      return { kind: 'dense', g: perExampleUnbroadcast(em, d, [B, M], ctx.shape(c)) };
    }
    return undefined;
  },
};
