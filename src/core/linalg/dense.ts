/**
 * Small dense matrices as flat row-major Float64Arrays (the layout the gradient engine hands over:
 * a P×P Hessian, an N×P matrix of per-example gradients). Only what the theory code needs; anything
 * that is a real decomposition goes through ml-matrix (see symmetric-eigen.ts, solve.ts).
 */

/** Throws a plain Error (a caller bug, not bad user input) unless `a` holds rows×cols finite numbers. */
export function checkShape(a: Float64Array, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`${what}: bad shape ${rows}×${cols}`);
  }
  if (a.length !== rows * cols) throw new Error(`${what}: expected ${rows}×${cols} = ${rows * cols} entries, got ${a.length}`);
}

/** Side length of a square matrix stored flat; throws when the length is not a perfect square. */
export function squareSide(a: Float64Array, what: string): number {
  const n = Math.round(Math.sqrt(a.length));
  if (n * n !== a.length) throw new Error(`${what}: ${a.length} entries is not a square matrix`);
  return n;
}

export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** C = A·B for A (m×k), B (k×n), all row-major. i-k-j loop order keeps the inner loop contiguous. */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
    }
  }
  return c;
}

export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** tr(A·B) for square n×n A, B without forming the product. */
export function traceOfProduct(a: Float64Array, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += a[i * n + j] * b[j * n + i];
  return s;
}

export function trace(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
}

/** Largest |a_ij − a_ji| relative to the largest |a_ij|: 0 for an exactly symmetric matrix. */
export function asymmetry(a: Float64Array, n: number): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i * n + j]));
      if (j > i) maxDiff = Math.max(maxDiff, Math.abs(a[i * n + j] - a[j * n + i]));
    }
  }
  return maxAbs === 0 ? 0 : maxDiff / maxAbs;
}

/**
 * Population covariance Σ = (1/N)·Σ_b (g_b − ḡ)(g_b − ḡ)ᵀ of the rows of G (N×P), and the mean ḡ
 * (THEORY.md notation: population normalisation).
 */
export function rowCovariance(g: Float64Array, nRows: number, nCols: number): { mean: Float64Array; cov: Float64Array } {
  checkShape(g, nRows, nCols, 'per-example gradients');
  const mean = new Float64Array(nCols);
  for (let b = 0; b < nRows; b++) for (let j = 0; j < nCols; j++) mean[j] += g[b * nCols + j];
  for (let j = 0; j < nCols; j++) mean[j] /= nRows;
  const cov = new Float64Array(nCols * nCols);
  const centred = new Float64Array(nCols);
  for (let b = 0; b < nRows; b++) {
    for (let j = 0; j < nCols; j++) centred[j] = g[b * nCols + j] - mean[j];
    // Upper triangle only; mirrored below.
    for (let i = 0; i < nCols; i++) {
      const ci = centred[i];
      if (ci === 0) continue;
      const row = i * nCols;
      for (let j = i; j < nCols; j++) cov[row + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < nCols; i++) {
    for (let j = i; j < nCols; j++) {
      const v = cov[i * nCols + j] / nRows;
      cov[i * nCols + j] = v;
      cov[j * nCols + i] = v;
    }
  }
  return { mean, cov };
}
