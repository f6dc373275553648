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
import { matmul, transpose } from '../linalg/dense';
import { symmetricEigen } from '../linalg/symmetric-eigen';
import { batchMoments } from './quadratic-model';
import type { SgdDynamics } from './types';

export interface DenseLayerCurvature {
  n: number;
  /** F: inputs per example, including the trailing 1 of a bias. */
  features: number;
  /** C: outputs (logits). */
  outputs: number;
  /** x̃_b, n × F. */
  inputs: Float64Array;
  /** K_b = ∂²ℓ_b/∂z² at Φ*, n × C × C (softmax cross-entropy: diag(p_b) − p_b p_bᵀ). */
  outputCurvature: Float64Array;
  /** r_b = ∂ℓ_b/∂z at Φ*, n × C (softmax cross-entropy: p_b − y_b). */
  outputGradient: Float64Array;
  /** Diagonal curvature of the model's own penalties, length C·F (0 for unpenalised biases). */
  penaltyDiagonal: Float64Array;
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

/** mean_b Σ_cc' w_b[c,c'] (x̃_b x̃_bᵀ) placed in block (c, c') of a P×P matrix; w: n × C × C, symmetric in (c, c'). */
function blockOuterSum(d: DenseLayerCurvature, w: Float64Array): Float64Array {
  const { n, features: F, outputs: C } = d;
  const P = C * F;
  const out = new Float64Array(P * P);
  for (let b = 0; b < n; b++) {
    const x = d.inputs.subarray(b * F, (b + 1) * F);
    for (let c = 0; c < C; c++) {
      for (let c2 = c; c2 < C; c2++) {
        const wb = w[(b * C + c) * C + c2] / n;
        if (wb === 0) continue;
        for (let f = 0; f < F; f++) {
          const wf = wb * x[f];
          if (wf === 0) continue;
          const row = (c * F + f) * P + c2 * F;
          for (let f2 = 0; f2 < F; f2++) out[row + f2] += wf * x[f2];
        }
      }
    }
  }
  // Mirror the blocks c' < c from the computed ones (the whole matrix is symmetric).
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) if (Math.floor(j / F) < Math.floor(i / F)) out[i * P + j] = out[j * P + i];
  return out;
}

/** m_b = J_b S J_bᵀ for every example: m_b[c,c'] = x̃_bᵀ S_cc' x̃_b, n × C × C. */
function projectToOutputs(d: DenseLayerCurvature, S: Float64Array): Float64Array {
  const { n, features: F, outputs: C } = d;
  const P = C * F;
  const m = new Float64Array(n * C * C);
  const sx = new Float64Array(F);
  for (let c = 0; c < C; c++) {
    for (let c2 = c; c2 < C; c2++) {
      for (let b = 0; b < n; b++) {
        const x = d.inputs.subarray(b * F, (b + 1) * F);
        sx.fill(0);
        for (let f = 0; f < F; f++) {
          if (x[f] === 0) continue;
          const row = (c * F + f) * P + c2 * F;
          for (let f2 = 0; f2 < F; f2++) sx[f2] += x[f] * S[row + f2];
        }
        let v = 0;
        for (let f2 = 0; f2 < F; f2++) v += sx[f2] * x[f2];
        m[(b * C + c) * C + c2] = v;
        m[(b * C + c2) * C + c] = v;
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
interface DenseSetup {
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

function denseSetup(d: DenseLayerCurvature, weightDecay: number, lossIncludesPenalty: boolean): DenseSetup {
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
  return { P, curvatureGN, stepDiag, measureDiag, h: eig.values, Q, Qt, noiseEigen: matmul(matmul(Qt, noise, P, P, P), Q, P, P, P) };
}

/** mean_b A_b S A_b with A_b = J_bᵀK_bJ_b + D' (see the file comment). */
function meanCurvatureSandwich(d: DenseLayerCurvature, s: DenseSetup, S: Float64Array): Float64Array {
  const P = s.P;
  const out = blockOuterSum(d, sandwichOutputs(d.outputCurvature, projectToOutputs(d, S), d.n, d.outputs));
  const HS = matmul(s.curvatureGN, S, P, P, P);
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
    const Rt = matmul(matmul(s.Qt, meanCurvatureSandwich(d, s, S), P, P, P), s.Q, P, P, P);
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
    S = matmul(matmul(s.Q, St, P, P, P), s.Qt, P, P, P);
    if (!Number.isFinite(norm)) break;
    // The Frobenius norm is the same in both bases (Q orthogonal).
    converged = diff <= tol * tol * norm;
  }
  let excess = 0;
  const HmS = matmul(s.curvatureGN, S, P, P, P);
  for (let i = 0; i < P; i++) excess += 0.5 * (HmS[i * P + i] + s.measureDiag[i] * S[i * P + i]);
  return { excess, iterations, converged };
}
