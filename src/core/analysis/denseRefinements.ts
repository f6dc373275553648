/**
 * Hessian and per-example gradients for models made only of Dense layers, in float64 with the sweep
 * lab's pure-JS engine (src/core/lab/dense-f64.ts). TensorFlow.js needs ~4P float32 passes with
 * Richardson extrapolation for the same Hessian (src/core/gradnorm/exact.ts); in float64 one central
 * difference of exact gradients is accurate to ~1e-9 relative and far cheaper per pass, which turns the
 * reshuffling prediction of the digits demo from ~20 s into about a second.
 */
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { HeatcapError } from '../errors';
import { openLab } from '../lab/open';
import type { BackendPref } from '../tf/backend';
import type { PredictExtras } from '../theory/predict';

export interface DenseRefinementInput {
  model: string;
  data: string;
  labels?: string;
  loss?: string;
  backend?: BackendPref;
}

/**
 * `null` when the model is not eligible for the float64 engine (the caller then uses TensorFlow.js).
 * Both matrices include the model's own weight penalties: they are part of ℓ_b, so SGD's dynamics see
 * their curvature, and they shift every g_b by the same vector (Σ is unchanged).
 */
export async function denseF64Refinements(o: DenseRefinementInput, token?: CancelToken, onProgress?: ProgressFn): Promise<PredictExtras | null> {
  let opened: Awaited<ReturnType<typeof openLab>>;
  try {
    opened = await openLab({ model: o.model, data: { data: o.data, labels: o.labels }, loss: o.loss, engine: 'dense-f64', backend: o.backend ?? 'auto', batchSize: 1 });
  } catch (e) {
    if (e instanceof HeatcapError && /dense-f64 engine cannot/.test(e.what)) return null;
    throw e;
  }
  const m = opened.model;
  try {
    const P = m.paramCount;
    const N = m.n;
    const w = Float64Array.from(opened.initial);
    onProgress?.({ fraction: 0, message: `per-example gradients (${N} × ${P}, float64)` });
    const perExample = new Float64Array(N * P);
    const one = new Int32Array(1);
    const g = new Float64Array(P);
    for (let b = 0; b < N; b++) {
      one[0] = b;
      m.batchLossGrad(w, one, g);
      perExample.set(g, b * P);
    }
    throwIfCancelled(token);
    onProgress?.({ fraction: 0.1, message: `Hessian (${P} × ${P}, float64)` });
    const all = Int32Array.from({ length: N }, (_, i) => i);
    const plus = new Float64Array(P);
    const minus = new Float64Array(P);
    const H = new Float64Array(P * P);
    for (let i = 0; i < P; i++) {
      // Central difference of the exact mean gradient: truncation O(h²) ≈ 1e-10, rounding ≈ 1e-16/h.
      const h = 1e-5 * Math.max(1, Math.abs(opened.initial[i]));
      w[i] = opened.initial[i] + h;
      m.batchLossGrad(w, all, plus);
      w[i] = opened.initial[i] - h;
      m.batchLossGrad(w, all, minus);
      w[i] = opened.initial[i];
      for (let j = 0; j < P; j++) H[j * P + i] = (plus[j] - minus[j]) / (2 * h);
      if (i % 64 === 63) {
        throwIfCancelled(token);
        onProgress?.({ fraction: 0.1 + (0.9 * (i + 1)) / P, message: `Hessian column ${i + 1}/${P}` });
        await new Promise((r) => setImmediate(r));
      }
    }
    for (let i = 0; i < P; i++) {
      for (let j = i + 1; j < P; j++) {
        const s = (H[i * P + j] + H[j * P + i]) / 2;
        H[i * P + j] = s;
        H[j * P + i] = s;
      }
    }
    return { hessian: H, perExampleGrads: perExample };
  } finally {
    m.dispose();
  }
}
