/** Small float64 vector helpers for the curvature module (P-long parameter vectors). */
import { mulberry32 } from '../random';

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** Scales to unit length in place; false when the vector is (numerically) zero. */
export function normalize(a: Float64Array): boolean {
  const n = norm(a);
  if (!(n > 0)) return false;
  for (let i = 0; i < a.length; i++) a[i] /= n;
  return true;
}

/** a ← a − Σ_q ⟨a, q⟩ q for orthonormal q (one classical Gram–Schmidt sweep). */
export function orthogonalizeAgainst(a: Float64Array, basis: Float64Array[]): void {
  const c = basis.map((q) => dot(a, q));
  basis.forEach((q, j) => {
    const cj = c[j];
    for (let i = 0; i < a.length; i++) a[i] -= cj * q[i];
  });
}

/** A reproducible random unit vector (Gaussian entries by Box–Muller). */
export function randomUnit(P: number, seed: number): Float64Array {
  const rand = mulberry32(seed >>> 0);
  const v = new Float64Array(P);
  for (let i = 0; i < P; i += 2) {
    const u1 = Math.max(rand(), 1e-300);
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    v[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < P) v[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  normalize(v);
  return v;
}

/** w + t·v as a new vector. */
export function axpy(w: Float64Array, t: number, v: Float64Array): Float64Array {
  const out = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = w[i] + t * v[i];
  return out;
}
