import { inverse, Matrix } from 'ml-matrix';

export interface LinearLeastSquares {
  /** Coefficients, in the order of the design matrix's columns. */
  beta: number[];
  /** Covariance of beta: (XᵀWX)⁻¹ (not scaled by the residual variance). */
  cov: number[][];
  /** Weighted residual sum of squares Σ w_i (y_i − x_iᵀβ)². */
  rss: number;
  residuals: number[];
}

/**
 * Weighted linear least squares y ≈ Xβ with weights w (w_i = 1/σ_i² gives the maximum-likelihood fit
 * for independent Gaussian errors, and then cov = (XᵀWX)⁻¹ is the exact covariance of β̂).
 * Solved through the normal equations: the design matrices here have 1–3 columns of modest range
 * (callers centre/scale η), so their conditioning is not a concern. Returns null when XᵀWX is singular.
 */
export function weightedLeastSquares(x: number[][], y: number[], w: number[]): LinearLeastSquares | null {
  const n = y.length;
  if (n === 0 || x.length !== n || w.length !== n) return null;
  const p = x[0].length;
  const xtwx: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const xtwy = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < p; a++) {
      xtwy[a] += w[i] * x[i][a] * y[i];
      for (let b = 0; b < p; b++) xtwx[a][b] += w[i] * x[i][a] * x[i][b];
    }
  }
  let inv: Matrix;
  try {
    inv = inverse(new Matrix(xtwx));
  } catch {
    return null;
  }
  const cov = inv.to2DArray();
  if (!cov.every((r) => r.every(Number.isFinite))) return null;
  // Reject a numerically singular system: the inverse must reproduce the identity.
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += xtwx[a][c] * cov[c][b];
      if (Math.abs(s - (a === b ? 1 : 0)) > 1e-6) return null;
    }
  }
  const beta = cov.map((row) => row.reduce((s, v, b) => s + v * xtwy[b], 0));
  const residuals = y.map((yi, i) => yi - x[i].reduce((s, v, a) => s + v * beta[a], 0));
  const rss = residuals.reduce((s, r, i) => s + w[i] * r * r, 0);
  return { beta, cov, rss, residuals };
}
