import * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../../errors';
import type { ForwardHooks, LayerRule, Want, WeightResult } from './types';

/**
 * Embedding: example b's gradient has one non-zero row per distinct token id v, the sum of δ_bt over
 * the positions t holding v (PERFORMANCE-NOTES.md: group equal ids per example; no V-sized tensor per
 * example). The grouping runs in JS on the downloaded ids and δ: cost ∝ B·T·D.
 */
export function embeddingRule(config: Record<string, unknown>, layerName: string): LayerRule {
  const V = Number(config.inputDim);
  const Dm = Number(config.outputDim);
  return {
    forward([ids], [E], hooks: ForwardHooks) {
      const idx = ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32');
      hooks.save(ids);
      const z = tf.gather(E, idx.reshape([-1])).reshape([...ids.shape, Dm]);
      return hooks.tap(z);
    },
    contributions([ids], delta, _w, [r], want: Want): WeightResult[] {
      const B = ids.shape[0];
      const idv = ids.dataSync();
      const dv = delta.dataSync();
      const T = idv.length / B;
      const rv = r?.dataSync();
      const sq = new Float64Array(B);
      const cross = rv ? new Float64Array(B) : undefined;
      const sum = want.sum ? new Float64Array(V * Dm) : undefined;
      const sumSq = want.sumSq ? new Float64Array(V * Dm) : undefined;
      const rows = new Float64Array(T * Dm);
      const slot = new Map<number, number>();
      for (let b = 0; b < B; b++) {
        slot.clear();
        rows.fill(0, 0, T * Dm);
        for (let t = 0; t < T; t++) {
          const v = idv[b * T + t];
          if (!Number.isInteger(v) || v < 0 || v >= V) {
            throw new HeatcapError(undefined, `example ${b} (in this chunk): token id ${v} is outside embedding '${layerName}' (0..${V - 1})`);
          }
          let s = slot.get(v);
          if (s === undefined) {
            s = slot.size;
            slot.set(v, s);
          }
          const src = (b * T + t) * Dm;
          for (let k = 0; k < Dm; k++) rows[s * Dm + k] += dv[src + k];
        }
        let acc = 0;
        let cr = 0;
        for (const [v, s] of slot) {
          for (let k = 0; k < Dm; k++) {
            const x = rows[s * Dm + k];
            acc += x * x;
            if (rv) cr += x * rv[v * Dm + k];
            if (sum) sum[v * Dm + k] += x;
            if (sumSq) sumSq[v * Dm + k] += x * x;
          }
        }
        sq[b] = acc;
        if (cross) cross[b] = cr;
      }
      return [{ sq, cross, sum, sumSq }];
    },
    describe: () => 'embedding: ids grouped per example',
  };
}
