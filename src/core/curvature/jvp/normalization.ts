/**
 * Softmax / LogSoftmax / BatchNormalization (inference form) / LayerNormalization by their closed-form
 * derivatives.
 *   softmax:     dy = y·(dx − Σ_axis y·dx)
 *   logsoftmax:  dy = dx − Σ_axis softmax·dx
 *   batchnorm:   Y = s·(X − μ)·r + B, r = (σ² + ε)^−½ (inference form: running μ, σ² as inputs). Linear in
 *                (X, μ) and in (s, B), and dr = −½·r³·dσ² enters as a change of scale, so
 *                dY = BN(dX; s, 0, dμ, σ²) + BN(X; ds − ½·s·dσ²/(σ² + ε), dB, μ, σ²) (the op itself,
 *                twice). dμ, dσ²: statistics computed from the parameters (the VJP has their cotangents);
 *                training_mode=1 has no VJP rule (engine/ops/normalization.ts), so no tangent either.
 *   layernorm:   x̂ = (x − m)·r, r = (var + ε)^−½ over the normalised axes;
 *                dx̂ = r·(dx − mean(dx) − x̂·mean(x̂·dx)), dY = dx̂·S + x̂·dS + dB,
 *                d(Mean) = mean(dx), d(InvStdDev) = −r²·mean(x̂·dx).
 */
import { attr, floatAttr, intAttr, type ConstTensor } from '../../graph/types';
import { clone } from './linear';
import { NoTangentRule, sumTerms, type JvpRule } from './types';

const softmax: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const t = ctx.t[0];
  if (!t) return [undefined];
  const y = node.outputs[0];
  const axis = intAttr(node, 'axis', -1);
  const s = em.reduce('ReduceSum', em.mul(y, t), [axis], true);
  return [em.mul(y, em.sub(t, s))];
};

const logSoftmax: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const t = ctx.t[0];
  if (!t) return [undefined];
  const axis = intAttr(node, 'axis', -1);
  const p = em.one('Exp', [node.outputs[0]]);
  return [em.sub(t, em.reduce('ReduceSum', em.mul(p, t), [axis], true))];
};

const batchNorm: JvpRule = (ctx) => {
  const { node, em } = ctx;
  const [x, s, b, mean, v] = node.inputs;
  const [tx, ts, tb, tm, tv] = ctx.t;
  if (intAttr(node, 'training_mode', 0) !== 0) throw new NoTangentRule('BatchNormalization', node.name, 'uses batch statistics (training_mode=1; no tangent rule)');
  const one = (inputs: string[]) => clone(ctx, { ...node, outputs: [node.outputs[0]] }, inputs)[0];
  const terms: (string | undefined)[] = [];
  if (tx || tm) terms.push(one([tx ?? ctx.zerosLike(x), s, ctx.zerosLike(b), tm ?? ctx.zerosLike(mean), v]));
  let scale = ts;
  if (tv) {
    const ds = em.mul(em.mul(s, ctx.scalar(-0.5, v)), em.div(tv, em.add(v, ctx.scalar(floatAttr(node, 'epsilon', 1e-5), v))));
    scale = ts ? em.add(ts, ds) : ds;
  }
  if (scale || tb) terms.push(one([x, scale ?? ctx.zerosLike(s), tb ?? ctx.zerosLike(b), mean, v]));
  return [sumTerms(em, terms)];
};

const layerNorm: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const [x, s] = node.inputs;
  const [tx, ts, tb] = ctx.t;
  const xs = ctx.shape(x);
  if (!xs) throw new NoTangentRule('LayerNormalization', node.name, 'has an input of unknown rank (no tangent rule)');
  const rank = xs.length;
  const a0 = intAttr(node, 'axis', -1);
  const first = a0 < 0 ? a0 + rank : a0;
  const axes = Array.from({ length: rank - first }, (_, i) => first + i);
  const dt = ctx.dtype(x) === 'float64' ? 'float64' : 'float32';
  const oneVal: ConstTensor = { dims: [1], dtype: dt, data: dt === 'float64' ? Float64Array.of(1) : Float32Array.of(1) };
  const ones = em.one('ConstantOfShape', [em.one('Shape', [s])], { value: attr.tensor(oneVal) });
  const [xhat, , stashed] = em.node('LayerNormalization', [x, ones], { axis: attr.int(a0), epsilon: attr.float(floatAttr(node, 'epsilon', 1e-5)), stash_type: attr.int(intAttr(node, 'stash_type', 1)) }, 3, 'jvp_LayerNorm');
  // InvStdDev comes in the stash type (float32 by default): back to X's type for the products.
  const r = dt === 'float64' && intAttr(node, 'stash_type', 1) !== 11 ? em.cast(stashed, 'float64') : stashed;
  const asOutput = (v: string | undefined, k: number) => {
    const want = node.outputs[k] ? ctx.dtype(node.outputs[k]) : dt;
    return v && want !== dt && (want === 'float32' || want === 'float64') ? em.cast(v, want) : v;
  };
  let dxhat: string | undefined;
  let m1: string | undefined;
  let m2: string | undefined;
  if (tx) {
    m1 = em.reduce('ReduceMean', tx, axes, true);
    m2 = em.reduce('ReduceMean', em.mul(xhat, tx), axes, true);
    dxhat = em.mul(r, em.sub(em.sub(tx, m1), em.mul(xhat, m2)));
  }
  const y = node.outputs[0];
  const dy = sumTerms(em, [dxhat ? em.mul(dxhat, s) : undefined, ts ? em.mul(xhat, ts) : undefined, tb ? ctx.expandTo(tb, y) : undefined]);
  const dMean = m1;
  const dInv = m2 ? em.neg(em.mul(em.mul(r, r), m2)) : undefined;
  return [dy, asOutput(dMean, 1), asOutput(dInv, 2)].slice(0, node.outputs.length);
};

export const NORMALIZATION_RULES: Record<string, JvpRule> = {
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
};
