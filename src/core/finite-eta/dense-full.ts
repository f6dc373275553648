/**
 * Full-parameter second moment for one Dense layer with a softmax-type loss (THEORY.md §6), plain SGD:
 * every parameter, no subspace. Logits z_b = W̃ x̃_b (W̃: C × F, x̃_b with a trailing 1 when the layer has
 * a bias), parameters Φ = W̃ row-major (index c·F + f, P = C·F). Per-example Hessian and gradient:
 *   A_b = J_bᵀ K_b J_b + D,  J_b = I_C ⊗ x̃_bᵀ,  K_b = ∂²ℓ_b/∂z²,  g_b = r_b ⊗ x̃_b (+ penalty gradient),
 * D the diagonal curvature of the model's own penalties (plus λ for coupled weight decay when stepping).
 *
 * Equation (§4): L(S) − η M(S) = η f Σ, L(S) = H S + S H, M(S) = c1 mean_b A_b S A_b + c2 H S H, solved
 * by the fixed-point iteration S ← L⁻¹(η f Σ + η M(S)) with L⁻¹ diagonal in H's eigenbasis
 * (S̃_ij = R̃_ij / (h_i + h_j)). The iteration contracts at rate η μ_max, μ_max = 1/η_MS, so it converges
 * for every η below the mean-square limit (digits softmax regression: 5–50 iterations at η ≤ 0.8·η_MS).
 * Directions with h_i + h_j ≈ 0 (e.g. the sum of the biases under softmax) carry no noise and no
 * curvature and are left at 0. The structure keeps mean_b A_b S A_b at O(N·C²·F²) per iteration instead
 * of N·P³; the two basis changes cost 4P³. Momentum is not modelled here (use the subspace solve).
 */
import { transpose } from '../linalg/dense';
import { gemm, gemmRowMajor } from '../linalg/gemm';
import { symmetricEigen } from '../linalg/symmetric-eigen';
import { cpuSeconds } from './cpu-clock';
import { batchMoments } from './quadratic-model';
import type { DenseLayerCurvature, SgdDynamics, SubspaceCurvature } from './types';

export type { DenseLayerCurvature } from './types';

/** C = A·B (m×k times k×n) for the small C×C products, four rows of B at a time. The P-sized products go through gemm (../linalg/gemm). */
function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  const k4 = k - (k % 4);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    const ai = i * k;
    let p = 0;
    for (; p < k4; p += 4) {
      const a0 = a[ai + p];
      const a1 = a[ai + p + 1];
      const a2 = a[ai + p + 2];
      const a3 = a[ai + p + 3];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const b0 = p * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let j = 0; j < n; j++) c[ci + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
    }
    for (; p < k; p++) {
      const ap = a[ai + p];
      if (ap === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j] += ap * b[bp + j];
    }
  }
  return c;
}

/** Σ_k x[xo + k]·y[yo + k] over len entries, four accumulators. */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += x[xo + k] * y[yo + k];
    s1 += x[xo + k + 1] * y[yo + k + 1];
    s2 += x[xo + k + 2] * y[yo + k + 2];
    s3 += x[xo + k + 3] * y[yo + k + 3];
  }
  for (; k < len; k++) s0 += x[xo + k] * y[yo + k];
  return s0 + s1 + s2 + s3;
}


export interface DenseFullOptions {
  /** Stop when ‖ΔS‖_F ≤ tolerance·‖S‖_F (default 1e-10). */
  tolerance?: number;
  maxIterations?: number;
  /** Whether the measured loss includes ½λ‖Φ‖² of coupled weight decay (default false). */
  lossIncludesPenalty?: boolean;
}

export interface DenseFullResult {
  excess: number;
  iterations: number;
  converged: boolean;
}

/**
 * The per-example terms as two matrix products over the pair products x̃_b[f]·x̃_b[f'] (f ≤ f', F(F+1)/2 of
 * them per example): Π[b, (f,f')] = x̃_b[f] x̃_b[f'], built for a chunk of examples at a time (at most
 * PAIR_CHUNK_ENTRIES entries). The output pairs (c ≤ c') index the C(C+1)/2 blocks of a P×P matrix.
 */
const PAIR_CHUNK_ENTRIES = 1 << 22;

function pairChunks(d: DenseLayerCurvature): { pairs: number; rows: number } {
  const pairs = (d.features * (d.features + 1)) / 2;
  return { pairs, rows: Math.max(1, Math.min(d.n, Math.floor(PAIR_CHUNK_ENTRIES / pairs))) };
}

/** Π of the whole data set when it is one chunk, kept per input array (rebuilt twice per step otherwise). */
const pairCache = new WeakMap<Float64Array, Float64Array>();

/** Π for examples b0 ≤ b < b1 (row-major, (b1 − b0) × F(F+1)/2, pairs (f, f' ≥ f) in row-major order). */
function pairProducts(d: DenseLayerCurvature, b0: number, b1: number, pairs: number): Float64Array {
  const whole = b0 === 0 && b1 === d.n;
  const hit = whole ? pairCache.get(d.inputs) : undefined;
  if (hit && hit.length === d.n * pairs) return hit;
  const F = d.features;
  const out = new Float64Array((b1 - b0) * pairs);
  for (let b = b0; b < b1; b++) {
    const xo = b * F;
    let o = (b - b0) * pairs;
    for (let f = 0; f < F; f++) {
      const xf = d.inputs[xo + f];
      if (xf === 0) {
        o += F - f;
        continue;
      }
      for (let f2 = f; f2 < F; f2++) out[o++] = xf * d.inputs[xo + f2];
    }
  }
  if (whole) pairCache.set(d.inputs, out);
  return out;
}

/** mean_b Σ_cc' w_b[c,c'] (x̃_b x̃_bᵀ) placed in block (c, c') of a P×P matrix; w: n × C × C, symmetric in (c, c'). */
export function blockOuterSum(d: DenseLayerCurvature, w: Float64Array): Float64Array {
  const { n, features: F, outputs: C } = d;
  const P = C * F;
  const blocks = (C * (C + 1)) / 2;
  const { pairs, rows } = pairChunks(d);
  // Σ[(f,f'), (c,c')] = Σ_b Π[b, (f,f')] · w_b[c,c']/n, summed over the chunks of examples.
  const sum = new Float64Array(pairs * blocks);
  for (let b0 = 0; b0 < n; b0 += rows) {
    const b1 = Math.min(n, b0 + rows);
    const Wb = new Float64Array((b1 - b0) * blocks);
    for (let b = b0; b < b1; b++) {
      let q = (b - b0) * blocks;
      for (let c = 0; c < C; c++) for (let c2 = c; c2 < C; c2++) Wb[q++] = w[(b * C + c) * C + c2] / n;
    }
    const part = gemm(pairs, b1 - b0, blocks, { data: pairProducts(d, b0, b1, pairs), ld: pairs, trans: true }, { data: Wb, ld: blocks });
    for (let u = 0; u < part.length; u++) sum[u] += part[u];
  }
  const out = new Float64Array(P * P);
  let pr = 0;
  for (let f = 0; f < F; f++) {
    for (let f2 = f; f2 < F; f2++, pr++) {
      let q = pr * blocks;
      for (let c = 0; c < C; c++) {
        for (let c2 = c; c2 < C; c2++) {
          const v = sum[q++];
          const i = c * F + f;
          const i2 = c * F + f2;
          const j = c2 * F + f;
          const j2 = c2 * F + f2;
          out[i * P + j2] = v;
          out[i2 * P + j] = v;
          out[j2 * P + i] = v;
          out[j * P + i2] = v;
        }
      }
    }
  }
  return out;
}

/** m_b = J_b S J_bᵀ for every example: m_b[c,c'] = x̃_bᵀ S_cc' x̃_b, n × C × C (S symmetric). */
export function projectToOutputs(d: DenseLayerCurvature, S: Float64Array): Float64Array {
  const { n, features: F, outputs: C } = d;
  const P = C * F;
  const blocks = (C * (C + 1)) / 2;
  const { pairs, rows } = pairChunks(d);
  // m_b[c,c'] = Σ_{f ≤ f'} Π[b, (f,f')] · T[(f,f'), (c,c')], T = S_cc'[f,f'] + S_cc'[f',f] off the diagonal f = f'.
  const T = new Float64Array(pairs * blocks);
  let q = 0;
  for (let f = 0; f < F; f++) {
    for (let f2 = f; f2 < F; f2++) {
      for (let c = 0; c < C; c++) {
        for (let c2 = c; c2 < C; c2++) {
          const a = S[(c * F + f) * P + c2 * F + f2];
          T[q++] = f2 === f ? a : a + S[(c * F + f2) * P + c2 * F + f];
        }
      }
    }
  }
  const m = new Float64Array(n * C * C);
  for (let b0 = 0; b0 < n; b0 += rows) {
    const b1 = Math.min(n, b0 + rows);
    const part = gemm(b1 - b0, pairs, blocks, { data: pairProducts(d, b0, b1, pairs), ld: pairs }, { data: T, ld: blocks });
    for (let b = b0; b < b1; b++) {
      let u = (b - b0) * blocks;
      for (let c = 0; c < C; c++) {
        for (let c2 = c; c2 < C; c2++) {
          const v = part[u++];
          m[(b * C + c) * C + c2] = v;
          m[(b * C + c2) * C + c] = v;
        }
      }
    }
  }
  return m;
}

/** K_b m_b K_b for every example. */
function sandwichOutputs(K: Float64Array, m: Float64Array, n: number, C: number): Float64Array {
  const out = new Float64Array(n * C * C);
  const t = new Float64Array(C * C);
  for (let b = 0; b < n; b++) {
    const o = b * C * C;
    t.set(matmul(K.subarray(o, o + C * C), m.subarray(o, o + C * C), C, C, C));
    out.set(matmul(t, K.subarray(o, o + C * C), C, C, C), o);
  }
  return out;
}

/** Dense-layer statistics that do not depend on η. */
export interface DenseSetup {
  P: number;
  /** H_J = mean_b J_bᵀK_bJ_b. */
  curvatureGN: Float64Array;
  /** D' = D + λ (stepping) and D + λ·[penalty measured] (measuring). */
  stepDiag: Float64Array;
  measureDiag: Float64Array;
  /** Eigen-decomposition of H_s = H_J + diag(D'): eigenvalues and eigenvectors Q (columns). */
  h: Float64Array;
  Q: Float64Array;
  Qt: Float64Array;
  /** Qᵀ Σ Q. */
  noiseEigen: Float64Array;
}

/** Setups per layer object: the full solve and the closure (`dense-closure.ts`) share one eigen-decomposition. */
const setupCache = new WeakMap<DenseLayerCurvature, Map<string, DenseSetup>>();

export function denseSetup(d: DenseLayerCurvature, weightDecay: number, lossIncludesPenalty: boolean): DenseSetup {
  const key = `${weightDecay}|${lossIncludesPenalty}`;
  const hit = setupCache.get(d)?.get(key);
  if (hit !== undefined) return hit;
  const made = computeDenseSetup(d, weightDecay, lossIncludesPenalty);
  if (!setupCache.has(d)) setupCache.set(d, new Map());
  setupCache.get(d)!.set(key, made);
  return made;
}

function computeDenseSetup(d: DenseLayerCurvature, weightDecay: number, lossIncludesPenalty: boolean): DenseSetup {
  const { n, outputs: C, features: F } = d;
  const P = C * F;
  if (d.inputs.length !== n * F || d.outputCurvature.length !== n * C * C || d.outputGradient.length !== n * C || d.penaltyDiagonal.length !== P) {
    throw new Error(`denseFull: arrays do not match n = ${n}, C = ${C}, F = ${F}`);
  }
  const curvatureGN = blockOuterSum(d, d.outputCurvature);
  // Σ = mean_b g_b g_bᵀ − ḡḡᵀ with g_b = r_b ⊗ x̃_b (the penalty gradient is the same for every b).
  const rr = new Float64Array(n * C * C);
  for (let b = 0; b < n; b++) for (let c = 0; c < C; c++) for (let c2 = 0; c2 < C; c2++) rr[(b * C + c) * C + c2] = d.outputGradient[b * C + c] * d.outputGradient[b * C + c2];
  const noise = blockOuterSum(d, rr);
  const mean = new Float64Array(P);
  for (let b = 0; b < n; b++) for (let c = 0; c < C; c++) for (let f = 0; f < F; f++) mean[c * F + f] += (d.outputGradient[b * C + c] * d.inputs[b * F + f]) / n;
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) noise[i * P + j] -= mean[i] * mean[j];
  const stepDiag = d.penaltyDiagonal.map((v) => v + weightDecay);
  const measureDiag = d.penaltyDiagonal.map((v) => v + (lossIncludesPenalty ? weightDecay : 0));
  const Hs = curvatureGN.slice();
  for (let i = 0; i < P; i++) Hs[i * P + i] += stepDiag[i];
  const eig = symmetricEigen(Hs, P);
  const Q = eig.vectors;
  const Qt = transpose(Q, P, P);
  return { P, curvatureGN, stepDiag, measureDiag, h: eig.values, Q, Qt, noiseEigen: toEigenBasis(Qt, noise, P) };
}

/** mean_b A_b S A_b with A_b = J_bᵀK_bJ_b + D' (see the file comment). */
function meanCurvatureSandwich(d: DenseLayerCurvature, s: DenseSetup, S: Float64Array): Float64Array {
  const P = s.P;
  const out = blockOuterSum(d, sandwichOutputs(d.outputCurvature, projectToOutputs(d, S), d.n, d.outputs));
  const HS = gemmRowMajor(s.curvatureGN, S, P, P, P);
  for (let i = 0; i < P; i++) {
    for (let j = 0; j < P; j++) {
      // H_J S D' + D' S H_J + D' S D'  ((S H_J)_ij = (H_J S)_ji by symmetry)
      out[i * P + j] += HS[i * P + j] * s.stepDiag[j] + s.stepDiag[i] * HS[j * P + i] + s.stepDiag[i] * S[i * P + j] * s.stepDiag[j];
    }
  }
  return out;
}

/** Stationary ½ tr(H_measured S) of plain SGD at η on the full parameter space of a Dense layer. */
export function denseFullExcess(d: DenseLayerCurvature, dyn: SgdDynamics, eta: number, opts: DenseFullOptions = {}): DenseFullResult {
  if (dyn.momentum !== 0 || dyn.nesterov) throw new Error('denseFullExcess: momentum is not modelled (use the subspace solve)');
  const s = denseSetup(d, dyn.weightDecay, opts.lossIncludesPenalty ?? false);
  const P = s.P;
  const mo = batchMoments(dyn);
  const tol = opts.tolerance ?? 1e-10;
  const maxIt = opts.maxIterations ?? 500;
  const flat = 1e-12 * Math.max(...s.h.map(Math.abs));
  // State in H's eigenbasis (S̃) and in the parameter basis (S = Q S̃ Qᵀ, for the per-example term).
  let St: Float64Array = new Float64Array(P * P);
  let S: Float64Array = new Float64Array(P * P);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIt && !converged) {
    iterations++;
    // R̃ = Qᵀ(η f Σ + η M(S))Q, M(S) = c1 mean_b A_b S A_b + c2 H_s S H_s; H_s S H_s is h_i S̃_ij h_j.
    const Rt = toEigenBasis(s.Qt, meanCurvatureSandwich(d, s, S), P);
    const next = new Float64Array(P * P);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < P; j++) {
        const denom = s.h[i] + s.h[j];
        if (denom <= flat) continue;
        const r = eta * mo.noiseFactor * s.noiseEigen[i * P + j] + eta * (mo.perExampleWeight * Rt[i * P + j] + mo.meanWeight * s.h[i] * St[i * P + j] * s.h[j]);
        const v = r / denom;
        next[i * P + j] = v;
        diff += (v - St[i * P + j]) ** 2;
        norm += v * v;
      }
    }
    St = next;
    S = toParameterBasis(s.Q, St, P);
    if (!Number.isFinite(norm)) break;
    // The Frobenius norm is the same in both bases (Q orthogonal).
    converged = diff <= tol * tol * norm;
  }
  let excess = 0;
  const HmS = gemmRowMajor(s.curvatureGN, S, P, P, P);
  for (let i = 0; i < P; i++) excess += 0.5 * (HmS[i * P + i] + s.measureDiag[i] * S[i * P + i]);
  return { excess, iterations, converged };
}

// ---------------------------------------------------------------------------------------------------
// The whole curve from one Krylov space (issue 20 follow-up). With T = L⁻¹M (L⁻¹ diagonal in H_s's
// eigenbasis, S̃_ij ↦ S̃_ij/(h_i + h_j)), the equation is (I − ηT) S = η f L⁻¹Σ. T is self-adjoint in the
// L inner product ⟨X, Y⟩_L = Σ_ij (h_i + h_j) X_ij Y_ij (⟨X, L T Y⟩ = ⟨X, M Y⟩, M self-adjoint in the
// Frobenius one), and I − ηT is positive definite there for η below η_MS = 1/μ_max(T). Lanczos on T in
// that inner product from w = L⁻¹Σ gives T V_m = V_m T_m + β_m v_{m+1} e_mᵀ; the Krylov space does not
// depend on the shift, so for every η at once S(η) ≈ η f β_0 V_m (I − η T_m)⁻¹ e_1 (this is preconditioned
// CG with preconditioner L⁻¹, run for all η together), with relative residual η β_m |y_m| in the L norm,
// and L(η) − L* = ½⟨H_measured, S⟩ needs only the scalars ⟨H_measured, v_j⟩. The largest Ritz value of
// T_m gives the mean-square limit. Each step applies M once: two basis changes (3P³ with the symmetry)
// and the Kronecker-structured per-example term (A_b = J_bᵀK_bJ_b + D': O(n·C²·F²) through the C×C
// output projections), the diagonal D' terms through X̃·(QᵀD'Q) with D' = d_0·I + a few exceptions.
// ---------------------------------------------------------------------------------------------------

export interface DenseFullSolveOptions {
  /** Stop when the relative residual at the check η is ≤ this (default 1e-9). */
  tolerance?: number;
  /** Largest Lanczos step count (default 150, and at most what `memoryBytes` holds). */
  maxSteps?: number;
  /** Memory for the stored Lanczos vectors (default 512 MiB). */
  memoryBytes?: number;
  /** The residual is checked at this fraction of the current mean-square limit estimate (default 0.95). */
  checkFraction?: number;
  /** Give up (converged: false) after this many seconds of this process's CPU time (wall time where that is not measurable; default none). */
  cpuSeconds?: number;
  lossIncludesPenalty?: boolean;
}

export interface DenseFullSolution {
  parameters: number;
  /** 1/μ_max of the Lanczos tridiagonal (converges from above); null when M vanishes. */
  meanSquareLimit: number | null;
  /** L(η) − L*, null at or above the limit. */
  excess: (eta: number) => number | null;
  /** Relative residual (L norm) of the shifted system at η; small means solved. */
  residual: (eta: number) => number;
  steps: number;
  converged: boolean;
  /** Wall time, and this process's CPU time (wall where not measurable). */
  seconds: number;
  cpuSeconds: number;
}

/** Upper triangle mirrored onto the lower one (in place). */
function mirrorUpper(out: Float64Array, P: number): Float64Array {
  for (let i = 1; i < P; i++) for (let j = 0; j < i; j++) out[i * P + j] = out[j * P + i];
  return out;
}

/** y = Q X̃ Qᵀ for symmetric X̃ (P×P, Q columns the eigenvectors); 1.5P³ multiply-adds (the second product on the upper triangle). */
export function toParameterBasis(Q: Float64Array, Xt: Float64Array, P: number): Float64Array {
  const T = gemmRowMajor(Q, Xt, P, P, P);
  return mirrorUpper(gemm(P, P, P, { data: T, ld: P }, { data: Q, ld: P, trans: true }, { upper: true }), P);
}

/** Qᵀ Y Q for symmetric Y; 1.5P³. */
export function toEigenBasis(Qt: Float64Array, Y: Float64Array, P: number): Float64Array {
  const T = gemmRowMajor(Qt, Y, P, P, P); // T = QᵀY; (QᵀYQ)_ij = Σ_k T_ik Qt_jk
  return mirrorUpper(gemm(P, P, P, { data: T, ld: P }, { data: Qt, ld: P, trans: true }, { upper: true }), P);
}

/** X ↦ X·(QᵀD'Q) with D' = d0·I + Σ_r e_r E_rr over a few exceptional coordinates r (or dense). */
function diagonalInEigenBasis(s: DenseSetup): (X: Float64Array) => Float64Array {
  const P = s.P;
  const counts = new Map<number, number>();
  for (const v of s.stepDiag) counts.set(v, (counts.get(v) ?? 0) + 1);
  let d0 = 0;
  let best = -1;
  for (const [v, c] of counts) if (c > best) [d0, best] = [v, c];
  const rest: number[] = [];
  for (let i = 0; i < P; i++) if (s.stepDiag[i] !== d0) rest.push(i);
  if (rest.length > P / 2) {
    const D = new Float64Array(P * P);
    for (let i = 0; i < P; i++) D[i * P + i] = s.stepDiag[i];
    const Delta = toEigenBasis(s.Qt, D, P);
    return (X) => gemmRowMajor(X, Delta, P, P, P);
  }
  // Rows r of Q (coordinate r in the eigenbasis), scaled: X Qᵀ_R diag(e) Q_R.
  const R = rest.length;
  const QR = new Float64Array(R * P);
  const e = rest.map((r) => s.stepDiag[r] - d0);
  rest.forEach((r, a) => QR.set(s.Q.subarray(r * P, (r + 1) * P), a * P));
  return (X) => {
    const out = new Float64Array(P * P);
    for (let i = 0; i < P * P; i++) out[i] = d0 * X[i];
    if (R === 0) return out;
    const xr = new Float64Array(R);
    for (let i = 0; i < P; i++) {
      const xi = i * P;
      for (let a = 0; a < R; a++) {
        xr[a] = dot(X, xi, QR, a * P, P) * e[a];
      }
      for (let a = 0; a < R; a++) {
        const v = xr[a];
        if (v === 0) continue;
        const qa = a * P;
        for (let j = 0; j < P; j++) out[xi + j] += v * QR[qa + j];
      }
    }
    return out;
  };
}

/** Eigen-decomposition of a symmetric tridiagonal matrix's largest eigenvalue (bisection-free: dense, m small). */
function tridiagonalMax(alpha: number[], beta: number[]): number {
  const m = alpha.length;
  const T = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    T[i * m + i] = alpha[i];
    if (i + 1 < m) T[i * m + i + 1] = T[(i + 1) * m + i] = beta[i];
  }
  const e = symmetricEigen(T, m);
  return Math.max(...e.values);
}

/** y = (I − η T_m)⁻¹ e_1 (Thomas algorithm; I − ηT_m is positive definite below the limit). */
function shiftedSolve(alpha: number[], beta: number[], eta: number): Float64Array {
  const m = alpha.length;
  const c = new Float64Array(m);
  const d = new Float64Array(m);
  let prevC = 0;
  let prevD = 0;
  for (let i = 0; i < m; i++) {
    const sub = i > 0 ? -eta * beta[i - 1] : 0;
    const diag = 1 - eta * alpha[i] - sub * prevC;
    const sup = i + 1 < m ? -eta * beta[i] : 0;
    c[i] = sup / diag;
    d[i] = ((i === 0 ? 1 : 0) - sub * prevD) / diag;
    prevC = c[i];
    prevD = d[i];
  }
  const y = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) y[i] = d[i] - (i + 1 < m ? c[i] * y[i + 1] : 0);
  return y;
}

/**
 * Stationary L(η) − L* of plain SGD over every parameter of a Dense layer, for all η below the
 * mean-square limit at once (see the comment above). Throws for momentum.
 */
export function denseFullSolution(d: DenseLayerCurvature, dyn: SgdDynamics, opts: DenseFullSolveOptions = {}): DenseFullSolution {
  if (dyn.momentum !== 0 || dyn.nesterov) throw new Error('denseFullSolution: momentum is not modelled (use the subspace solve)');
  const t0 = Date.now();
  const cpu = cpuSeconds;
  const c0 = cpu();
  const inc = opts.lossIncludesPenalty ?? false;
  const s = denseSetup(d, dyn.weightDecay, inc);
  const P = s.P;
  const P2 = P * P;
  const mo = batchMoments(dyn);
  const tol = opts.tolerance ?? 1e-9;
  const maxSteps = Math.max(1, Math.min(opts.maxSteps ?? 150, Math.floor((opts.memoryBytes ?? 512 * 2 ** 20) / (8 * P2))));
  const checkFraction = opts.checkFraction ?? 0.95;
  const flat = 1e-12 * Math.max(...s.h.map(Math.abs));
  const lam = new Float64Array(P2);
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) lam[i * P + j] = s.h[i] + s.h[j] > flat ? s.h[i] + s.h[j] : 0;
  const lInv = (X: Float64Array): Float64Array => {
    const out = new Float64Array(P2);
    for (let u = 0; u < P2; u++) if (lam[u] > 0) out[u] = X[u] / lam[u];
    return out;
  };
  const dotL = (X: Float64Array, Y: Float64Array): number => {
    let t = 0;
    for (let u = 0; u < P2; u++) t += lam[u] * X[u] * Y[u];
    return t;
  };
  const timesDelta = diagonalInEigenBasis(s);
  // M̃(X̃) = c1 Qᵀ(mean_b A_b X A_b)Q + c2 h X̃ h, with mean_b A_b X A_b = mean_b G_b X G_b + H_s X D' + D' X H_s − D' X D'.
  const applyM = (Xt: Float64Array): Float64Array => {
    const X = toParameterBasis(s.Q, Xt, P);
    const gg = toEigenBasis(s.Qt, blockOuterSum(d, sandwichOutputs(d.outputCurvature, projectToOutputs(d, X), d.n, d.outputs)), P);
    const U = timesDelta(Xt); // X̃Δ
    const Ut = transpose(U, P, P); // ΔX̃
    const W = timesDelta(Ut); // ΔX̃Δ
    const out = new Float64Array(P2);
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < P; j++) {
        const u = i * P + j;
        out[u] = mo.perExampleWeight * (gg[u] + s.h[i] * U[u] + Ut[u] * s.h[j] - W[u]) + mo.meanWeight * s.h[i] * Xt[u] * s.h[j];
      }
    }
    for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) out[i * P + j] = out[j * P + i] = 0.5 * (out[i * P + j] + out[j * P + i]);
    return out;
  };
  // Measured Hessian in the eigenbasis: diag(h) − (stepDiag − measureDiag), a constant shift (λ when the penalty is not measured).
  const shift = dyn.weightDecay * (inc ? 0 : 1);
  const w = lInv(s.noiseEigen);
  const beta0 = Math.sqrt(dotL(w, w));
  const alpha: number[] = [];
  const beta: number[] = [];
  const cH: number[] = [];
  const basis: Float64Array[] = [];
  let converged = false;
  let limit: number | null = null;
  let steps = 0;
  if (beta0 > 0) {
    let v = w.map((x) => x / beta0);
    let prev: Float64Array | null = null;
    while (steps < maxSteps) {
      steps++;
      basis.push(v);
      let c = 0;
      for (let i = 0; i < P; i++) c += (s.h[i] - shift) * v[i * P + i];
      cH.push(c);
      const m = applyM(v);
      let a = 0;
      for (let u = 0; u < P2; u++) a += v[u] * m[u];
      alpha.push(a);
      const z = lInv(m);
      const bPrev = beta.length > 0 ? beta[beta.length - 1] : 0;
      for (let u = 0; u < P2; u++) z[u] -= a * v[u] + (prev ? bPrev * prev[u] : 0);
      // Full reorthogonalisation in the L inner product (twice is enough).
      for (let pass = 0; pass < 2; pass++) {
        for (const q of basis) {
          const r = dotL(q, z);
          for (let u = 0; u < P2; u++) z[u] -= r * q[u];
        }
      }
      const b = Math.sqrt(dotL(z, z));
      beta.push(b);
      const muMax = tridiagonalMax(alpha, beta.slice(0, -1));
      limit = muMax > 0 ? 1 / muMax : null;
      const checkEta = limit === null ? 0 : checkFraction * limit;
      const y = shiftedSolve(alpha, beta, checkEta);
      const res = checkEta * b * Math.abs(y[y.length - 1]);
      if (b <= 1e-14 * beta0 || res <= tol) {
        converged = true;
        break;
      }
      if (opts.cpuSeconds !== undefined && cpu() - c0 > opts.cpuSeconds) break;
      prev = v;
      v = z.map((x) => x / b);
    }
  }
  const f = mo.noiseFactor;
  const m = alpha.length;
  const betaInner = beta.slice(0, Math.max(0, m - 1));
  return {
    parameters: P,
    meanSquareLimit: limit,
    excess: (eta) => {
      if (!(eta >= 0) || (limit !== null && eta >= limit)) return null;
      if (m === 0) return 0;
      const y = shiftedSolve(alpha, betaInner, eta);
      let t = 0;
      for (let i = 0; i < m; i++) t += y[i] * cH[i];
      return 0.5 * eta * f * beta0 * t;
    },
    residual: (eta) => {
      if (m === 0) return 0;
      const y = shiftedSolve(alpha, betaInner, eta);
      return Math.abs(eta * beta[m - 1] * y[m - 1]);
    },
    steps,
    converged,
    seconds: (Date.now() - t0) / 1000,
    cpuSeconds: cpu() - c0,
  };
}

/**
 * The layer's curvature in the top-k eigenvectors of H = mean_b A_b (dense eigen-solve), as an engine
 * would report it, with perExampleCurvatureSquare: the exact reference for subspace forms (tests).
 * The checkpoint is taken to be the optimum of the penalised loss: the penalty gradient is −mean_b r_b ⊗ x̃_b.
 */
export function denseLayerSubspace(d: DenseLayerCurvature, k: number): SubspaceCurvature {
  const { n, features: F, outputs: C } = d;
  const s = denseSetup(d, 0, true);
  const P = s.P;
  const order = Array.from(s.h, (_, i) => i).sort((a, b) => s.h[b] - s.h[a]).slice(0, k);
  const V = order.map((c) => Float64Array.from({ length: P }, (_, r) => s.Q[r * P + c]));
  const mean = new Float64Array(P);
  for (let b = 0; b < n; b++) for (let c = 0; c < C; c++) for (let f = 0; f < F; f++) mean[c * F + f] += (d.outputGradient[b * C + c] * d.inputs[b * F + f]) / n;
  const meanProj = V.map((v) => v.reduce((a, x, i) => a + x * mean[i], 0));
  const DV = V.map((v) => v.map((x, i) => x * d.penaltyDiagonal[i]));
  const dd = new Float64Array(k * k);
  const dvv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      for (let p = 0; p < P; p++) {
        dd[i * k + j] += DV[i][p] * DV[j][p];
        dvv[i * k + j] += DV[i][p] * V[j][p];
      }
    }
  }
  const curvature = new Float64Array(n * k * k);
  const square = new Float64Array(k * k);
  const grads = new Float64Array(n * k);
  let meanSqNorm = 0;
  const u = V.map(() => new Float64Array(C));
  const w = V.map(() => new Float64Array(C));
  const Ku = V.map(() => new Float64Array(C));
  for (let b = 0; b < n; b++) {
    const x = d.inputs.subarray(b * F, (b + 1) * F);
    const K = d.outputCurvature.subarray(b * C * C, (b + 1) * C * C);
    const r = d.outputGradient.subarray(b * C, (b + 1) * C);
    let xx = 0;
    for (let f = 0; f < F; f++) xx += x[f] * x[f];
    let rr = 0;
    for (let c = 0; c < C; c++) rr += r[c] * r[c];
    meanSqNorm += (rr * xx) / n;
    for (let i = 0; i < k; i++) {
      let gp = 0;
      for (let c = 0; c < C; c++) {
        let t = 0;
        let t2 = 0;
        for (let f = 0; f < F; f++) {
          t += x[f] * V[i][c * F + f];
          t2 += x[f] * DV[i][c * F + f];
        }
        u[i][c] = t; // J_b v_i
        w[i][c] = t2; // J_b D v_i
        gp += r[c] * t;
      }
      grads[b * k + i] = gp - meanProj[i];
      for (let c = 0; c < C; c++) {
        let t = 0;
        for (let c2 = 0; c2 < C; c2++) t += K[c * C + c2] * u[i][c2];
        Ku[i][c] = t; // K_b J_b v_i
      }
    }
    // A_b v_i = J_bᵀ Ku_i + D v_i; (A_b v_i)·(A_b v_j) = ‖x̃‖² Ku_i·Ku_j + Ku_i·w_j + w_i·Ku_j + (Dv_i)·(Dv_j).
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let a = 0;
        let q = 0;
        for (let c = 0; c < C; c++) {
          a += u[i][c] * Ku[j][c];
          q += xx * Ku[i][c] * Ku[j][c] + Ku[i][c] * w[j][c] + w[i][c] * Ku[j][c];
        }
        curvature[(b * k + i) * k + j] = a + dvv[i * k + j];
        square[i * k + j] += (q + dd[i * k + j]) / n;
      }
    }
  }
  let mg = 0;
  for (const v of mean) mg += v * v;
  return {
    parameters: P, k, n, eigenvalues: order.map((c) => s.h[c]), residuals: new Array<number>(k).fill(0), converged: true,
    perExampleCurvature: curvature, perExampleCurvatureSquare: square, perExampleGradProj: grads,
    traceCovTotal: meanSqNorm - mg, meanGradSqNorm: 0, meanSqNorm, method: 'dense_eigen', hvp: 'exact_float64', costGradientPasses: null, seconds: null, notes: [],
  };
}
