/**
 * Random reshuffling (THEORY.md §3): within an epoch the per-example gradients at Φ* sum to zero, so
 * the noise is anti-correlated and the linear law fails for slowly relaxing directions.
 *
 * Quadratic model, additive noise, per Hessian eigen-direction (curvature h, per-example gradient
 * variance σ² along it, a = 1 − ηh). With B > 1 (derivation, generalising the B = 1 result of §3):
 * an epoch is a random partition into m = ⌊N/B⌋ batches (drop_last); batch means ξ_t of one epoch have
 *   Var ξ_t = σ²(N−B)/(B(N−1)),   Cov(ξ_s, ξ_t) = −σ²/(N−1)  (s ≠ t, sampling without replacement),
 * i.e. covariance c·(r I − 11ᵀ) with c = σ²/(N−1), r = N/B. With e_{k+1} = a e_k − η ξ_k and e_0
 * independent of the epoch's permutation:
 *   S(k) = r·Σ_{i<k} a^{2i} − (Σ_{i<k} a^i)²,   E e_k² = a^{2k} V₀ + η² c S(k),
 *   V₀ = η² c S(m)/(1 − a^{2m}),                 excess = (w/2)·mean_{k<m} E e_k²,
 * with w = h when the measured loss is the stepped one. B = 1 gives exactly the §3 formula. Each
 * direction's excess depends only on its own noise, so cross-direction correlations do not matter.
 * The model neglects multiplicative (Hessian) noise: it is the leading order in η.
 */
import { checkShape, squareSide } from '../linalg/dense';
import { symmetricEigen } from '../linalg/symmetric-eigen';

/**
 * Stationary excess loss of one direction under reshuffling. `weight` is the curvature of the measured
 * loss along the direction (h, or h − λ when the penalty is not measured). Infinity when |a| ≥ 1.
 */
export function reshuffleDirectionExcess(h: number, sigma2: number, eta: number, n: number, batchSize: number, weight = h): number {
  const m = Math.floor(n / batchSize);
  if (m < 1) throw new Error(`reshuffle: batch size ${batchSize} exceeds the dataset size ${n}`);
  if (sigma2 === 0 || eta === 0) return 0;
  const a = 1 - eta * h;
  if (Math.abs(a) >= 1) return Number.POSITIVE_INFINITY;
  const r = n / batchSize;
  const c = n > 1 ? sigma2 / (n - 1) : 0;
  // S(k) = (r − k)·G2(k) + k·M2(k) with G2 = Σ a^{2i}, M2 = Σ (a^i − mean)²: k·G2 − G1² = k·M2 exactly,
  // and every term is ≥ 0, so there is no cancellation when ηh·m is small (where S(m) → 0).
  let g2 = 0;
  let meanPow = 0;
  let m2 = 0;
  let pw = 1; // a^k
  const sK = new Float64Array(m + 1);
  const a2k = new Float64Array(m + 1);
  for (let k = 0; k <= m; k++) {
    sK[k] = (r - k) * g2 + k * m2;
    a2k[k] = pw * pw;
    // Welford update with x = a^k.
    const kk = k + 1;
    const delta = pw - meanPow;
    meanPow += delta / kk;
    m2 += delta * (pw - meanPow);
    g2 += pw * pw;
    pw *= a;
  }
  const oneMinusA2m = a === 0 ? 1 : -Math.expm1(2 * m * Math.log(Math.abs(a)));
  const v0 = (eta * eta * c * sK[m]) / oneMinusA2m;
  let sum = 0;
  for (let k = 0; k < m; k++) sum += a2k[k] * v0 + eta * eta * c * sK[k];
  return (weight / 2) * (sum / m);
}

export interface ReshuffleOptions {
  batchSize: number;
  lrs: number[];
  /** Coupled L2 weight decay λ: the stepped Hessian is H + λI. Default 0. */
  weightDecay?: number;
  /** Whether the measured loss includes ½λ‖w‖² (curvature h + λ) or not (h). Default true. */
  lossIncludesPenalty?: boolean;
  /** Eigenvalues ≤ this fraction of the largest are treated as flat and skipped. Default 1e-12. */
  flatTolerance?: number;
}

export interface ReshuffleCurve {
  lr: number[];
  excess: number[];
  /** Learning rates left out because some direction is unstable there (η(h+λ) ≥ 2). */
  unstable_lrs: number[];
  /** Directions with curvature ≤ 0 (not a strict minimum there): no stationary state, skipped. */
  skipped_directions: number;
  parameters: number;
  examples: number;
}

/**
 * L(η) − L* under random reshuffling from the Hessian of the measured (data) loss (P×P, row-major) and
 * per-example gradients at the checkpoint (N×P, row-major), summed over eigen-directions. Cost O(P³ + N·P²).
 */
export function reshufflePrediction(hessian: Float64Array, perExampleGrads: Float64Array, opts: ReshuffleOptions): ReshuffleCurve {
  const p = squareSide(hessian, 'Hessian');
  const n = perExampleGrads.length / p;
  if (!Number.isInteger(n) || n < 2) throw new Error(`per-example gradients: ${perExampleGrads.length} entries is not N×${p} with N ≥ 2`);
  checkShape(perExampleGrads, n, p, 'per-example gradients');
  const B = opts.batchSize;
  if (!Number.isInteger(B) || B < 1 || B > n) throw new Error(`reshuffle: batch size ${B} must be an integer in [1, ${n}]`);
  const lambda = opts.weightDecay ?? 0;
  const withPenalty = opts.lossIncludesPenalty ?? true;
  const eig = symmetricEigen(hessian, p);
  const hMax = eig.values[p - 1] + lambda;
  const tol = (opts.flatTolerance ?? 1e-12) * Math.max(hMax, 0);
  // σ_k² = population variance of the projections z_bk = g_bᵀu_k.
  const sigma2 = new Float64Array(p);
  const mean = new Float64Array(p);
  const z = new Float64Array(p);
  for (let b = 0; b < n; b++) {
    z.fill(0);
    const row = b * p;
    for (let i = 0; i < p; i++) {
      const gi = perExampleGrads[row + i];
      if (gi === 0) continue;
      const vi = i * p;
      for (let k = 0; k < p; k++) z[k] += gi * eig.vectors[vi + k];
    }
    for (let k = 0; k < p; k++) {
      mean[k] += z[k];
      sigma2[k] += z[k] * z[k];
    }
  }
  for (let k = 0; k < p; k++) sigma2[k] = Math.max(0, sigma2[k] / n - (mean[k] / n) ** 2);
  let skipped = 0;
  const dirs: { h: number; s2: number; w: number }[] = [];
  for (let k = 0; k < p; k++) {
    const h = eig.values[k] + lambda;
    if (h <= tol) {
      if (sigma2[k] > 0) skipped++;
      continue;
    }
    dirs.push({ h, s2: sigma2[k], w: withPenalty ? h : eig.values[k] });
  }
  const lr: number[] = [];
  const excess: number[] = [];
  const unstable: number[] = [];
  for (const eta of opts.lrs) {
    if (!(eta > 0)) continue;
    if (eta * hMax >= 2) {
      unstable.push(eta);
      continue;
    }
    let total = 0;
    for (const d of dirs) total += reshuffleDirectionExcess(d.h, d.s2, eta, n, B, d.w);
    lr.push(eta);
    excess.push(total);
  }
  return { lr, excess, unstable_lrs: unstable, skipped_directions: skipped, parameters: p, examples: n };
}
