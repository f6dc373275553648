/**
 * Hessian-vector products by central differences of a full-batch gradient, Hv ≈ (g(w+εv) − g(w−εv))/(2ε),
 * and the choice of ε. The error has two parts: truncation ∝ ε² (third derivatives) and rounding of the
 * gradient ∝ 1/ε (float32 programs: ~1e-7 of the per-example gradients' scale, plus the float32 rounding
 * of w ± εv itself). Neither constant is known in advance, so ε is chosen from a difference table: Hv is
 * formed at steps ε_j = c·4^(2−j), j = 0…6, around c = u^(1/3) (u the unit round-off; the optimum of the
 * model error a/ε + bε² for smooth losses; ReLU/MaxPool kinks make the loss only piecewise smooth along a
 * line, and then steps far below c, where no kink is crossed, are the accurate ones) along a probe direction with large top-eigen content, and the adjacent pair that agree best
 * fixes ε (their geometric mean) and the error estimate (their relative difference; at the balanced pair
 * it bounds both parts).
 */
import { throwIfCancelled, type CancelToken } from '../cancel';
import type { Hvp } from './lanczos';
import { axpy, norm, normalize, randomUnit } from './vectors';

export type GradientFn = (w: Float64Array) => Promise<Float64Array>;

export function centralHvp(grad: GradientFn, w0: Float64Array, step: number, exactPart?: (v: Float64Array, out: Float64Array) => void): Hvp {
  return async (v) => {
    const plus = await grad(axpy(w0, step, v));
    const minus = await grad(axpy(w0, -step, v));
    const out = new Float64Array(w0.length);
    const inv = 1 / (2 * step);
    for (let i = 0; i < out.length; i++) out[i] = (plus[i] - minus[i]) * inv;
    exactPart?.(v, out);
    return out;
  };
}

export interface StepChoice {
  step: number;
  relError: number;
  /** The table: step ε_j and ‖D(ε_j) − D(ε_{j+1})‖ / ‖D(ε_j)‖. */
  table: { step: number; relDiff: number }[];
  /** Gradient evaluations spent. */
  gradients: number;
}

export async function chooseStep(grad: GradientFn, w0: Float64Array, unitRoundoff: number, seed: number, token?: CancelToken): Promise<StepChoice> {
  const c = Math.cbrt(unitRoundoff);
  const steps = [16, 4, 1, 1 / 4, 1 / 16, 1 / 64, 1 / 256].map((f) => c * f);
  let gradients = 0;
  // Probe: H·(random), normalised — mostly the top eigen-directions, where the error matters.
  const probe = await centralHvp(grad, w0, c)(randomUnit(w0.length, seed));
  gradients += 2;
  if (!normalize(probe)) probe.set(randomUnit(w0.length, seed + 1));
  const D: Float64Array[] = [];
  for (const s of steps) {
    throwIfCancelled(token);
    D.push(await centralHvp(grad, w0, s)(probe));
    gradients += 2;
  }
  const table = steps.slice(0, -1).map((s, j) => {
    const d = new Float64Array(w0.length);
    for (let i = 0; i < d.length; i++) d[i] = D[j][i] - D[j + 1][i];
    return { step: s, relDiff: norm(d) / Math.max(norm(D[j]), 1e-300) };
  });
  let best = 0;
  table.forEach((t, j) => {
    if (t.relDiff < table[best].relDiff) best = j;
  });
  return { step: Math.sqrt(steps[best] * steps[best + 1]), relError: table[best].relDiff, table, gradients };
}
