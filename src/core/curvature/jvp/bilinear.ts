/**
 * Sums, products and the bilinear layers. Sums: the sum of the tangents, broadcast to the output's shape
 * when only a broadcast operand carries one (Add(x, bias) along the bias). Products of two operands
 * (Mul, MatMul, Gemm, Conv, ConvTranspose) are bilinear: d(a∘b) = da∘b + a∘db, each term the op itself
 * with one operand replaced by its tangent (Gemm's C and a bias B enter linearly, in the second term).
 * Div: d(a/b) = (da − y·db)/b with y = a/b the primal output.
 */
import { floatAttr, type GraphNode } from '../../graph/types';
import { clone } from './linear';
import { sumTerms, type JvpContext, type JvpRule } from './types';

const add: JvpRule = (ctx) => {
  const [ta, tb] = ctx.t;
  const y = ctx.node.outputs[0];
  if (ta && tb) return [ctx.em.add(ta, tb)];
  if (ta) return [ctx.expandTo(ta, y)];
  return [tb ? ctx.expandTo(tb, y) : undefined];
};

const sub: JvpRule = (ctx) => {
  const [ta, tb] = ctx.t;
  const y = ctx.node.outputs[0];
  if (ta && tb) return [ctx.em.sub(ta, tb)];
  if (ta) return [ctx.expandTo(ta, y)];
  return [tb ? ctx.expandTo(ctx.em.neg(tb), y) : undefined];
};

const sum: JvpRule = (ctx) => {
  const s = sumTerms(ctx.em, ctx.t);
  return [s === undefined ? undefined : ctx.expandTo(s, ctx.node.outputs[0])];
};

/** da∘b + a∘db for an op whose inputs 0 and 1 are its two factors. */
function product(ctx: JvpContext, node: GraphNode, first: (ta: string) => string[], second: (tb: string) => string[]): string | undefined {
  const [ta, tb] = ctx.t;
  return sumTerms(ctx.em, [ta ? clone(ctx, node, first(ta))[0] : undefined, tb ? clone(ctx, node, second(tb))[0] : undefined]);
}

const mul: JvpRule = (ctx) => {
  const [a, b] = ctx.node.inputs;
  return [product(ctx, ctx.node, (ta) => [ta, b], (tb) => [a, tb])];
};

const matmul: JvpRule = mul;

const div: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const [ta, tb] = ctx.t;
  const [, b] = node.inputs;
  const y = node.outputs[0];
  if (!tb) return [ta ? ctx.expandTo(em.div(ta, b), y) : undefined];
  const num = ta ? em.sub(ta, em.mul(y, tb)) : em.neg(em.mul(y, tb));
  return [ctx.expandTo(em.div(num, b), y)];
};

/**
 * Gemm: Y = α·op(A)·op(B) + β·C. Tangent α·op(dA)·op(B) (a Gemm without C) + α·op(A)·op(dB) + β·dC
 * (a Gemm with C = dC); only dC: β·dC broadcast to Y.
 */
const gemm: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const [a, b] = node.inputs;
  const [ta, tb, tc] = ctx.t;
  const { beta: _beta, ...noBeta } = node.attrs;
  const noC: GraphNode = { ...node, attrs: noBeta };
  const terms: (string | undefined)[] = [];
  if (ta) terms.push(clone(ctx, noC, [ta, b])[0]);
  if (tb) terms.push(clone(ctx, node, tc ? [a, tb, tc] : [a, tb])[0]);
  else if (tc) {
    const beta = floatAttr(node, 'beta', 1);
    terms.push(ctx.expandTo(beta === 1 ? tc : em.mul(tc, ctx.scalar(beta, tc)), node.outputs[0]));
  }
  return [sumTerms(em, terms)];
};

/**
 * Conv / ConvTranspose (X, W, B?): Conv(dX, W) + Conv(X, dW, dB). Only dB: it enters as Conv(X, 0, dB)
 * would, broadcast along the channel axis 1.
 */
const conv: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const [x, w] = node.inputs;
  const [tx, tw, tb] = ctx.t;
  const y = node.outputs[0];
  const terms: (string | undefined)[] = [];
  if (tx) terms.push(clone(ctx, node, [tx, w])[0]);
  if (tw) terms.push(clone(ctx, node, tb ? [x, tw, tb] : [x, tw])[0]);
  else if (tb) {
    const rank = ctx.shape(y)?.length ?? ctx.shape(x)?.length;
    const bias = rank ? em.one('Unsqueeze', [tb, em.i64([0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)])]) : tb;
    terms.push(ctx.expandTo(bias, y));
  }
  return [sumTerms(em, terms)];
};

export const BILINEAR_RULES: Record<string, JvpRule> = {
  Add: add,
  Sub: sub,
  Sum: sum,
  Mul: mul,
  Div: div,
  MatMul: matmul,
  Gemm: gemm,
  Conv: conv,
  ConvTranspose: conv,
};
