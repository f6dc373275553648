/**
 * Σ_b g_b from each per-example form (engine/per-example.ts): the batch sum as a product with a row of ones
 * (dense and outer forms), and an embedding's sum by a one-hot product or, above the one-hot size limit,
 * by ScatterElements. Oracle: the same sums in float64 in plain JavaScript from the same float32 inputs;
 * tolerance 1e-5 relative to the norm of the terms (float32 accumulation over ≤ 300 terms: ≲ 300·6e-8).
 */
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { Emitter } from '../../../src/core/engine/emitter';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { weightStats, type WeightStatsRequest } from '../../../src/core/engine/per-example';
import type { PerExampleGrad } from '../../../src/core/engine/ops/types';
import { encodeModel } from '../../../src/core/onnx/proto';
import { mulberry32 } from '../../../src/core/random';

const u = mulberry32(11);
const rand = (n: number) => Float32Array.from({ length: n }, () => 2 * u() - 1);

async function sumOf(form: PerExampleGrad, dims: number[], B: number, feeds: Record<string, ort.Tensor>, extra: Partial<WeightStatsRequest> = {}) {
  const em = new Emitter(17, 't');
  const shapes = new Map(Object.entries(feeds).map(([k, t]) => [k, [...t.dims]]));
  em.lookup = (n) => shapes.get(n);
  const st = weightStats(em, { form, dims, B, shape: (n) => em.shapeOf(n)!, diagonal: false, ...extra });
  const model = buildModel({
    opset: 17,
    name: 'sums',
    nodes: em.nodes,
    initializers: em.constants,
    inputs: Object.entries(feeds).map(([name, t]) => ({ name, dtype: t.type as 'float32' | 'int64', shape: [...t.dims] })),
    outputs: [{ name: st.sum }],
  });
  const s = await ort.InferenceSession.create(encodeModel(model));
  const r = await s.run(feeds);
  await s.release();
  return { sum: r[st.sum].data as Float32Array, ops: em.nodes.map((n) => n.op) };
}

function close(got: ArrayLike<number>, want: number[], scale: number) {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * scale, `element ${i}: ${got[i]} vs ${want[i]} (scale ${scale})`);
}

describe('engine per-example forms: Σ_b g_b', () => {
  it('dense form [B = 300, 7]: a product with ones, = the float64 column sums', async () => {
    const [B, P] = [300, 7];
    const g = rand(B * P);
    const r = await sumOf({ kind: 'dense', g: 'g' }, [P], B, { g: new ort.Tensor('float32', g, [B, P]) });
    assert.ok(r.ops.includes('MatMul') && !r.ops.includes('ReduceSum'), r.ops.join(','));
    close(r.sum, Array.from({ length: P }, (_, j) => Array.from({ length: B }, (_, b) => g[b * P + j]).reduce((a, v) => a + v, 0)), B);
  });

  it('outer form over T = 5 positions, materialised (K = 6, M = 4, B = 40): Σ_b a_bᵀ d_b', async () => {
    const [B, T, K, M] = [40, 5, 6, 4];
    const a = rand(B * T * K);
    const d = rand(B * T * M);
    const r = await sumOf({ kind: 'outer', a: 'a', d: 'd', layout: 'KM' }, [K, M], B, { a: new ort.Tensor('float32', a, [B, T, K]), d: new ort.Tensor('float32', d, [B, T, M]) });
    const want: number[] = [];
    for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) {
      let s = 0;
      for (let bt = 0; bt < B * T; bt++) s += a[bt * K + k] * d[bt * M + m];
      want.push(s);
    }
    close(r.sum, want, B * T);
  });

  for (const [label, limit] of [['one-hot product', undefined], ['ScatterElements (above the one-hot limit)', 0]] as const) {
    it(`gather form: embedding [V = 9, D = 3] read by ids [B = 30, T = 4] with repeats, by ${label}`, async () => {
      const [B, T, V, D] = [30, 4, 9, 3];
      const ids = BigInt64Array.from({ length: B * T }, () => BigInt(Math.floor(u() * V)));
      const d = rand(B * T * D);
      const r = await sumOf({ kind: 'gather', ids: 'ids', d: 'd' }, [V, D], B, { ids: new ort.Tensor('int64', ids, [B, T]), d: new ort.Tensor('float32', d, [B, T, D]) }, { oneHotMaxElements: limit });
      assert.ok(r.ops.includes(limit === 0 ? 'ScatterElements' : 'Gemm'), r.ops.join(','));
      const want = new Array<number>(V * D).fill(0);
      ids.forEach((id, i) => {
        for (let j = 0; j < D; j++) want[Number(id) * D + j] += d[i * D + j];
      });
      close(r.sum, want, B * T);
    });
  }
});
