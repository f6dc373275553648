/**
 * The exact oracle of THEORY.md §4: for SGD-type updates on least squares the error e = w − w* (and
 * the momentum buffer) follows a linear recursion with random coefficients, so its stationary second
 * moment solves a linear system. L(η) − L* = ½ tr(H_measured · E[eeᵀ]) then holds exactly for every η
 * below the mean-square stability limit, with no small-η expansion.
 *
 * Update rules (g = P(M̂e + ξ̂), batch means over B examples drawn i.i.d. or without replacement):
 *   SGD:        e' = (I − ηK)e − ηg
 *   heavy ball: v' = βv + (1−d)g,  e' = e − ηv'              (PyTorch SGD(momentum=β, dampening=d))
 *   Nesterov:   v' = βv + (1−d)g,  e' = e − η(g + βv')        (PyTorch SGD(nesterov=True))
 * with M_b = A_b (+λI, coupled weight decay), K = λI for decoupled weight decay (AdamW-style), P a fixed
 * diagonal preconditioner. The second moment Z of z = (e[, v]) satisfies Z = E[J Z Jᵀ] + E[u uᵀ]
 * (cross terms vanish because E z = 0 and z is independent of the next batch), i.e.
 * (I − E[J⊗J]) vec Z = vec E[u uᵀ] (THEORY.md §4, last paragraph).
 */
import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { lsqStats, type LsqProblem, type LsqStats } from './lsq-problem';

export interface OracleSetup {
  batchSize: number;
  sampling: 'with_replacement' | 'without_replacement';
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** coupled (PyTorch SGD/Adam weight_decay: added to the gradient) or decoupled (AdamW). Default coupled. */
  decay?: 'coupled' | 'decoupled';
  /** Diagonal of a fixed preconditioner P (default identity). */
  precond?: number[];
}

type Mat = number[][];

const zeros = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array<number>(c).fill(0));
function mul(a: Mat, b: Mat): Mat {
  const out = zeros(a.length, b[0].length);
  for (let i = 0; i < a.length; i++) for (let k = 0; k < b.length; k++) for (let j = 0; j < b[0].length; j++) out[i][j] += a[i][k] * b[k][j];
  return out;
}
const tr = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));
const add = (a: Mat, b: Mat, s = 1): Mat => a.map((r, i) => r.map((v, j) => v + s * b[i][j]));
const scale = (a: Mat, s: number): Mat => a.map((r) => r.map((v) => v * s));
const diag = (v: number[]): Mat => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));

interface Model {
  stats: LsqStats;
  d: number;
  /** Per-example stepping matrices P·M_b and noise vectors P·ξ_b (mean zero). */
  PM: Mat[];
  Pxi: number[][];
  K: Mat;
  /** Hessian of the data loss and of the stepped (regularised) loss. */
  Hdata: Mat;
  Hstep: Mat;
  /** Batch-moment coefficients: E[M̂XM̂ᵀ] = c1·mean_b M_bXM_bᵀ + c2·M̄XM̄ᵀ; E[ξ̂ξ̂ᵀ] = f·Cov(ξ). */
  c1: number;
  c2: number;
  f: number;
  PMbar: Mat;
  momentum: number;
  damp: number;
  nesterov: boolean;
}

function buildModel(p: LsqProblem, s: OracleSetup): Model {
  const lambda = s.weightDecay ?? 0;
  const decoupled = (s.decay ?? 'coupled') === 'decoupled';
  const stats = lsqStats(p, decoupled ? 0 : lambda);
  const { n, d } = stats;
  const P = diag(s.precond ?? new Array<number>(d).fill(1));
  let wStar = stats.wStar;
  let xi = stats.g;
  if (decoupled && lambda > 0) {
    // Fixed point of w ← w − ηλw − ηP(Hw − c̄): (λI + PH) w* = P c̄; noise = data gradient minus its mean.
    const cbar = stats.c.reduce((acc, cb) => acc.map((v, i) => v + cb[i] / n), new Array<number>(d).fill(0));
    const lhs = add(scale(diag(new Array<number>(d).fill(1)), lambda), mul(P, stats.H));
    wStar = solve(new Matrix(lhs), new Matrix(mul(P, cbar.map((v) => [v])))).to1DArray();
    const raw = stats.A.map((Ab, b) => Ab.map((row, i) => row.reduce((acc, v, j) => acc + v * wStar[j], 0) - stats.c[b][i]));
    const mean = raw.reduce((acc, r) => acc.map((v, i) => v + r[i] / n), new Array<number>(d).fill(0));
    xi = raw.map((r) => r.map((v, i) => v - mean[i]));
  }
  const B = s.batchSize;
  let c1: number;
  let c2: number;
  let f: number;
  if (s.sampling === 'with_replacement') {
    c1 = 1 / B;
    c2 = 1 - 1 / B;
    f = 1 / B;
  } else {
    if (B > n) throw new Error('batch larger than the dataset');
    c1 = n === 1 ? 1 : 1 / B - (B - 1) / (B * (n - 1));
    c2 = n === 1 ? 0 : ((B - 1) * n) / (B * (n - 1));
    f = n === 1 ? 0 : (n - B) / (B * (n - 1));
  }
  const PM = stats.A.map((Ab) => mul(P, Ab));
  const PMbar = PM.reduce((acc, m) => add(acc, m, 1 / n), zeros(d, d));
  return {
    stats,
    d,
    PM,
    Pxi: xi.map((v) => mul(P, v.map((x) => [x])).map((r) => r[0])),
    K: decoupled ? scale(diag(new Array<number>(d).fill(1)), lambda) : zeros(d, d),
    Hdata: stats.Hdata,
    Hstep: decoupled ? stats.Hdata : stats.H,
    c1,
    c2,
    f,
    PMbar,
    momentum: s.momentum ?? 0,
    damp: s.dampening ?? 0,
    nesterov: s.nesterov ?? false,
  };
}

/** E[(PM̂) X (PM̂)ᵀ] over one batch. */
function batchSandwich(m: Model, X: Mat): Mat {
  let acc = zeros(m.d, m.d);
  for (const Mb of m.PM) acc = add(acc, mul(mul(Mb, X), tr(Mb)), m.c1 / m.PM.length);
  return add(acc, mul(mul(m.PMbar, X), tr(m.PMbar)), m.c2);
}

/** J = J0 + k ⊗ (PM̂), u = c ⊗ (Pξ̂): the block pattern of each update rule. */
function pattern(m: Model, eta: number): { s: number; J0: Mat; k: number[][]; c: number[] } {
  const d = m.d;
  const I = diag(new Array<number>(d).fill(1));
  const β = m.momentum;
  const dmp = m.damp;
  if (β === 0 && dmp === 0 && !m.nesterov) return { s: 1, J0: add(I, m.K, -eta), k: [[-eta]], c: [-eta] };
  if (m.K.some((r) => r.some((v) => v !== 0))) throw new Error('oracle: decoupled weight decay with momentum is not modelled');
  const J0 = zeros(2 * d, 2 * d);
  const gain = m.nesterov ? 1 + β * (1 - dmp) : 1 - dmp;
  const vToE = m.nesterov ? -eta * β * β : -eta * β;
  for (let i = 0; i < d; i++) {
    J0[i][i] = 1;
    J0[i][d + i] = vToE;
    J0[d + i][d + i] = β;
  }
  return { s: 2, J0, k: [[-eta * gain, 0], [1 - dmp, 0]], c: [-eta * gain, 1 - dmp] };
}

function blocks(Z: Mat, s: number, d: number): Mat[][] {
  return Array.from({ length: s }, (_, p) => Array.from({ length: s }, (_, q) => Z.slice(p * d, (p + 1) * d).map((r) => r.slice(q * d, (q + 1) * d))));
}

/** T(Z) = E[J Z Jᵀ]. */
function secondMomentMap(m: Model, pat: ReturnType<typeof pattern>, Z: Mat): Mat {
  const { s, J0, k } = pat;
  const d = m.d;
  const n = s * d;
  // E[J] = J0 + k ⊗ PM̄
  const EJ1 = zeros(n, n);
  for (let p = 0; p < s; p++) for (let q = 0; q < s; q++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) EJ1[p * d + i][q * d + j] = k[p][q] * m.PMbar[i][j];
  let out = mul(mul(J0, Z), tr(J0));
  out = add(out, mul(mul(J0, Z), tr(EJ1)));
  out = add(out, mul(mul(EJ1, Z), tr(J0)));
  const Zb = blocks(Z, s, d);
  for (let a = 0; a < s; a++) {
    for (let b = 0; b < s; b++) {
      let blk = zeros(d, d);
      for (let p = 0; p < s; p++) for (let q = 0; q < s; q++) if (k[a][p] !== 0 && k[b][q] !== 0) blk = add(blk, batchSandwich(m, Zb[p][q]), k[a][p] * k[b][q]);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[a * d + i][b * d + j] += blk[i][j];
    }
  }
  return out;
}

function operatorMatrix(m: Model, pat: ReturnType<typeof pattern>): Matrix {
  const n = pat.s * m.d;
  const T = new Matrix(n * n, n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const E = zeros(n, n);
      E[a][b] = 1;
      const img = secondMomentMap(m, pat, E);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) T.set(i * n + j, a * n + b, img[i][j]);
    }
  }
  return T;
}

export interface OracleResult {
  /** Stationary E[eeᵀ]. */
  S: Mat;
  /** L(η) − L* of the loss SGD steps on (with the penalty when coupled). */
  excess: number;
  /** L_data(η) − L_data(w*): the loss measured without the penalty. */
  excessData: number;
  stats: LsqStats;
}

/** Exact stationary excess loss at learning rate η (THEORY.md §4). */
export function oracleExcess(p: LsqProblem, setup: OracleSetup, eta: number): OracleResult {
  const m = buildModel(p, setup);
  const pat = pattern(m, eta);
  const n = pat.s * m.d;
  const T = operatorMatrix(m, pat);
  const lhs = Matrix.eye(n * n).sub(T);
  // E[uuᵀ] = (c cᵀ) ⊗ (f · Cov(Pξ)).
  const covXi = zeros(m.d, m.d);
  for (const v of m.Pxi) for (let i = 0; i < m.d; i++) for (let j = 0; j < m.d; j++) covXi[i][j] += (v[i] * v[j]) / m.Pxi.length;
  const rhs = new Matrix(n * n, 1);
  for (let a = 0; a < pat.s; a++) for (let b = 0; b < pat.s; b++) for (let i = 0; i < m.d; i++) for (let j = 0; j < m.d; j++) rhs.set((a * m.d + i) * n + (b * m.d + j), 0, pat.c[a] * pat.c[b] * m.f * covXi[i][j]);
  const z = solve(lhs, rhs).to1DArray();
  const S = zeros(m.d, m.d);
  for (let i = 0; i < m.d; i++) for (let j = 0; j < m.d; j++) S[i][j] = z[i * n + j];
  const half = (H: Mat): number => 0.5 * H.reduce((acc, row, i) => acc + row.reduce((a2, v, j) => a2 + v * S[j][i], 0), 0);
  return { S, excess: half(m.Hstep), excessData: half(m.Hdata), stats: m.stats };
}

/**
 * What the gradient engine would measure at the oracle's stationary point: per-example gradients of
 * the data loss (rows), their mean, and the data-loss Hessian. For decoupled decay the point is the
 * fixed point of the decoupled update, where the mean data gradient is −λP⁻¹w*, not 0.
 */
export function engineView(p: LsqProblem, setup: OracleSetup): { wStar: number[]; gData: number[][]; Hdata: Mat } {
  const m = buildModel(p, setup);
  const decoupled = (setup.decay ?? 'coupled') === 'decoupled' && (setup.weightDecay ?? 0) > 0;
  if (!decoupled) return { wStar: m.stats.wStar, gData: m.stats.gData, Hdata: m.stats.Hdata };
  const { stats } = m;
  const d = stats.d;
  const P = diag(setup.precond ?? new Array<number>(d).fill(1));
  const cbar = stats.c.reduce((acc, cb) => acc.map((v, i) => v + cb[i] / stats.n), new Array<number>(d).fill(0));
  const lhs = add(scale(diag(new Array<number>(d).fill(1)), setup.weightDecay as number), mul(P, stats.H));
  const wStar = solve(new Matrix(lhs), new Matrix(mul(P, cbar.map((v) => [v])))).to1DArray();
  const gData = stats.A.map((Ab, b) => Ab.map((row, i) => row.reduce((acc, v, j) => acc + v * wStar[j], 0) - stats.c[b][i]));
  return { wStar, gData, Hdata: stats.Hdata };
}

/** Spectral radius of the second-moment map at η. */
export function secondMomentRadius(p: LsqProblem, setup: OracleSetup, eta: number): number {
  const m = buildModel(p, setup);
  const T = operatorMatrix(m, pattern(m, eta));
  const e = new EigenvalueDecomposition(T);
  return Math.max(...e.realEigenvalues.map((re, i) => Math.hypot(re, e.imaginaryEigenvalues[i])));
}

/** Mean-square stability limit: the η where the second-moment map's spectral radius reaches 1 (bisection). */
export function meanSquareStabilityLimit(p: LsqProblem, setup: OracleSetup, hi = 10): number {
  let lo = 0;
  while (secondMomentRadius(p, setup, hi) < 1) hi *= 2;
  for (let it = 0; it < 200 && hi - lo > 1e-16 * hi; it++) {
    const mid = 0.5 * (lo + hi);
    if (secondMomentRadius(p, setup, mid) < 1) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * dL/dη at η = 0 from the exact curve: polynomial (Richardson) extrapolation of the secants
 * (L(η) − L*)/η at η = h, 2h, 4h to η = 0, error O(h³).
 */
export function oracleSlope(p: LsqProblem, setup: OracleSetup, which: 'excess' | 'excessData' = 'excess', h = 1e-4): number {
  const sec = [h, 2 * h, 4 * h].map((eta) => oracleExcess(p, setup, eta)[which] / eta);
  // Quadratic through (h, s1), (2h, s2), (4h, s3), evaluated at 0.
  const [s1, s2, s3] = sec;
  return (8 * s1 - 6 * s2 + s3) / 3;
}
