/**
 * The stationary loss of plain SGD beyond the quadratic model, for one Dense layer with softmax
 * cross-entropy: a Gaussian closure (the self-consistent harmonic approximation of statistical physics).
 *
 * Why: the full-parameter second moment (`dense-full.ts`) is exact for a quadratic loss, but on the digits
 * softmax regression it still gives 0.90–0.96 of the simulated excess at η = 0.4–1.6 (THEORY.md §6): the
 * cross-entropy is not quadratic over the region SGD explores. Two O(η²) effects are missing there: the
 * iterates' mean drifts off Φ* (E[∇L] = 0 at stationarity, not ∇L(E Φ) = 0, and ∇L is not linear), and
 * curvature, noise and loss are averaged over the spread of the iterates rather than taken at Φ*.
 *
 * What: model the stationary deviation e = Φ − Φ* as Gaussian N(μ, Σ) and require the exact stationarity
 * conditions of the first two moments of e' = e − η ĝ (ĝ the minibatch gradient):
 *   E[∇L(Φ* + e)] = 0,
 *   Σ H̄ + H̄ Σ = η (c1 E_e E_b[g_b g_bᵀ] + c2 H̄ Σ H̄),   H̄ = E_e[∇²L]
 * (Stein's lemma turns E[e ∇Lᵀ] into Σ H̄; c1, c2 the batch moments of `quadratic-model.ts`; the c2 term
 * E[∇L ∇Lᵀ] is taken at first order, H̄ Σ H̄). For a quadratic loss this is the equation `dense-full.ts`
 * solves (μ = 0, H̄ = H), so the closure changes nothing there; MSE never reaches this file.
 * Each example's logits are then Gaussian, z_b ~ N(z*_b + J_b μ, J_b Σ J_bᵀ) (C-dimensional), and every
 * expectation is a per-example C-dimensional one: E[δ_b], E[δ_b δ_bᵀ], E[K_b], E[ℓ_b], with δ = ∂ℓ/∂z and
 * K = ∂²ℓ/∂z². They are taken over a fixed set of standard normal points, antithetic and whitened so that
 * its mean and covariance are exact (so every quadratic function's expectation is exact and only the
 * non-quadratic remainder carries sampling error), the same points in every iteration (a smooth map).
 * The drift uses the checkpoint's own stationarity (penalty gradient = −mean_b g_b at Φ*), so Φ* itself
 * is not needed. Solved by fixed-point iteration in the eigenbasis of the quadratic model's H, with
 * H̄ − H moved to the right-hand side; warm-started from the previous η.
 *
 * Checked against SGD itself (THEORY.md §6's simulated excess) and a PyTorch float64 implementation of the
 * same equations (test/unit/finite-eta/dense-closure.test.ts).
 */
import { gemmRowMajor } from '../linalg/gemm';
import { symmetricEigen } from '../linalg/symmetric-eigen';
import { mulberry32 } from '../random';
import { cpuSeconds } from './cpu-clock';
import { blockOuterSum, denseSetup, projectToOutputs, toEigenBasis, toParameterBasis, type DenseSetup } from './dense-full';
import { batchMoments } from './quadratic-model';
import type { DenseLayerCurvature, SgdDynamics } from './types';

export interface DenseClosureOptions {
  /** Antithetic pairs of standard normal points per example (default 256, i.e. 512 points). */
  samplePairs?: number;
  /** Seed of the points (default 1). */
  seed?: number;
  /**
   * Stop when ‖ΔΣ‖_F ≤ tolerance·‖Σ‖_F (default 1e-3: on the digits softmax at 0.3, 0.6, 0.9 of the limit the
   * excess then differs from the 1e-5 solution by ≤ 1.7e-4 relative, far below the sampling error, in 6–9
   * iterations instead of 10–14).
   */
  tolerance?: number;
  /** Iterations per η (default 60). */
  maxIterations?: number;
  lossIncludesPenalty?: boolean;
  /** Stop (the remaining η unsolved) after this many seconds of this process's CPU time. */
  cpuSeconds?: number;
}

export interface DenseClosurePoint {
  eta: number;
  /** E[L(Φ* + e)] − L(Φ*) under the closure; null when it did not converge. */
  excess: number | null;
  iterations: number;
  converged: boolean;
  /** ‖μ‖, the drift of the iterates' mean off Φ*. */
  meanShift: number;
}

export interface DenseClosureCurve {
  points: DenseClosurePoint[];
  samplePoints: number;
  cpuSeconds: number;
  /** True when the CPU budget stopped it before the last η. */
  outOfTime: boolean;
}

/** 2·pairs standard normal points in C dimensions, antithetic (mean exactly 0) and whitened (covariance exactly I). */
export function momentMatchedNormals(pairs: number, C: number, seed: number): Float64Array {
  if (pairs < C) throw new Error(`momentMatchedNormals: ${pairs} pairs cannot have full rank in ${C} dimensions`);
  const u = mulberry32(seed);
  const raw = new Float64Array(pairs * C);
  for (let i = 0; i < raw.length; i += 2) {
    // Box–Muller; 1 − u() is in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    raw[i] = r * Math.cos(t);
    if (i + 1 < raw.length) raw[i + 1] = r * Math.sin(t);
  }
  // With the antithetic twin the covariance is (1/pairs)·Σ x xᵀ; whiten by its inverse symmetric square root.
  const cov = new Float64Array(C * C);
  for (let s = 0; s < pairs; s++) for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) cov[a * C + b] += (raw[s * C + a] * raw[s * C + b]) / pairs;
  const w = inverseSqrt(cov, C);
  const out = new Float64Array(2 * pairs * C);
  for (let s = 0; s < pairs; s++) {
    for (let a = 0; a < C; a++) {
      let v = 0;
      for (let b = 0; b < C; b++) v += w[a * C + b] * raw[s * C + b];
      out[s * C + a] = v;
      out[(s + pairs) * C + a] = -v;
    }
  }
  return out;
}

function inverseSqrt(a: Float64Array, C: number): Float64Array {
  const e = symmetricEigen(a, C);
  return spectralFunction(e.values, e.vectors, C, (x) => 1 / Math.sqrt(x));
}

/** Q f(Λ) Qᵀ for a symmetric C×C matrix given its eigen-decomposition (columns of `vectors`). */
function spectralFunction(values: Float64Array, vectors: Float64Array, C: number, f: (x: number) => number): Float64Array {
  const out = new Float64Array(C * C);
  for (let k = 0; k < C; k++) {
    const fk = f(values[k]);
    if (fk === 0) continue;
    for (let a = 0; a < C; a++) {
      const qa = vectors[a * C + k] * fk;
      if (qa === 0) continue;
      for (let b = 0; b < C; b++) out[a * C + b] += qa * vectors[b * C + k];
    }
  }
  return out;
}

/** Per-example Gaussian expectations at the current (μ, Σ). */
interface OutputMoments {
  /** E[δ_b], n × C. */
  delta: Float64Array;
  /** E[δ_b δ_bᵀ], n × C × C. */
  deltaOuter: Float64Array;
  /** E[K_b], n × C × C. */
  curvature: Float64Array;
  /** mean_b E[ℓ_b(z)] − ℓ_b(z*_b). */
  lossChange: number;
}

/**
 * In place: the lower-triangular L with L Lᵀ = V (C×C, row-major), a pivot ≤ 0 leaving its column 0 (V
 * positive semi-definite). Any factor serves: the points' own covariance is exactly I.
 */
function choleskyPsd(V: Float64Array, L: Float64Array, C: number): void {
  L.fill(0);
  const scale = Math.max(1e-300, ...Array.from({ length: C }, (_, i) => Math.abs(V[i * C + i])));
  for (let j = 0; j < C; j++) {
    let djj = V[j * C + j];
    for (let k = 0; k < j; k++) djj -= L[j * C + k] * L[j * C + k];
    if (!(djj > 1e-14 * scale)) continue;
    const ljj = Math.sqrt(djj);
    L[j * C + j] = ljj;
    for (let i = j + 1; i < C; i++) {
      let t = V[i * C + j];
      for (let k = 0; k < j; k++) t -= L[i * C + k] * L[j * C + k];
      L[i * C + j] = t / ljj;
    }
  }
}

function outputMoments(d: DenseLayerCurvature, mu: Float64Array, S: Float64Array, xi: Float64Array, points: number): OutputMoments {
  const loss = d.outputLoss;
  if (loss === undefined) throw new Error('denseClosure: the layer has no output loss');
  const { n, features: F, outputs: C } = d;
  const V = projectToOutputs(d, S);
  const delta = new Float64Array(n * C);
  const deltaOuter = new Float64Array(n * C * C);
  const curvature = new Float64Array(n * C * C);
  const m = new Float64Array(C);
  const L = new Float64Array(C * C);
  const z = new Float64Array(C);
  const ep = new Float64Array(C);
  const epp = new Float64Array(C * C);
  let lossChange = 0;
  for (let b = 0; b < n; b++) {
    const y = loss.targets.subarray(b * C, b * C + C);
    const z0 = loss.logits.subarray(b * C, b * C + C);
    let ySum = 0;
    for (let c = 0; c < C; c++) ySum += y[c];
    for (let c = 0; c < C; c++) {
      let t = z0[c];
      for (let f = 0; f < F; f++) t += mu[c * F + f] * d.inputs[b * F + f];
      m[c] = t;
    }
    choleskyPsd(V.subarray(b * C * C, (b + 1) * C * C), L, C);
    const lse0 = logSumExp(z0, z0.length);
    ep.fill(0);
    epp.fill(0);
    let dl = 0;
    for (let s = 0; s < points; s++) {
      const xo = s * C;
      let mx = -Infinity;
      for (let a = 0; a < C; a++) {
        let t = m[a];
        for (let c = 0; c <= a; c++) t += L[a * C + c] * xi[xo + c];
        z[a] = t;
        if (t > mx) mx = t;
      }
      let sum = 0;
      let yz = 0;
      for (let c = 0; c < C; c++) {
        yz += y[c] * (z[c] - z0[c]);
        z[c] = Math.exp(z[c] - mx);
        sum += z[c];
      }
      dl += ySum * (mx + Math.log(sum) - lse0) - yz;
      const inv = 1 / sum;
      for (let a = 0; a < C; a++) {
        const pa = z[a] * inv;
        z[a] = pa;
        ep[a] += pa;
        for (let c = 0; c <= a; c++) epp[a * C + c] += pa * z[c];
      }
    }
    lossChange += dl / points;
    // δ = ySum·p − y, K = ySum·(diag p − p pᵀ): both from E[p] and E[p pᵀ].
    for (let a = 0; a < C; a++) {
      const pa = ep[a] / points;
      delta[b * C + a] = ySum * pa - y[a];
      for (let c = 0; c <= a; c++) {
        const pc = ep[c] / points;
        const ppac = epp[a * C + c] / points;
        const k = ySum * ((a === c ? pa : 0) - ppac);
        const dd = ySum * ySum * ppac - ySum * (pa * y[c] + y[a] * pc) + y[a] * y[c];
        curvature[(b * C + a) * C + c] = curvature[(b * C + c) * C + a] = k;
        deltaOuter[(b * C + a) * C + c] = deltaOuter[(b * C + c) * C + a] = dd;
      }
    }
  }
  return { delta, deltaOuter, curvature, lossChange: lossChange / n };
}

function logSumExp(z: Float64Array, len: number): number {
  let mx = -Infinity;
  for (let c = 0; c < len; c++) if (z[c] > mx) mx = z[c];
  let s = 0;
  for (let c = 0; c < len; c++) s += Math.exp(z[c] - mx);
  return mx + Math.log(s);
}

/** mean_b x̃_b ⊗ v_b in the c·F + f order (v: n × C). */
function meanOuter(d: DenseLayerCurvature, v: Float64Array): Float64Array {
  const { n, features: F, outputs: C } = d;
  const out = new Float64Array(C * F);
  for (let b = 0; b < n; b++) for (let c = 0; c < C; c++) {
    const vc = v[b * C + c] / n;
    if (vc === 0) continue;
    for (let f = 0; f < F; f++) out[c * F + f] += vc * d.inputs[b * F + f];
  }
  return out;
}

/** Σ at the closure's fixed point for each η (ascending order is fastest: each warm-starts the next). */
export function denseClosureCurve(d: DenseLayerCurvature, dyn: SgdDynamics, etas: number[], opts: DenseClosureOptions = {}): DenseClosureCurve {
  if (dyn.momentum !== 0 || dyn.nesterov) throw new Error('denseClosure: momentum is not modelled');
  if (d.outputLoss === undefined) throw new Error('denseClosure: the layer has no output loss (MSE is quadratic: use dense-full)');
  const cpu = cpuSeconds;
  const c0 = cpu();
  const inc = opts.lossIncludesPenalty ?? false;
  const s = denseSetup(d, dyn.weightDecay, inc);
  const P = s.P;
  const mo = batchMoments(dyn);
  const xi = momentMatchedNormals(opts.samplePairs ?? 256, d.outputs, opts.seed ?? 1);
  const points = xi.length / d.outputs;
  const tol = opts.tolerance ?? 1e-3;
  const maxIt = opts.maxIterations ?? 60;
  const flat = 1e-12 * Math.max(...s.h.map(Math.abs));
  // The penalty (+ weight decay) gradient at Φ*, from stationarity: −mean_b r_b ⊗ x̃_b.
  const gData = meanOuter(d, d.outputGradient);
  // Measured penalty gradient d_m,i Φ*_i = (d_m,i / d'_i)·(−ḡ_data,i) (d_m ≤ d', both 0 for unpenalised parameters).
  const measuredPenaltyGrad = gData.map((g, i) => (s.stepDiag[i] > 0 ? (-g * s.measureDiag[i]) / s.stepDiag[i] : 0));
  const out: DenseClosurePoint[] = [];
  let mu: Float64Array = new Float64Array(P);
  let St: Float64Array = new Float64Array(P * P);
  let S: Float64Array = new Float64Array(P * P);
  let prevEta = 0;
  let outOfTime = false;
  for (const eta of etas) {
    if (opts.cpuSeconds !== undefined && cpu() - c0 > opts.cpuSeconds) {
      outOfTime = true;
      break;
    }
    if (prevEta > 0) {
      // Σ and μ grow about linearly with η: scale the previous solution as the start.
      const f = eta / prevEta;
      mu = mu.map((v) => v * f);
      St = St.map((v) => v * f);
      S = S.map((v) => v * f);
    }
    let iterations = 0;
    let converged = false;
    let finite = true;
    while (iterations < maxIt && !converged) {
      iterations++;
      const om = outputMoments(d, mu, S, xi, points);
      const step = closureStep(d, s, mo, eta, mu, S, St, om, gData, flat);
      finite = Number.isFinite(step.norm);
      if (!finite) break;
      converged = step.diff <= tol * tol * step.norm;
      mu = step.mu;
      St = step.St;
      S = step.S;
    }
    let excess: number | null = null;
    if (finite && converged) {
      const om = outputMoments(d, mu, S, xi, points);
      excess = om.lossChange;
      for (let i = 0; i < P; i++) excess += measuredPenaltyGrad[i] * mu[i] + 0.5 * s.measureDiag[i] * (mu[i] * mu[i] + S[i * P + i]);
    }
    out.push({ eta, excess, iterations, converged: converged && finite, meanShift: Math.hypot(...mu) });
    if (!(converged && finite)) {
      mu = new Float64Array(P);
      St = new Float64Array(P * P);
      S = new Float64Array(P * P);
      prevEta = 0;
    } else prevEta = eta;
  }
  return { points: out, samplePoints: points, cpuSeconds: cpu() - c0, outOfTime };
}

/**
 * One fixed-point step. With H_s the quadratic model's stepped curvature (eigenvalues h, vectors Q) and
 * ΔH = H̄ − H_s, the second-moment equation reads
 *   L(Σ) − η c2 H_s Σ H_s = η c1 E_e E_b[g g ᵀ] − (Σ ΔH + ΔH Σ) + η c2 (H̄ Σ H̄ − H_s Σ H_s),
 * L(Σ) = H_s Σ + Σ H_s, diagonal in H_s's eigenbasis; E_e E_b[g gᵀ] = mean_b x̃x̃ᵀ ⊗ E[δδᵀ] + H̄ΣD' + D'ΣH̄
 * − D'ΣD' − q qᵀ with q = D'μ − ḡ_data (Stein's lemma on the penalty's linear part). The mean moves by
 * a Newton step with H_s: μ ← μ − H_s⁺ E[∇L].
 */
function closureStep(
  d: DenseLayerCurvature,
  s: DenseSetup,
  mo: ReturnType<typeof batchMoments>,
  eta: number,
  mu: Float64Array,
  S: Float64Array,
  St: Float64Array,
  om: OutputMoments,
  gData: Float64Array,
  flat: number,
): { mu: Float64Array; S: Float64Array; St: Float64Array; diff: number; norm: number } {
  const P = s.P;
  const D = s.stepDiag;
  const HJbar = blockOuterSum(d, om.curvature);
  const dH = new Float64Array(P * P);
  for (let u = 0; u < P * P; u++) dH[u] = HJbar[u] - s.curvatureGN[u];
  const Hbar = HJbar;
  for (let i = 0; i < P; i++) Hbar[i * P + i] += D[i];
  const noise = blockOuterSum(d, om.deltaOuter);
  const HS = gemmRowMajor(Hbar, S, P, P, P);
  const dHS = gemmRowMajor(dH, S, P, P, P);
  const HSH = gemmRowMajor(HS, Hbar, P, P, P);
  const q = new Float64Array(P);
  for (let i = 0; i < P; i++) q[i] = D[i] * mu[i] - gData[i];
  const R = new Float64Array(P * P);
  for (let i = 0; i < P; i++) {
    for (let j = 0; j < P; j++) {
      const u = i * P + j;
      // (ΣH̄)_ij = (H̄Σ)_ji and (ΣΔH)_ij = (ΔHΣ)_ji by symmetry.
      const gg = noise[u] + HS[u] * D[j] + D[i] * HS[j * P + i] - D[i] * S[u] * D[j] - q[i] * q[j];
      R[u] = eta * mo.perExampleWeight * gg - (dHS[u] + dHS[j * P + i]) + eta * mo.meanWeight * HSH[u];
    }
  }
  const Rt = toEigenBasis(s.Qt, R, P);
  const next = new Float64Array(P * P);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < P; i++) {
    for (let j = 0; j < P; j++) {
      const sum = s.h[i] + s.h[j];
      if (sum <= flat) continue;
      const u = i * P + j;
      // The c2 H_s Σ H_s part of H̄ΣH̄ is h_i Σ̃_ij h_j in the eigenbasis: moved back to the left.
      const v = (Rt[u] - eta * mo.meanWeight * s.h[i] * St[u] * s.h[j]) / (sum - eta * mo.meanWeight * s.h[i] * s.h[j]);
      next[u] = v;
      diff += (v - St[u]) ** 2;
      norm += v * v;
    }
  }
  // Drift E[∇L] = mean_b x̃ ⊗ (E[δ_b] − δ*_b) + D'μ (stationarity at Φ*), Newton step with H_s.
  const drift = meanOuter(d, om.delta);
  for (let i = 0; i < P; i++) drift[i] += D[i] * mu[i] - gData[i];
  const dt = new Float64Array(P);
  for (let k = 0; k < P; k++) {
    if (s.h[k] <= flat) continue;
    let t = 0;
    for (let i = 0; i < P; i++) t += s.Q[i * P + k] * drift[i];
    dt[k] = t / s.h[k];
  }
  const nextMu = mu.slice();
  for (let i = 0; i < P; i++) {
    let t = 0;
    for (let k = 0; k < P; k++) t += s.Q[i * P + k] * dt[k];
    nextMu[i] -= t;
  }
  return { mu: nextMu, S: toParameterBasis(s.Q, next, P), St: next, diff, norm };
}
