/**
 * Per-example projections on the eigenbasis V = (v_1 … v_k): v_iᵀg_b (n × k) and v_iᵀA_b v_j (n × k × k),
 * A_b = ∇²ℓ_b. Two ways, by what the model's engine offers:
 *
 * - `fromPerExampleGradients` (float64 Dense models): g_b exactly; A_b v_j by a central difference of the
 *   exact per-example gradients along v_j, (g_b(w+hv_j) − g_b(w−hv_j))/(2h), then symmetrised — error of the
 *   HVP step's order (~1e-9 relative), 2k gradient evaluations per example.
 * - `fromPerExampleLosses` (every other model): only forward passes. Along each v_i,
 *   ℓ_b(w ± hv_i) gives v_iᵀg_b = (ℓ₊ − ℓ₋)/(2h) and v_iᵀA_b v_i = (ℓ₊ − 2ℓ₀ + ℓ₋)/h²; along u = v_i + v_j,
 *   the same second difference gives (v_i + v_j)ᵀA_b(v_i + v_j), hence v_iᵀA_b v_j. 1 + 2k + k(k−1) forward
 *   passes in all. Float32 forward passes round ℓ_b at ~1e-7 relative, amplified by 1/h² in a second
 *   difference; truncation is ∝ h². h is chosen from a small difference table on v_1 (as in hvp.ts, with
 *   u^(1/4) at the centre, the optimum of a/h² + bh²), and its relative difference is reported.
 */
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { axpy } from './vectors';

export interface Projections {
  gradProj: Float64Array;
  curvature: Float64Array;
  /** The step and the table's relative difference (second-difference path). */
  step: number;
  relError: number;
  evaluations: number;
}

/** Exact penalty terms added to both: ∇R·v_i and v_iᵀ∇²R v_j (L2 penalties; L1 has no curvature). */
export interface PenaltyTerms {
  grad: Float64Array;
  /** Diagonal of ∇²R (2·l2 on penalised parameters, else 0). */
  hessDiag: Float64Array;
}

function addPenalty(V: Float64Array[], n: number, gradProj: Float64Array, curvature: Float64Array, pen?: PenaltyTerms): void {
  if (!pen) return;
  const k = V.length;
  const gp = V.map((v) => v.reduce((s, x, p) => s + x * pen.grad[p], 0));
  const hp = V.map((vi) => V.map((vj) => vi.reduce((s, x, p) => s + x * pen.hessDiag[p] * vj[p], 0)));
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < k; i++) {
      gradProj[b * k + i] += gp[i];
      for (let j = 0; j < k; j++) curvature[(b * k + i) * k + j] += hp[i][j];
    }
  }
}

export async function fromPerExampleLosses(
  losses: (w: Float64Array) => Promise<Float64Array>,
  w0: Float64Array,
  V: Float64Array[],
  pen: PenaltyTerms | undefined,
  token?: CancelToken,
  onProgress?: ProgressFn,
): Promise<Projections> {
  const k = V.length;
  const l0 = await losses(w0);
  const n = l0.length;
  let evaluations = 1;
  const second = (lp: Float64Array, lm: Float64Array, h: number, b: number) => (lp[b] - 2 * l0[b] + lm[b]) / (h * h);
  // The step: second differences along v_1 at h_c·{4, 1, 1/4}; the adjacent pair that agree best.
  const hc = Math.pow(2 ** -24, 1 / 4);
  const steps = [4 * hc, hc, hc / 4];
  const along = async (u: Float64Array, h: number) => {
    const lp = await losses(axpy(w0, h, u));
    const lm = await losses(axpy(w0, -h, u));
    evaluations += 2;
    return { lp, lm };
  };
  const table: Float64Array[] = [];
  for (const h of steps) {
    throwIfCancelled(token);
    const { lp, lm } = await along(V[0], h);
    table.push(Float64Array.from({ length: n }, (_, b) => second(lp, lm, h, b)));
  }
  const rel = (a: Float64Array, b: Float64Array) => {
    let d = 0;
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      d += (a[i] - b[i]) ** 2;
      s += a[i] * a[i];
    }
    return Math.sqrt(d / Math.max(s, 1e-300));
  };
  const diffs = [rel(table[0], table[1]), rel(table[1], table[2])];
  const pick = diffs[0] <= diffs[1] ? 0 : 1;
  const h = Math.sqrt(steps[pick] * steps[pick + 1]);
  const relError = diffs[pick];

  const gradProj = new Float64Array(n * k);
  const curvature = new Float64Array(n * k * k);
  const total = k + (k * (k - 1)) / 2;
  let done = 0;
  for (let i = 0; i < k; i++) {
    throwIfCancelled(token);
    const { lp, lm } = await along(V[i], h);
    for (let b = 0; b < n; b++) {
      gradProj[b * k + i] = (lp[b] - lm[b]) / (2 * h);
      curvature[(b * k + i) * k + i] = second(lp, lm, h, b);
    }
    onProgress?.({ fraction: ++done / total, message: `per-example curvature ${done}/${total}` });
  }
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      throwIfCancelled(token);
      const u = axpy(V[i], 1, V[j]);
      const { lp, lm } = await along(u, h);
      for (let b = 0; b < n; b++) {
        const cuu = second(lp, lm, h, b);
        const cij = (cuu - curvature[(b * k + i) * k + i] - curvature[(b * k + j) * k + j]) / 2;
        curvature[(b * k + i) * k + j] = cij;
        curvature[(b * k + j) * k + i] = cij;
      }
      onProgress?.({ fraction: ++done / total, message: `per-example curvature ${done}/${total}` });
    }
  }
  addPenalty(V, n, gradProj, curvature, pen);
  return { gradProj, curvature, step: h, relError, evaluations };
}

/**
 * `grads(w, b, out)` writes ∇ℓ_b(w) (penalties included) for example `rows[b]`. Exact float64 engines.
 */
export async function fromPerExampleGradients(
  grads: (w: Float64Array, row: number, out: Float64Array) => void,
  rows: Int32Array,
  w0: Float64Array,
  V: Float64Array[],
  step: number,
  token?: CancelToken,
  onProgress?: ProgressFn,
): Promise<Projections> {
  const k = V.length;
  const n = rows.length;
  const P = w0.length;
  const g = new Float64Array(P);
  const gm = new Float64Array(P);
  const gradProj = new Float64Array(n * k);
  const curvature = new Float64Array(n * k * k);
  const project = (x: Float64Array, i: number) => {
    let s = 0;
    const v = V[i];
    for (let p = 0; p < P; p++) s += v[p] * x[p];
    return s;
  };
  for (let b = 0; b < n; b++) {
    grads(w0, rows[b], g);
    for (let i = 0; i < k; i++) gradProj[b * k + i] = project(g, i);
  }
  for (let j = 0; j < k; j++) {
    throwIfCancelled(token);
    const wp = axpy(w0, step, V[j]);
    const wm = axpy(w0, -step, V[j]);
    for (let b = 0; b < n; b++) {
      grads(wp, rows[b], g);
      grads(wm, rows[b], gm);
      for (let p = 0; p < P; p++) g[p] = (g[p] - gm[p]) / (2 * step);
      for (let i = 0; i < k; i++) curvature[(b * k + i) * k + j] = project(g, i);
    }
    onProgress?.({ fraction: (j + 1) / k, message: `per-example curvature ${j + 1}/${k}` });
    await new Promise((r) => setImmediate(r));
  }
  // A_b is symmetric; the two difference estimates of v_iᵀA_b v_j differ only by rounding.
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const a = (b * k + i) * k + j;
        const c = (b * k + j) * k + i;
        const s = (curvature[a] + curvature[c]) / 2;
        curvature[a] = s;
        curvature[c] = s;
      }
    }
  }
  return { gradProj, curvature, step, relError: 0, evaluations: n * (1 + 2 * k) };
}
