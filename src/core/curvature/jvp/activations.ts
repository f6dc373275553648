/**
 * The remaining activations and selections the engine's forward ops include (ops/keras-activations.ts,
 * ops/activation.ts, pool, reduce): piecewise ones by the gradient program's own branch masks, smooth
 * ones by their derivatives; Max/Min (any number of operands) and Clip (bounds with or without tangents)
 * by the operand or region the primal selected, ties resolved as the VJP rule (engine/ops/select.ts)
 * resolves them, so that the tangent is the transpose of the VJP's linear map (Max/Min: the mean over
 * the tied operands; Clip: x on x = min or x = max); ReduceMin/GlobalMaxPool by the mean tangent over the
 * selected elements (as ReduceMax); ReduceSumSquare/ReduceL2 by d Σx² = 2Σx·dx and d‖x‖ = Σx·dx/‖x‖.
 */
import { attr, floatAttr, intAttr, intsAttr, stringAttr } from '../../graph/types';
import { NoTangentRule, sumTerms, type JvpContext, type JvpRule } from './types';

const gt = (ctx: JvpContext, x: string, v: number) => ctx.em.one('Greater', [x, ctx.scalar(v, x)]);
const where = (ctx: JvpContext, c: string, a: string, b: string) => ctx.em.one('Where', [c, a, b]);
const asFloat = (ctx: JvpContext, b: string, like: string) => ctx.em.cast(b, ctx.dtype(like) === 'float64' ? 'float64' : 'float32');

/** A one-input activation whose tangent `f` forms from (x, y, dx). */
const act =
  (f: (ctx: JvpContext, x: string, y: string, t: string) => string): JvpRule =>
  (ctx) => {
    const t = ctx.t[0];
    return [t ? f(ctx, ctx.node.inputs[0], ctx.node.outputs[0], t) : undefined, ...ctx.node.outputs.slice(1).map(() => undefined)];
  };

/** Axes of a reduction node (attribute before opset 18, constant input after); undefined: all axes. */
function reduceAxes(ctx: JvpContext): number[] | undefined {
  const { node } = ctx;
  if (node.attrs.axes) return intsAttr(node, 'axes', []);
  if (!node.inputs[1]) return undefined;
  const c = ctx.constant(node.inputs[1]);
  if (!c) throw new NoTangentRule(node.op, node.name, 'has non-constant axes (no tangent rule)');
  return Array.from(c.data as BigInt64Array, Number);
}

function reduceSum(ctx: JvpContext, v: string, axes: number[] | undefined, keep: boolean): string {
  return axes ? ctx.em.reduce('ReduceSum', v, axes, keep) : ctx.em.one('ReduceSum', [v], { keepdims: attr.int(keep ? 1 : 0) });
}

/** Mean tangent over the elements equal to the (kept-dims) selection `m`, reduced over `axes`. */
function selected(ctx: JvpContext, x: string, m: string, t: string, axes: number[] | undefined, keep: boolean): string {
  const mask = asFloat(ctx, ctx.em.one('Equal', [x, m]), x);
  return ctx.em.div(reduceSum(ctx, ctx.em.mul(mask, t), axes, keep), reduceSum(ctx, mask, axes, keep));
}

const reduceMin: JvpRule = (ctx) => {
  const t = ctx.t[0];
  if (!t) return [undefined];
  const { node, em } = ctx;
  const axes = reduceAxes(ctx);
  const kd = { keepdims: attr.int(1) };
  const x = node.inputs[0];
  const m = axes ? (em.opset >= 18 ? em.one('ReduceMin', [x, em.i64(axes)], kd) : em.one('ReduceMin', [x], { ...kd, axes: attr.ints(axes) })) : em.one('ReduceMin', [x], kd);
  return [selected(ctx, x, m, t, axes, intAttr(node, 'keepdims', 1) === 1)];
};

const globalMaxPool: JvpRule = (ctx) => {
  const t = ctx.t[0];
  if (!t) return [undefined];
  const x = ctx.node.inputs[0];
  const rank = ctx.shape(x)?.length;
  if (!rank) throw new NoTangentRule('GlobalMaxPool', ctx.node.name, 'has an input of unknown rank (no tangent rule)');
  const axes = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  return [selected(ctx, x, ctx.node.outputs[0], t, axes, true)];
};

const reduceSumSquare: JvpRule = (ctx) => {
  const t = ctx.t[0];
  if (!t) return [undefined];
  const x = ctx.node.inputs[0];
  const s = reduceSum(ctx, ctx.em.mul(x, t), reduceAxes(ctx), intAttr(ctx.node, 'keepdims', 1) === 1);
  return [ctx.em.add(s, s)];
};

const reduceL2: JvpRule = (ctx) => {
  const t = ctx.t[0];
  if (!t) return [undefined];
  const x = ctx.node.inputs[0];
  const s = reduceSum(ctx, ctx.em.mul(x, t), reduceAxes(ctx), intAttr(ctx.node, 'keepdims', 1) === 1);
  return [ctx.em.div(s, ctx.node.outputs[0])];
};

/**
 * Clip(x, min?, max?): dmin where x < min, dmax where x > max, dx elsewhere (a bound without a tangent
 * contributes 0). The VJP passes dy to x on min ≤ x ≤ max (inclusive, as PyTorch's clamp) and to a
 * bound only where it clipped strictly, so a tie x = min takes dx here too.
 */
const clip: JvpRule = (ctx) => {
  const [x, lo, hi] = ctx.node.inputs;
  const [t, tlo, thi] = ctx.t;
  if (!t && !tlo && !thi) return [undefined];
  const zero = ctx.scalar(0, x);
  let r = t ?? zero;
  if (lo) r = where(ctx, ctx.em.one('Less', [x, lo]), tlo ?? zero, r);
  if (hi) r = where(ctx, ctx.em.one('Greater', [x, hi]), thi ?? zero, r);
  return [ctx.expandTo(r, ctx.node.outputs[0])];
};

/**
 * Max / Min of any number of operands (numpy broadcasting): Σ_i [x_i = y]·dx_i / Σ_i [x_i = y], the
 * tangent of the operand selected, or the mean tangent of the operands tied at y. The VJP splits dy
 * evenly between tied operands (dy·[x_i = y]/count to each); this is its transpose. For two operands tied
 * it is also what central differences give ((max(da, db) + min(da, db))/2).
 */
const extremum: JvpRule = (ctx) => {
  const { node, em } = ctx;
  if (node.inputs.length === 1) return [ctx.t[0]];
  const y = node.outputs[0];
  const masks = node.inputs.map((x) => asFloat(ctx, em.one('Equal', [x, y]), y));
  const num = sumTerms(em, ctx.t.map((t, i) => (t ? em.mul(masks[i], t) : undefined)));
  if (!num) return [undefined];
  return [ctx.expandTo(em.div(num, em.one('Sum', masks)), y)];
};

/** PRelu(x, slope): dx where x > 0, else slope·dx + x·dslope. */
const prelu: JvpRule = (ctx) => {
  const [x, slope] = ctx.node.inputs;
  const [t, ts] = ctx.t;
  const neg = sumTerms(ctx.em, [t ? ctx.em.mul(slope, t) : undefined, ts ? ctx.em.mul(x, ts) : undefined])!;
  return [ctx.expandTo(where(ctx, gt(ctx, x, 0), t ?? ctx.zerosLike(x), neg), ctx.node.outputs[0])];
};

export const ACTIVATION_RULES: Record<string, JvpRule> = {
  // Elu: dx for x > 0, dx·(y + α) below (y = α(eˣ − 1)).
  Elu: act((ctx, x, y, t) => where(ctx, gt(ctx, x, 0), t, ctx.em.mul(t, ctx.em.add(y, ctx.scalar(floatAttr(ctx.node, 'alpha', 1), x))))),
  // Selu: γ·dx for x > 0, dx·(y + γα) below.
  Selu: act((ctx, x, y, t) => {
    const alpha = floatAttr(ctx.node, 'alpha', 1.67326319217681884765625);
    const gamma = floatAttr(ctx.node, 'gamma', 1.05070102214813232421875);
    return where(ctx, gt(ctx, x, 0), ctx.em.mul(t, ctx.scalar(gamma, x)), ctx.em.mul(t, ctx.em.add(y, ctx.scalar(gamma * alpha, x))));
  }),
  // Softsign: dx / (1 + |x|)².
  Softsign: act((ctx, x, _y, t) => {
    const d = ctx.em.add(ctx.scalar(1, x), ctx.em.one('Abs', [x]));
    return ctx.em.div(t, ctx.em.mul(d, d));
  }),
  ThresholdedRelu: act((ctx, x, _y, t) => where(ctx, gt(ctx, x, floatAttr(ctx.node, 'alpha', 1)), t, ctx.scalar(0, x))),
  // HardSigmoid: α·dx where 0 < αx + β < 1.
  HardSigmoid: act((ctx, x, _y, t) => {
    const a = floatAttr(ctx.node, 'alpha', 0.2);
    const b = floatAttr(ctx.node, 'beta', 0.5);
    const z = ctx.em.add(ctx.em.mul(x, ctx.scalar(a, x)), ctx.scalar(b, x));
    const inside = ctx.em.one('And', [gt(ctx, z, 0), ctx.em.one('Less', [z, ctx.scalar(1, x)])]);
    return where(ctx, inside, ctx.em.mul(t, ctx.scalar(a, x)), ctx.scalar(0, x));
  }),
  // HardSwish: y = x·hs(x), hs = max(0, min(1, x/6 + 1/2)): dy = dx·(hs(x) + x/6 on −3 < x < 3).
  HardSwish: act((ctx, x, _y, t) => {
    const hs = ctx.em.one('HardSigmoid', [x], { alpha: attr.float(1 / 6), beta: attr.float(0.5) });
    const inside = ctx.em.one('And', [gt(ctx, x, -3), ctx.em.one('Less', [x, ctx.scalar(3, x)])]);
    const extra = where(ctx, inside, ctx.em.mul(x, ctx.scalar(1 / 6, x)), ctx.scalar(0, x));
    return ctx.em.mul(t, ctx.em.add(hs, extra));
  }),
  // Gelu: 'none' dy = dx·(Φ(x) + x·φ(x)); 'tanh' y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³):
  // dy = dx·(½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)).
  Gelu: act((ctx, x, _y, t) => {
    const em = ctx.em;
    if (stringAttr(ctx.node, 'approximate', 'none') === 'tanh') {
      const c = Math.sqrt(2 / Math.PI);
      const x2 = em.mul(x, x);
      const u = em.mul(ctx.scalar(c, x), em.add(x, em.mul(ctx.scalar(0.044715, x), em.mul(x2, x))));
      const th = em.one('Tanh', [u]);
      const du = em.mul(ctx.scalar(c, x), em.add(ctx.scalar(1, x), em.mul(ctx.scalar(3 * 0.044715, x), x2)));
      const half = ctx.scalar(0.5, x);
      const d = em.add(em.mul(half, em.add(ctx.scalar(1, x), th)), em.mul(em.mul(half, x), em.mul(em.sub(ctx.scalar(1, x), em.mul(th, th)), du)));
      return em.mul(t, d);
    }
    const Phi = em.mul(ctx.scalar(0.5, x), em.add(ctx.scalar(1, x), em.one('Erf', [em.mul(x, ctx.scalar(Math.SQRT1_2, x))])));
    const phi = em.mul(ctx.scalar(1 / Math.sqrt(2 * Math.PI), x), em.one('Exp', [em.mul(em.mul(x, x), ctx.scalar(-0.5, x))]));
    return em.mul(t, em.add(Phi, em.mul(x, phi)));
  }),
  PRelu: prelu,
  Clip: clip,
  Max: extremum,
  Min: extremum,
  ReduceMin: reduceMin,
  GlobalMaxPool: globalMaxPool,
  ReduceSumSquare: reduceSumSquare,
  ReduceL2: reduceL2,
};
