/**
 * Plain SGD in closed form over η (THEORY.md §4): dividing the second-moment equation by η gives
 *   L(S) − η M(S) = η f Σ,   L(S) = H_s S + S H_s,   M(S) = E[Â_s S Â_s]   (H_s, Â_s with + λI),
 * with L and M self-adjoint on symmetric matrices (Frobenius inner product) and L positive definite
 * when H_s is. With L = R Rᵀ (Cholesky) and R⁻¹ M R⁻ᵀ = U diag(μ) Uᵀ, for every η
 *   L(η) − L* = ½⟨H_measured, S⟩ = (η/2) Σ_i α_i γ_i / (1 − η μ_i),   α = Uᵀ R⁻¹ fΣ,  γ = Uᵀ R⁻¹ H_measured,
 * and the mean-square limit is exactly η_MS = 1/μ_max: the second-moment map I − ηL + η²M is positive,
 * so its spectral radius first reaches 1 as the eigenvalue 1, i.e. where L − ηM becomes singular.
 * One symmetric eigen-decomposition of size k(k+1)/2 then serves the limit and the whole curve.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { symmetricEigen } from '../linalg/symmetric-eigen';
import type { SecondMomentProblem } from './second-moment';

export interface SgdSpectralSolution {
  /** 1/μ_max; null when M vanishes (no curvature at all). */
  meanSquareLimit: number | null;
  /** L(η) − L* for 0 ≤ η < meanSquareLimit. */
  excess: (eta: number) => number;
}

/** Coordinates of a symmetric k×k matrix in the orthonormal basis E_ii, (E_ij + E_ji)/√2 (i < j). */
function symmetricCoordinates(y: Float64Array, k: number): Float64Array {
  const out = new Float64Array((k * (k + 1)) / 2);
  let u = 0;
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) out[u++] = i === j ? y[i * k + i] : (y[i * k + j] + y[j * k + i]) / Math.SQRT2;
  return out;
}

/** x = R⁻¹ b for lower-triangular R (row-major r×r). */
function forwardSubstitute(R: Float64Array, b: Float64Array, r: number): Float64Array {
  const x = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = b[i];
    for (let j = 0; j < i; j++) s -= R[i * r + j] * x[j];
    x[i] = s / R[i * r + i];
  }
  return x;
}

/** Null when the stepped Hessian is not positive definite in the subspace (L singular). */
export function sgdSpectralSolution(p: SecondMomentProblem): SgdSpectralSolution | null {
  const k = p.k;
  const r = (k * (k + 1)) / 2;
  const k2 = k * k;
  const L = new Float64Array(r * r);
  const M = new Float64Array(r * r);
  const basis = new Float64Array(k2);
  const image = new Float64Array(k2);
  let v = 0;
  for (let l = 0; l < k; l++) {
    for (let m = l; m < k; m++, v++) {
      basis.fill(0);
      const w = l === m ? 1 : Math.SQRT1_2;
      basis[l * k + m] = w;
      basis[m * k + l] = w;
      // L(B_v) = H_s B_v + B_v H_s
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) image[i * k + j] = w * ((j === m ? p.steppedHessian[i * k + l] : 0) + (l !== m && j === l ? p.steppedHessian[i * k + m] : 0) + (i === l ? p.steppedHessian[m * k + j] : 0) + (l !== m && i === m ? p.steppedHessian[l * k + j] : 0));
      symmetricCoordinates(image, k).forEach((x, u) => (L[u * r + v] = x));
      // M(B_v)_ij = Σ_lm W[(i,j),(l,m)] B_v[l,m]
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const row = (i * k + j) * k2;
          image[i * k + j] = w * (p.sandwich[row + l * k + m] + (l !== m ? p.sandwich[row + m * k + l] : 0));
        }
      }
      symmetricCoordinates(image, k).forEach((x, u) => (M[u * r + v] = x));
    }
  }
  // Self-adjoint in exact arithmetic; remove the round-off asymmetry the Cholesky check would refuse.
  for (const a of [L, M]) for (let i = 0; i < r; i++) for (let j = i + 1; j < r; j++) a[i * r + j] = a[j * r + i] = 0.5 * (a[i * r + j] + a[j * r + i]);
  const rows = (a: Float64Array): number[][] => Array.from({ length: r }, (_, i) => Array.from(a.subarray(i * r, (i + 1) * r)));
  const chol = new CholeskyDecomposition(new Matrix(rows(L)));
  if (!chol.isPositiveDefinite()) return null;
  const R = Float64Array.from(chol.lowerTriangularMatrix.to1DArray());
  // C = R⁻¹ M R⁻ᵀ: X = R⁻¹ M column by column (M symmetric, so rows of M are its columns), then C = R⁻¹ Xᵀ.
  const X = new Float64Array(r * r);
  for (let c = 0; c < r; c++) forwardSubstitute(R, M.subarray(c * r, (c + 1) * r), r).forEach((x, i) => (X[i * r + c] = x));
  const C = new Float64Array(r * r);
  for (let c = 0; c < r; c++) forwardSubstitute(R, X.subarray(c * r, (c + 1) * r), r).forEach((x, i) => (C[i * r + c] = x));
  for (let i = 0; i < r; i++) for (let j = i + 1; j < r; j++) C[i * r + j] = C[j * r + i] = 0.5 * (C[i * r + j] + C[j * r + i]);
  const eig = symmetricEigen(C, r);
  const a = forwardSubstitute(R, symmetricCoordinates(p.noise, k), r);
  const g = forwardSubstitute(R, symmetricCoordinates(p.measuredHessian, k), r);
  const weights = new Float64Array(r);
  for (let c = 0; c < r; c++) {
    let ua = 0;
    let ug = 0;
    for (let i = 0; i < r; i++) {
      ua += eig.vectors[i * r + c] * a[i];
      ug += eig.vectors[i * r + c] * g[i];
    }
    weights[c] = ua * ug;
  }
  const muMax = eig.values[r - 1];
  return {
    meanSquareLimit: muMax > 0 ? 1 / muMax : null,
    excess: (eta) => {
      let s = 0;
      for (let c = 0; c < r; c++) s += weights[c] / (1 - eta * eig.values[c]);
      return 0.5 * eta * s;
    },
  };
}
