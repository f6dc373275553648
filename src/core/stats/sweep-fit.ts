/**
 * The observed slope from a learning-rate sweep (THEORY.md §5): weighted least squares of converged
 * loss on η with weights 1/SE², restricted to the small-η range where a straight line is adequate.
 *
 * Linear-range selection: starting from all usable points, fit the line; if the χ² goodness of fit or
 * the quadratic coefficient of L = a + sη + qη² says the line is inadequate, drop the largest η and
 * refit, down to `minPoints`. Every decision is reported per point.
 */
import { weightedLeastSquares, type LinearLeastSquares } from '../linalg/least-squares';
import type { ObservedFit } from '../result/schema';
import { chiSquareSurvival, criticalValue, twoSidedTPValue } from './distributions';

export interface SweepPointInput {
  run: string;
  lr: number | null;
  loss: number | null;
  stderr: number | null;
  /** Flags from convergedLoss; points flagged in `excludeFlags` are left out. */
  flags?: string[];
  stationary?: boolean;
}

export interface SweepFitOptions {
  /** Level of the χ² and quadratic-term tests that decide the linear range. Default 0.05. */
  alpha?: number;
  /** Never drop below this many points (3 with an intercept, 2 through a known L*). */
  minPoints?: number;
  /**
   * L* = L(η → 0) when known (sweep started at the checkpoint whose loss is L*): then the model is
   * L − L* = sη (+ qη²) through the origin, i.e. WLS of the secants (THEORY.md §5).
   */
  knownLossAtZero?: number | null;
  /** Points with any of these flags are excluded. Default diverged, too_short, empty. */
  excludeFlags?: string[];
  /** Also exclude points whose converged loss still trends. Default false (kept, with a note). */
  excludeNonStationary?: boolean;
}

export interface SweepPointDecision {
  run: string;
  lr: number | null;
  used_in_fit: boolean;
  excluded_reason?: string;
}

export interface SweepFit {
  /** `wls`: weights 1/SE²; `ols`: no standard errors given, residual variance used; `none`: no fit. */
  method: 'wls' | 'ols' | 'none';
  slope: number | null;
  slope_stderr: number | null;
  /** Degrees of freedom for a t interval on the slope; null when the weights are known (normal). */
  slope_dof: number | null;
  intercept: number | null;
  intercept_stderr: number | null;
  slope_intercept_cov: number | null;
  n_points: number;
  points: SweepPointDecision[];
  chi2: number | null;
  dof: number | null;
  p_value: number | null;
  lr_max_used: number | null;
  /** WLS fit L = a + sη + qη² over every usable point (before the linear-range cut). */
  quadratic: { q: number; q_stderr: number; slope: number; slope_stderr: number } | null;
  /** √(χ²/dof) applied to the standard errors when the final line still fits badly, else null. */
  birge_scale: number | null;
  notes: string[];
}

interface Usable {
  run: string;
  lr: number;
  loss: number;
  stderr: number | null;
}

interface PolyFit {
  ls: LinearLeastSquares;
  /** Coefficients in η units: [a, s, q] (a = L* when known). */
  coef: number[];
  cov: number[][];
  chi2: number | null;
  dof: number;
}

const DEFAULT_EXCLUDE = ['diverged', 'too_short', 'empty'];

function fmt(x: number): string {
  return x.toPrecision(3);
}

/**
 * Polynomial fit in η of degree 1 or 2, with η scaled by `scale` for conditioning. With `l0` the
 * intercept is fixed at L* and only the η, η² terms are fitted.
 */
function polyFit(pts: Usable[], degree: 1 | 2, weighted: boolean, l0: number | null, scale: number): PolyFit | null {
  const powers = degree === 1 ? [1] : [1, 2];
  const cols = l0 === null ? [0, ...powers] : powers;
  const x = pts.map((p) => cols.map((k) => (p.lr / scale) ** k));
  const y = pts.map((p) => p.loss - (l0 ?? 0));
  const w = pts.map((p) => (weighted ? 1 / (p.stderr as number) ** 2 : 1));
  const ls = weightedLeastSquares(x, y, w);
  if (!ls) return null;
  const dof = pts.length - cols.length;
  let cov = ls.cov;
  if (!weighted) {
    if (dof <= 0) return null;
    const s2 = ls.rss / dof;
    cov = cov.map((r) => r.map((v) => v * s2));
  }
  // Back to η units: coefficient of η^k is β/scale^k.
  const unscale = cols.map((k) => scale ** -k);
  const coefIn = ls.beta.map((b, i) => b * unscale[i]);
  const covIn = cov.map((r, i) => r.map((v, j) => v * unscale[i] * unscale[j]));
  const coef = [l0 ?? 0, 0, 0];
  const full: number[][] = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  cols.forEach((k, i) => {
    coef[k] = coefIn[i];
    cols.forEach((k2, j) => (full[k][k2] = covIn[i][j]));
  });
  return { ls, coef, cov: full, chi2: weighted ? ls.rss : null, dof };
}

export function fitSweep(points: SweepPointInput[], opts: SweepFitOptions = {}): SweepFit {
  const alpha = opts.alpha ?? 0.05;
  const l0 = opts.knownLossAtZero ?? null;
  const minPoints = Math.max(opts.minPoints ?? (l0 === null ? 3 : 2), l0 === null ? 2 : 1);
  const excludeFlags = opts.excludeFlags ?? DEFAULT_EXCLUDE;
  const notes: string[] = [];
  const decisions = new Map<SweepPointInput, SweepPointDecision>();
  const candidates: { src: SweepPointInput; u: Usable }[] = [];

  for (const p of points) {
    const d: SweepPointDecision = { run: p.run, lr: p.lr, used_in_fit: false };
    decisions.set(p, d);
    const bad = (p.flags ?? []).filter((f) => excludeFlags.includes(f));
    if (p.lr === null || !Number.isFinite(p.lr)) d.excluded_reason = 'no learning rate';
    else if (p.lr <= 0) d.excluded_reason = `learning rate ${p.lr} is not positive`;
    else if (bad.length) d.excluded_reason = bad.join(', ');
    else if (p.loss === null || !Number.isFinite(p.loss)) d.excluded_reason = 'no converged loss';
    else if (opts.excludeNonStationary && p.stationary === false) d.excluded_reason = 'not stationary';
    else candidates.push({ src: p, u: { run: p.run, lr: p.lr, loss: p.loss, stderr: p.stderr } });
  }
  const withSe = candidates.filter((c) => c.u.stderr !== null && Number.isFinite(c.u.stderr) && (c.u.stderr as number) > 0);
  const weighted = withSe.length > 0;
  let usable = candidates;
  if (weighted && withSe.length < candidates.length) {
    for (const c of candidates) if (!withSe.includes(c)) (decisions.get(c.src) as SweepPointDecision).excluded_reason = 'no standard error (other points have one)';
    usable = withSe;
  }
  if (!weighted && candidates.length) notes.push('no standard errors: ordinary least squares with the residual variance');
  usable = [...usable].sort((a, b) => a.u.lr - b.u.lr);
  const trending = usable.filter((c) => c.src.stationary === false).map((c) => c.u.run);
  if (trending.length) notes.push(`kept despite a remaining trend: ${trending.join(', ')}`);

  const none = (why: string): SweepFit => ({
    method: 'none',
    slope: null,
    slope_stderr: null,
    slope_dof: null,
    intercept: null,
    intercept_stderr: null,
    slope_intercept_cov: null,
    n_points: 0,
    points: points.map((p) => decisions.get(p) as SweepPointDecision),
    chi2: null,
    dof: null,
    p_value: null,
    lr_max_used: null,
    quadratic: null,
    birge_scale: null,
    notes: [...notes, why],
  });
  const nParamsLin = l0 === null ? 2 : 1;
  if (usable.length < nParamsLin || (!weighted && usable.length < nParamsLin + 1)) {
    return none(`too few usable points for a line (${usable.length})`);
  }
  if (new Set(usable.map((c) => c.u.lr)).size < nParamsLin) return none('all usable points share one learning rate');

  const scale = usable[usable.length - 1].u.lr;
  const all = usable.map((c) => c.u);
  const quadAll = all.length >= nParamsLin + (weighted ? 1 : 2) ? polyFit(all, 2, weighted, l0, scale) : null;
  const quadratic = quadAll
    ? { q: quadAll.coef[2], q_stderr: Math.sqrt(quadAll.cov[2][2]), slope: quadAll.coef[1], slope_stderr: Math.sqrt(quadAll.cov[1][1]) }
    : null;

  // Linear-range selection from the top.
  let k = usable.length;
  let lin: PolyFit | null = null;
  const zCrit = criticalValue(1 - alpha);
  for (;;) {
    const pts = all.slice(0, k);
    lin = polyFit(pts, 1, weighted, l0, scale);
    if (!lin) return none('the line could not be fitted (degenerate learning rates)');
    const reasons: string[] = [];
    if (weighted && lin.dof >= 1) {
      const p = chiSquareSurvival(lin.chi2 as number, lin.dof);
      if (p < alpha) reasons.push(`χ² = ${fmt(lin.chi2 as number)} on ${lin.dof} dof (p = ${p.toExponential(1)})`);
    }
    const quadDof = k - (nParamsLin + 1);
    const quad = (weighted ? quadDof >= 0 : quadDof >= 1) ? polyFit(pts, 2, weighted, l0, scale) : null;
    if (quad && quad.cov[2][2] > 0) {
      const z = quad.coef[2] / Math.sqrt(quad.cov[2][2]);
      const pq = weighted ? twoSidedTPValue(z) : twoSidedTPValue(z, quadDof);
      const crit = weighted ? zCrit : criticalValue(1 - alpha, quadDof);
      if (Math.abs(z) > crit) reasons.push(`quadratic term q = ${fmt(quad.coef[2])} ± ${fmt(Math.sqrt(quad.cov[2][2]))} (p = ${pq.toExponential(1)})`);
    }
    if (reasons.length && k > minPoints) {
      const dropped = usable[k - 1];
      (decisions.get(dropped.src) as SweepPointDecision).excluded_reason = `beyond the linear range: with it, ${reasons.join('; ')}`;
      k--;
      continue;
    }
    if (reasons.length) notes.push(`the line is still inadequate on the ${k} smallest learning rates: ${reasons.join('; ')}`);
    break;
  }
  for (let i = 0; i < k; i++) (decisions.get(usable[i].src) as SweepPointDecision).used_in_fit = true;

  let cov = lin.cov;
  let chi2 = lin.chi2;
  let pValue = weighted && lin.dof >= 1 ? chiSquareSurvival(chi2 as number, lin.dof) : null;
  let birge: number | null = null;
  let slopeDof: number | null = weighted ? null : lin.dof;
  if (weighted && lin.dof >= 1 && (pValue as number) < alpha && (chi2 as number) > lin.dof) {
    // Errors too small for the scatter: inflate them by the Birge ratio (PDG practice) and use t.
    birge = Math.sqrt((chi2 as number) / lin.dof);
    cov = cov.map((r) => r.map((v) => v * birge! * birge!));
    slopeDof = lin.dof;
    notes.push(`standard errors scaled by the Birge ratio √(χ²/dof) = ${birge.toFixed(2)}`);
  }
  if (!weighted) {
    chi2 = null;
    pValue = null;
  }
  if (k === nParamsLin) notes.push(`${k} points: the line passes through them; its adequacy cannot be tested`);
  const slope = lin.coef[1];
  return {
    method: weighted ? 'wls' : 'ols',
    slope,
    slope_stderr: Math.sqrt(cov[1][1]),
    slope_dof: slopeDof,
    intercept: lin.coef[0],
    intercept_stderr: l0 === null ? Math.sqrt(cov[0][0]) : 0,
    slope_intercept_cov: l0 === null ? cov[0][1] : 0,
    n_points: k,
    points: points.map((p) => decisions.get(p) as SweepPointDecision),
    chi2,
    dof: lin.dof,
    p_value: pValue,
    lr_max_used: all[k - 1].lr,
    quadratic,
    birge_scale: birge,
    notes: l0 === null ? notes : [...notes, `intercept fixed at the known L* = ${l0}`],
  };
}

/** The sweep fit in the result schema's shape. */
export function observedFitOfSweep(fit: SweepFit): ObservedFit {
  return {
    method: fit.method === 'none' ? 'none' : 'wls_sweep',
    n_points: fit.n_points,
    chi2: fit.chi2,
    dof: fit.dof,
    p_value: fit.p_value,
    lr_max_used: fit.lr_max_used,
    quadratic: fit.quadratic ? { q: fit.quadratic.q, q_stderr: fit.quadratic.q_stderr } : null,
    notes: fit.notes,
  };
}
