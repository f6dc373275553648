/**
 * The top eigenpairs of a symmetric operator known only through products x ↦ Hx (Hessian-vector products),
 * by Lanczos with full reorthogonalisation: every new vector is orthogonalised twice against the whole
 * basis (classical Gram–Schmidt, "twice is enough"), so finite-difference noise in the products cannot
 * make Ritz values repeat (the ghost eigenvalues of plain Lanczos). Memory m × P float64 for m steps.
 *
 * Stopping: after each step the Ritz values of the tridiagonal T_m give the classical residual bound
 * |β_m · s_{m,i}| for each top pair (exact arithmetic); when all k are below tolerance·|θ_1| / 2 the
 * caller computes the true residuals ‖Hy − θy‖ with one more product each (ritzResiduals).
 */
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { symmetricEigen } from '../linalg/symmetric-eigen';
import { dot, normalize, orthogonalizeAgainst, randomUnit } from './vectors';

export type Hvp = (v: Float64Array) => Promise<Float64Array>;

export interface LanczosOptions {
  k: number;
  /** Relative tolerance on the residual bound, relative to |θ_1|. */
  tolerance: number;
  /** Most Lanczos steps (each one product). */
  maxSteps: number;
  seed: number;
  token?: CancelToken;
  onStep?: (step: number, maxSteps: number, boundRel: number) => void;
}

export interface LanczosResult {
  /** Top-k Ritz values, descending. */
  values: number[];
  /** Ritz vectors, k rows of P (row i belongs to values[i]). */
  vectors: Float64Array[];
  /** |β_m s_{m,i}| / |θ_1| per pair: the residual bound at the last step. */
  bounds: number[];
  steps: number;
  /** Restarts after an invariant subspace was found (β ≈ 0). */
  restarts: number;
}

function ritz(alpha: number[], beta: number[], k: number): { values: number[]; s: number[][] } {
  const m = alpha.length;
  const T = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    T[i * m + i] = alpha[i];
    if (i + 1 < m) {
      T[i * m + i + 1] = beta[i];
      T[(i + 1) * m + i] = beta[i];
    }
  }
  const e = symmetricEigen(T, m);
  const values: number[] = [];
  const s: number[][] = [];
  for (let c = m - 1; c >= Math.max(0, m - k); c--) {
    values.push(e.values[c]);
    const col: number[] = new Array(m);
    for (let r = 0; r < m; r++) col[r] = e.vectors[r * m + c];
    s.push(col);
  }
  return { values, s };
}

export async function lanczosTop(hvp: Hvp, P: number, o: LanczosOptions): Promise<LanczosResult> {
  const k = Math.min(o.k, P);
  const maxSteps = Math.min(P, Math.max(o.maxSteps, k + 1));
  const Q: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let q = randomUnit(P, o.seed);
  let restarts = 0;
  let result: { values: number[]; s: number[][] } = { values: [], s: [] };
  let bounds: number[] = [];
  for (let step = 0; step < maxSteps; step++) {
    throwIfCancelled(o.token);
    Q.push(q);
    const r = await hvp(q);
    const a = dot(q, r);
    alpha.push(a);
    orthogonalizeAgainst(r, Q);
    orthogonalizeAgainst(r, Q);
    let b = Math.sqrt(dot(r, r));
    result = ritz(alpha, beta, k);
    const scale = Math.max(Math.abs(result.values[0]), 1e-300);
    bounds = result.s.map((s) => Math.abs(b * s[s.length - 1]) / scale);
    const worst = Math.max(...bounds);
    o.onStep?.(step + 1, maxSteps, worst);
    if (result.values.length >= k && worst < o.tolerance / 2) break;
    if (step + 1 === maxSteps) break;
    // An invariant subspace (β ≈ 0 against the operator's scale): continue from a fresh direction.
    if (b <= 1e-12 * Math.max(scale, Math.abs(a))) {
      const fresh = randomUnit(P, o.seed + 1000 + restarts++);
      orthogonalizeAgainst(fresh, Q);
      orthogonalizeAgainst(fresh, Q);
      b = 0;
      if (!normalize(fresh)) break;
      beta.push(0);
      q = fresh;
      continue;
    }
    beta.push(b);
    for (let i = 0; i < P; i++) r[i] /= b;
    q = r;
  }
  const vectors = result.s.map((s) => {
    const y = new Float64Array(P);
    s.forEach((c, j) => {
      const qj = Q[j];
      for (let i = 0; i < P; i++) y[i] += c * qj[i];
    });
    normalize(y);
    return y;
  });
  return { values: result.values, vectors, bounds, steps: alpha.length, restarts };
}

/** ‖H y_i − θ_i y_i‖ / |θ_1| with one product each; the products are returned too (VᵀHV from them). */
export async function ritzResiduals(hvp: Hvp, values: number[], vectors: Float64Array[], token?: CancelToken, onProgress?: ProgressFn): Promise<{ residuals: number[]; products: Float64Array[] }> {
  const scale = Math.max(Math.abs(values[0] ?? 0), 1e-300);
  const residuals: number[] = [];
  const products: Float64Array[] = [];
  for (let i = 0; i < vectors.length; i++) {
    throwIfCancelled(token);
    const hy = await hvp(vectors[i]);
    products.push(hy);
    let s = 0;
    for (let j = 0; j < hy.length; j++) {
      const d = hy[j] - values[i] * vectors[i][j];
      s += d * d;
    }
    residuals.push(Math.sqrt(s) / scale);
    onProgress?.({ fraction: (i + 1) / vectors.length, message: `residual ${i + 1}/${vectors.length}` });
  }
  return { residuals, products };
}
