/**
 * Least-squares problems for the exact oracle (THEORY.md §4): ℓ_b(w) = ½(x_bᵀw − y_b)² (+ ½λ‖w‖² when
 * the optimiser's weight decay is part of the loss). Everything here is computed by naive loops from
 * the definitions, independently of the product's code.
 */
import { Matrix, solve } from 'ml-matrix';
import { Rng } from './rng';

export interface LsqProblem {
  /** N rows of d features. */
  X: number[][];
  y: number[];
}

/** THEORY.md §4.1: N = 6, d = 2. */
export const GOLDEN_PROBLEM: LsqProblem = {
  X: [
    [1, 0],
    [0, 1],
    [1, 1],
    [2, -1],
    [-1, 2],
    [1, -2],
  ],
  y: [1, 2, 2, 0, 3, -1],
};

/** A seeded random problem: Gaussian features, y = Xw₀ + noise (so the optimum has loss > 0). */
export function randomLsqProblem(seed: number, n = 40, d = 4, noise = 0.5): LsqProblem {
  const rng = new Rng(seed);
  const w0 = Array.from({ length: d }, () => rng.normal());
  const X = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
  const y = X.map((x) => x.reduce((s, v, j) => s + v * w0[j], 0) + noise * rng.normal());
  return { X, y };
}

export interface LsqStats {
  n: number;
  d: number;
  /** A_b = x_b x_bᵀ (+ λI when the penalty is in the per-example loss). */
  A: number[][][];
  /** c_b = x_b y_b. */
  c: number[][];
  /** Hessian of the data loss, mean_b x_b x_bᵀ. */
  Hdata: number[][];
  /** Hessian of the loss SGD steps on: Hdata + λI. */
  H: number[][];
  wStar: number[];
  /** Loss SGD steps on (with penalty) at w*. */
  Lstar: number;
  /** Data loss at w*. */
  LdataStar: number;
  /** Per-example gradients of the stepped loss at w* (they sum to zero). */
  g: number[][];
  /** Σ = mean_b g_b g_bᵀ (population normalisation; ḡ = 0). */
  Sigma: number[][];
  /** Per-example gradients of the data loss at w*. */
  gData: number[][];
}

const zeros = (r: number, c: number): number[][] => Array.from({ length: r }, () => new Array<number>(c).fill(0));

/** Optimum and per-example statistics with coupled L2 weight decay λ (λ = 0: plain least squares). */
export function lsqStats(p: LsqProblem, lambda = 0): LsqStats {
  const n = p.X.length;
  const d = p.X[0].length;
  const A = p.X.map((x) => x.map((xi, i) => x.map((xj, j) => xi * xj + (i === j ? lambda : 0))));
  const c = p.X.map((x, b) => x.map((xi) => xi * p.y[b]));
  const Hdata = zeros(d, d);
  const H = zeros(d, d);
  const cbar = new Array<number>(d).fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < d; i++) {
      cbar[i] += c[b][i] / n;
      for (let j = 0; j < d; j++) {
        H[i][j] += A[b][i][j] / n;
        Hdata[i][j] += (p.X[b][i] * p.X[b][j]) / n;
      }
    }
  }
  const wStar = solve(new Matrix(H), Matrix.columnVector(cbar)).to1DArray();
  const resid = p.X.map((x, b) => x.reduce((s, v, j) => s + v * wStar[j], 0) - p.y[b]);
  const LdataStar = resid.reduce((s, r) => s + 0.5 * r * r, 0) / n;
  const Lstar = LdataStar + 0.5 * lambda * wStar.reduce((s, v) => s + v * v, 0);
  const gData = p.X.map((x, b) => x.map((xi) => xi * resid[b]));
  const g = gData.map((gb) => gb.map((v, i) => v + lambda * wStar[i]));
  const Sigma = zeros(d, d);
  for (const gb of g) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) Sigma[i][j] += (gb[i] * gb[j]) / n;
  return { n, d, A, c, Hdata, H, wStar, Lstar, LdataStar, g, Sigma, gData };
}

/** Row-major flat copy, the layout the product's theory code takes. */
export function flat(m: number[][]): Float64Array {
  return Float64Array.from(m.flat());
}
