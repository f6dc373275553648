import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { asymmetry, checkShape } from './dense';

export interface SymmetricEigen {
  n: number;
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** n×n row-major; column k (entries vectors[i*n + k]) is the unit eigenvector of values[k]. */
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of a symmetric matrix (flat row-major), through ml-matrix's Householder
 * tridiagonalisation + implicit QL (the JAMA algorithm). The input is symmetrised first, so tiny
 * round-off asymmetry from a Hessian computed by automatic differentiation is harmless; a matrix that
 * is clearly not symmetric (relative asymmetry > 1e-6) is a caller bug and throws.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  checkShape(a, n, n, 'symmetric matrix');
  const asym = asymmetry(a, n);
  if (asym > 1e-6) throw new Error(`symmetric matrix: relative asymmetry ${asym.toExponential(2)} is too large`);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = new Array<number>(n);
    for (let j = 0; j < n; j++) r[j] = 0.5 * (a[i * n + j] + a[j * n + i]);
    rows.push(r);
  }
  const dec = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const vals = dec.realEigenvalues;
  const vecs = dec.eigenvectorMatrix;
  const order = vals.map((_, i) => i).sort((x, y) => vals[x] - vals[y]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = vals[src];
    for (let i = 0; i < n; i++) vectors[i * n + k] = vecs.get(i, src);
  });
  return { n, values, vectors };
}

/** Largest eigenvalue of a symmetric matrix. */
export function largestEigenvalue(a: Float64Array, n: number): number {
  const e = symmetricEigen(a, n);
  return e.values[n - 1];
}
