/**
 * Per-example projections on the eigenbasis V = (v_1 … v_k): v_iᵀg_b (n × k) and v_iᵀA_b v_j (n × k × k),
 * A_b = ∇²ℓ_b. Both from one primitive, V·g_b(w) for every example at a parameter point w:
 *   v_iᵀg_b            = (V·g_b(w₀))_i,
 *   v_iᵀA_b v_j        ≈ (V·g_b(w₀ + hv_j) − V·g_b(w₀ − hv_j))_i / (2h), then symmetrised,
 * with the Hessian-vector products' step h (hvp.ts), so the per-example values average exactly to the
 * full-batch ones (mean_b v_iᵀA_b v_j = v_iᵀHv_j up to rounding): 1 + 2k gradient evaluations per example.
 * Float64 Dense models: exact gradients, error ~1e-9. Other models: float32 (the vectorised projection
 * program, projection-program.ts, or the batch-1 gradient program), the same error as the products (the
 * step table's estimate).
 * Where the ONNX path has exact products, v_iᵀA_b v_j come exact instead: the projection program
 * transformed forward-mode (projection-program.ts, jvp/), its tangent along v_j (`along`): 1 + k
 * evaluations per example, no kinks crossed.
 * Second differences of per-example losses (forward passes only) were tried first and dropped: in float32
 * their rounding ∝ 1/h² forces h ≈ 1e-2, where ReLU/MaxPool kinks make 5–15 % errors (digits MLP).
 */
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { axpy } from './vectors';

export interface Projections {
  gradProj: Float64Array;
  curvature: Float64Array;
  step: number;
  /** Gradient evaluations per example (exact: one tangent evaluation per direction). */
  evaluationsPerExample: number;
  /** Whether v_iᵀA_b v_j are exact (forward-mode) rather than differences. */
  exact: boolean;
}

/** `project(w)`: V·g_b(w) for every example (n × k row-major), the model's penalties included. */
export type ProjectFn = (w: Float64Array, V: Float64Array[]) => Promise<Float64Array>;

/**
 * `along(V, t)`: v_iᵀA_b t for every example (n × k row-major), exact (forward-mode), penalties excluded;
 * null where the source cannot (then the differences run, for every j).
 */
export type CurvatureAlongFn = (V: Float64Array[], t: Float64Array) => Promise<Float64Array | null>;

export async function perExampleProjections(project: ProjectFn, w0: Float64Array, V: Float64Array[], step: number, token?: CancelToken, onProgress?: ProgressFn, along?: CurvatureAlongFn): Promise<Projections> {
  const k = V.length;
  const gradProj = await project(w0, V);
  const n = gradProj.length / k;
  const curvature = new Float64Array(n * k * k);
  let exact = !!along;
  for (let j = 0; j < k; j++) {
    throwIfCancelled(token);
    const col = exact ? await along!(V, V[j]) : null;
    if (j === 0 && !col) exact = false;
    if (col) {
      // Exact: the projection program's tangent along v_j (one run per example chunk).
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < k; i++) curvature[(b * k + i) * k + j] = col[b * k + i];
      }
      onProgress?.({ fraction: (j + 1) / k, message: `per-example curvature along v_${j + 1} of ${k}` });
      continue;
    }
    const plus = await project(axpy(w0, step, V[j]), V);
    const minus = await project(axpy(w0, -step, V[j]), V);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < k; i++) curvature[(b * k + i) * k + j] = (plus[b * k + i] - minus[b * k + i]) / (2 * step);
    }
    onProgress?.({ fraction: (j + 1) / k, message: `per-example curvature along v_${j + 1} of ${k}` });
  }
  // A_b is symmetric: the two difference estimates of v_iᵀA_b v_j differ only by the differences' error.
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
  return { gradProj, curvature, step, evaluationsPerExample: exact ? 1 + k : 1 + 2 * k, exact };
}

/** Adds the exact penalty terms: v_iᵀ∇R (to every v_iᵀg_b) and v_iᵀ diag(∇²R) v_j (to every A_b). */
export function addPenalty(V: Float64Array[], proj: Projections, grad: Float64Array, hessDiag: Float64Array): void {
  const k = V.length;
  const n = proj.gradProj.length / k;
  const gp = V.map((v) => v.reduce((s, x, p) => s + x * grad[p], 0));
  const hp = V.map((vi) => V.map((vj) => vi.reduce((s, x, p) => s + x * hessDiag[p] * vj[p], 0)));
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < k; i++) {
      proj.gradProj[b * k + i] += gp[i];
      for (let j = 0; j < k; j++) proj.curvature[(b * k + i) * k + j] += hp[i][j];
    }
  }
}
