/**
 * Stationary second moment of SGD, heavy ball and Nesterov on a quadratic model with multiplicative
 * per-example-curvature noise (THEORY.md §4), exact for a quadratic loss at every η below the
 * mean-square limit.
 *
 * The state z (e = Φ − Φ*, plus the momentum buffer v) follows z' = J z + u with
 *   J = J0 ⊗ I + K ⊗ Â,   u = c ⊗ ξ̂   (J0, K: s×s numbers, s = 1 for SGD, 2 with momentum),
 *   SGD:        J0 = [1],                 K = [−η],                 c = [−η]
 *   heavy ball: J0 = [[1, −ηβ], [0, β]],  K = [[−η(1−d), 0], [1−d, 0]], c = [−η(1−d), 1−d]
 *   Nesterov:   J0 = [[1, −ηβ²], [0, β]], K = [[−ηγ, 0], [1−d, 0]],      c = [−ηγ, 1−d], γ = 1 + β(1−d)
 * (PyTorch: v ← βv + (1−d)ĝ, Φ ← Φ − ηv, or Φ ← Φ − η(ĝ + βv) for Nesterov; Â includes +λI for coupled
 * weight decay). Its stationary second moment Z = E[zzᵀ] solves Z − E[J Z Jᵀ] = E[u uᵀ]
 * (THEORY.md §4, last paragraph); for SGD this is HS + SH − η[c1·mean_b A_bSA_b + c2·HSH] = ηfΣ after
 * dividing by η. The excess loss is ½ tr(H_measured · Z_ee).
 *
 * The system is solved densely over the s·k(s·k+1)/2 distinct entries of the symmetric Z (the map keeps
 * Z symmetric), so k must stay small (a few tens). The identity part I − J0⊗J0 is formed before the
 * η-dependent terms so that the O(η) system is not computed as 1 − (1 − O(η)) (no cancellation at
 * small η).
 */
import { CholeskyDecomposition, LuDecomposition, Matrix } from 'ml-matrix';
import { curvatureMoment, type BatchMoments, type QuadraticNoiseModel } from './quadratic-model';

export interface MomentumSetting {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

/** J = base ⊗ I + curvature ⊗ Â, u = noise ⊗ ξ̂ (see the file comment). */
export interface LinearRecursion {
  size: 1 | 2;
  base: number[][];
  curvature: number[][];
  noise: number[];
}

export function linearRecursion(m: MomentumSetting, eta: number): LinearRecursion {
  const beta = m.momentum;
  const d = m.dampening;
  // PyTorch ignores dampening when momentum is 0: plain SGD.
  if (beta === 0 && !m.nesterov) return { size: 1, base: [[1]], curvature: [[-eta]], noise: [-eta] };
  const gain = m.nesterov ? 1 + beta * (1 - d) : 1 - d;
  const vToE = m.nesterov ? -eta * beta * beta : -eta * beta;
  return {
    size: 2,
    base: [
      [1, vToE],
      [0, beta],
    ],
    curvature: [
      [-eta * gain, 0],
      [1 - d, 0],
    ],
    noise: [-eta * gain, 1 - d],
  };
}

/**
 * What does not depend on η: the stepped curvature H + λI, the sandwich coefficients
 * E[Â_s X Â_s]_ij = Σ_lm W[(i,j),(l,m)] X_lm with Â_s = Â + λI, the noise fΣ and the measured Hessian.
 */
export interface SecondMomentProblem {
  k: number;
  steppedHessian: Float64Array;
  sandwich: Float64Array;
  noise: Float64Array;
  measuredHessian: Float64Array;
}

/**
 * W = c1·mean_b A_b⊗A_b + c2·H⊗H + λ(I⊗H + H⊗I) + λ²I⊗I, entry [(i·k + j)·k² + l·k + m] multiplying X[l,m]
 * (expanding E[(Â + λI) X (Â + λI)]). The measured loss includes ½λ‖Φ‖² only when asked.
 */
export function secondMomentProblem(model: QuadraticNoiseModel, moments: BatchMoments, weightDecay: number, lossIncludesPenalty: boolean): SecondMomentProblem {
  const k = model.k;
  const k2 = k * k;
  const H = model.hessian;
  const lam = weightDecay;
  const sandwich = new Float64Array(k2 * k2);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      for (let l = 0; l < k; l++) {
        for (let m = 0; m < k; m++) {
          const idx = (i * k + j) * k2 + l * k + m;
          const dil = i === l ? 1 : 0;
          const dmj = m === j ? 1 : 0;
          sandwich[idx] =
            moments.perExampleWeight * curvatureMoment(model, i, l, m, j) +
            moments.meanWeight * H[i * k + l] * H[m * k + j] +
            lam * (dil * H[m * k + j] + H[i * k + l] * dmj) +
            lam * lam * dil * dmj;
        }
      }
    }
  }
  const shifted = (extra: number): Float64Array => H.map((v, idx) => (Math.floor(idx / k) === idx % k ? v + extra : v));
  return {
    k,
    steppedHessian: shifted(lam),
    sandwich,
    noise: model.noiseCov.map((v) => moments.noiseFactor * v),
    measuredHessian: shifted(lossIncludesPenalty ? lam : 0),
  };
}

/** (I − T) restricted to symmetric Z, over the unknowns Z[P,Q], P ≤ Q, P = a·k + i (block a, index i). */
function reducedSystem(p: SecondMomentProblem, r: LinearRecursion): { matrix: Matrix; pairs: [number, number][] } {
  const k = p.k;
  const k2 = k * k;
  const n = r.size * k;
  const pairs: [number, number][] = [];
  for (let P = 0; P < n; P++) for (let Q = P; Q < n; Q++) pairs.push([P, Q]);
  const H = p.steppedHessian;
  const W = p.sandwich;
  const J0 = r.base;
  const K = r.curvature;
  // Coefficient of Z[R,U] in T(Z)[P,Q], without the J0⊗J0 part (added separately, see file comment).
  const varying = (a: number, i: number, b: number, j: number, pb: number, l: number, qb: number, m: number): number => {
    let t = 0;
    if (i === l && K[b][qb] !== 0) t += J0[a][pb] * K[b][qb] * H[m * k + j];
    if (m === j && K[a][pb] !== 0) t += K[a][pb] * J0[b][qb] * H[i * k + l];
    if (K[a][pb] !== 0 && K[b][qb] !== 0) t += K[a][pb] * K[b][qb] * W[(i * k + j) * k2 + l * k + m];
    return t;
  };
  const fixed = (a: number, i: number, b: number, j: number, pb: number, l: number, qb: number, m: number): number => (i === l && j === m ? J0[a][pb] * J0[b][qb] : 0);
  const rows = pairs.map(([P, Q], row) => {
    const a = Math.floor(P / k);
    const i = P % k;
    const b = Math.floor(Q / k);
    const j = Q % k;
    return pairs.map(([R, U], col) => {
      const pb = Math.floor(R / k);
      const l = R % k;
      const qb = Math.floor(U / k);
      const m = U % k;
      let id = (row === col ? 1 : 0) - fixed(a, i, b, j, pb, l, qb, m);
      let rest = varying(a, i, b, j, pb, l, qb, m);
      if (R !== U) {
        id -= fixed(a, i, b, j, qb, m, pb, l);
        rest += varying(a, i, b, j, qb, m, pb, l);
      }
      return id - rest;
    });
  });
  return { matrix: new Matrix(rows), pairs };
}

/** Symmetric n×n (row-major) from the reduced unknowns. */
function unpack(x: number[], pairs: [number, number][], n: number): Float64Array {
  const z = new Float64Array(n * n);
  pairs.forEach(([P, Q], idx) => {
    z[P * n + Q] = x[idx];
    z[Q * n + P] = x[idx];
  });
  return z;
}

export interface StationaryMoment {
  /** E[zzᵀ], (s·k)×(s·k) row-major; the leading k×k block is E[eeᵀ]. */
  secondMoment: Float64Array;
  size: number;
  /** ½ tr(H_measured E[eeᵀ]). */
  excess: number;
}

/** Stationary second moment at η; null when the system is singular (η at the mean-square limit). */
export function stationarySecondMoment(p: SecondMomentProblem, m: MomentumSetting, eta: number): StationaryMoment | null {
  const r = linearRecursion(m, eta);
  const k = p.k;
  const n = r.size * k;
  const { matrix, pairs } = reducedSystem(p, r);
  const rhs = Matrix.columnVector(pairs.map(([P, Q]) => r.noise[Math.floor(P / k)] * r.noise[Math.floor(Q / k)] * p.noise[(P % k) * k + (Q % k)]));
  const lu = new LuDecomposition(matrix);
  if (lu.isSingular()) return null;
  const z = unpack(lu.solve(rhs).to1DArray(), pairs, n);
  let excess = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) excess += 0.5 * p.measuredHessian[i * k + j] * z[j * n + i];
  return { secondMoment: z, size: n, excess };
}

/**
 * Mean-square stability at η: for the positive map T(Z) = E[J Z Jᵀ], ρ(T) < 1 iff Z − T(Z) = I has a
 * positive-definite solution (Lyapunov: Z = Σ_t T^t(I) ≻ 0 when ρ < 1; conversely Z ≻ 0 with
 * T(Z) = Z − I ≺ Z forces ρ < 1). Tested by a Cholesky factorisation.
 */
export function isMeanSquareStable(p: SecondMomentProblem, m: MomentumSetting, eta: number): boolean {
  const r = linearRecursion(m, eta);
  const n = r.size * p.k;
  const { matrix, pairs } = reducedSystem(p, r);
  const lu = new LuDecomposition(matrix);
  if (lu.isSingular()) return false;
  const z = unpack(lu.solve(Matrix.columnVector(pairs.map(([P, Q]) => (P === Q ? 1 : 0)))).to1DArray(), pairs, n);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(z.subarray(i * n, (i + 1) * n)));
  return new CholeskyDecomposition(new Matrix(rows)).isPositiveDefinite();
}
