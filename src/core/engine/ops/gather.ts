/**
 * Gather along any axis: the cotangent of `data` scatters dy back onto the gathered positions
 * (ScatterElements with reduction add, so repeated indices accumulate), for an embedding table (axis 0,
 * batch-dependent ids) as for an activation (x[:, 0]: axis ≠ 0, constant indices). Negative indices are
 * wrapped as Gather reads them. Per example, an embedding table read with batch-dependent ids [B, …]
 * gets the `gather` form {ids [B, T], d [B, T, D]} (no V-sized tensor per example).
 */
import { attr, intAttr } from '../../graph/types';
import { constValues, floatType, normAxis, prod, zeros } from './common';
import type { OpRule, PerExampleGrad, VjpContext } from './types';

/** The indices as int64 in [0, N): folded when constant, else Mod(·, N) (the sign of the divisor). */
function wrappedIndices(ctx: VjpContext, N: number): string {
  const em = ctx.em;
  const ind = ctx.node.inputs[1];
  const dims = ctx.shape(ind);
  const known = constValues(ctx, ind);
  if (known) {
    const data = BigInt64Array.from(known.map((v) => BigInt(v < 0 ? v + N : v)));
    return em.constant({ dims, dtype: 'int64', data }, 'indices');
  }
  const i64 = ctx.dtype(ind) === 'int64' ? ind : em.cast(ind, 'int64');
  return em.one('Mod', [i64, em.constant({ dims: [], dtype: 'int64', data: BigInt64Array.of(BigInt(N)) }, 'n')]);
}

export const gather: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const [data, ind] = ctx.node.inputs;
    if (!dy || !ctx.needs[0]) return [undefined, undefined];
    const em = ctx.em;
    const ds = ctx.shape(data);
    const a = normAxis(intAttr(ctx.node, 'axis', 0), ds.length);
    const pre = prod(ds.slice(0, a));
    const N = ds[a];
    const post = prod(ds.slice(a + 1));
    const I = prod(ctx.shape(ind));
    const idx = em.one('Expand', [em.reshape(wrappedIndices(ctx, N), [1, I, 1]), em.i64([pre, I, post])]);
    const scattered = em.one('ScatterElements', [zeros(em, [pre, N, post], floatType(ctx, data)), idx, em.reshape(dy, [pre, I, post])], {
      axis: attr.int(1),
      reduction: attr.string('add'),
    });
    return [em.reshape(scattered, ds), undefined];
  },
  perExample(ctx, k): PerExampleGrad | undefined {
    const dy = ctx.dy[0];
    const [data, ind] = ctx.node.inputs;
    if (!dy || k !== 0 || ctx.constant(ind)) return undefined;
    const ds = ctx.shape(data);
    if (normAxis(intAttr(ctx.node, 'axis', 0), ds.length) !== 0) return undefined;
    const is = ctx.shape(ind);
    if (is.length === 0) return undefined;
    const em = ctx.em;
    const B = is[0];
    const T = prod(is.slice(1));
    return { kind: 'gather', ids: em.reshape(wrappedIndices(ctx, ds[0]), [B, T]), d: em.reshape(dy, [B, T, prod(ds.slice(1))]) };
  },
};
