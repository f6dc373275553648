/**
 * The result schema's `predicted.finite_eta` block from the curvature in a few sharp directions
 * (THEORY.md §4, §6): status checks, limits and the predicted L(η) − L* curve in three forms.
 *
 * Curve: inside the solved subspace V' (the top k' directions of V with curvature clearly above zero,
 * at most a few tens) the exact second moment of the quadratic model with multiplicative noise
 * (`second-moment.ts`); every other direction at leading order, η · f · (tr Σ − tr Σ_V') / 4 ·
 * (1−d)/(1−β) (equipartition: its share does not depend on its curvature). Assumptions: the loss is
 * quadratic over the region SGD explores (on digits the rest was ≤ 10%, §6), sampling is i.i.d. or
 * fresh batches of distinct examples (not reshuffled epochs), Φ* is a minimum, and H_V = mean_b A_b is
 * the curvature the solve uses (its mismatch with the Ritz values is reported).
 */
import type { FiniteEta } from '../result/schema';
import { rowCovariance } from '../linalg/dense';
import { denseClosureCurve, type DenseClosurePoint } from './dense-closure';
import { monotoneCubic } from './monotone-cubic';
import { denseFullSolution, type DenseFullSolution } from './dense-full';
import { additiveExcess, linearSlope, momentumFactor, type AdditiveSetting, type NoisyDirection } from './additive';
import { deterministicLimit, meanSquareLimit } from './limits';
import { batchMoments, subspaceModel, type BatchMoments } from './quadratic-model';
import { secondMomentProblem, stationarySecondMoment, type MomentumSetting, type SecondMomentProblem } from './second-moment';
import { sgdSpectralSolution } from './sgd-spectral';
import type { DenseLayerCurvature, SgdDynamics, SubspaceCurvature } from './types';

/** A top eigenvalue below −tol·λ_1 is negative curvature; directions with λ + wd ≤ tol·(λ_1 + wd) are flat. */
export const CURVATURE_RELATIVE_TOL = 1e-3;
/** ‖ḡ‖² / E‖g_b‖² above this: the checkpoint is not near a stationary point. */
export const MEAN_GRADIENT_RATIO_MAX = 0.1;
/** Most directions the dense second-moment solve takes: k(k+1)/2 unknowns for SGD (one eigen-decomposition), k(2k+1) with momentum (a solve per η). */
export const MAX_SOLVED_DIRECTIONS_SGD = 24;
export const MAX_SOLVED_DIRECTIONS_MOMENTUM = 10;
/**
 * The full-parameter solve (`denseFullSolution`, plain SGD on a model that is one Dense layer) runs up to
 * this many parameters (memory 8P² bytes per Lanczos step, time ≈ (3P³ + n·C²·nnz(x̃)²) per step) and for
 * at most this many seconds of CPU time (not wall time: a loaded machine must not change the answer);
 * past either the subspace form is used and a note says why. Digits softmax regression (P = 650,
 * n = 1797): 17 steps, 69 s of CPU for the whole curve on a loaded core. The solution serves every η, and
 * is kept per layer object, so a second prediction from the same curvature does not solve again.
 */
export const FULL_SOLVE_MAX_PARAMETERS = 1024;
export const FULL_SOLVE_MAX_CPU_SECONDS = 240;
/** Lanczos stops when the relative residual at 0.95 of the limit is below this (curve error ≲ 20× that). */
export const FULL_SOLVE_TOLERANCE = 1e-7;

/** The curve runs up to this fraction of the mean-square limit. */
export const CURVE_FRACTION_OF_LIMIT = 0.9;

export interface FiniteEtaOptions {
  /** Learning rates to include on the curve (a sweep's, a setting's) when below the mean-square limit. */
  lrs?: number[];
  /** Grid points (default 40). */
  points?: number;
  /** Whether the measured loss includes the ½λ‖Φ‖² penalty of coupled weight decay (default false: PyTorch). */
  lossIncludesPenalty?: boolean;
  /** Solve over all parameters when the curvature carries a Dense layer (`denseLayer`) and it fits (default true). */
  fullSolve?: boolean;
  /** CPU-time budget of the full-parameter solve in seconds (default FULL_SOLVE_MAX_CPU_SECONDS). */
  fullSolveCpuSeconds?: number;
  /**
   * Correct the full-parameter curve for the loss not being quadratic (Gaussian closure, `dense-closure.ts`).
   * Default: what the layer asks for (`correctNonQuadratic`, set by `--finite-eta-full`).
   */
  nonQuadratic?: boolean;
  /** Fractions of the mean-square limit where the closure is solved besides `lrs` (default CLOSURE_ANCHOR_FRACTIONS). */
  closureAnchorFractions?: number[];
}

/** The closure is solved at these fractions of the mean-square limit (and at the requested η), and interpolated between. */
export const CLOSURE_ANCHOR_FRACTIONS = [0.3, 0.6, 0.9];
/** Requested learning rates below this fraction of the limit are not solved separately (see closureCorrection). */
export const CLOSURE_MIN_FRACTION = 0.05;

type Status = FiniteEta['status'];

function block(c: SubspaceCurvature, status: Status, message: string, notes: string[]): FiniteEta {
  return {
    status,
    message,
    parameters: c.parameters,
    directions: c.k,
    method: c.method,
    hvp: c.hvp,
    eigenvalues: c.eigenvalues.map((value, i) => ({ value, residual: c.residuals[i] })),
    limits: { deterministic: null, mean_square: null },
    form: null,
    curve: null,
    cost_gradient_passes: c.costGradientPasses,
    seconds: c.seconds,
    notes: [...notes, ...c.notes.map((n) => `curvature: ${n}`)],
  };
}

/** Why the dynamics have no finite-η model here, or null when they do. */
function unsupportedReason(d: SgdDynamics): string | null {
  if (!Number.isInteger(d.batchSize) || d.batchSize < 1) return `batch size ${d.batchSize} is not a positive integer`;
  if (d.sampling === 'without_replacement' && (d.datasetSize === null || d.datasetSize < d.batchSize)) return 'sampling without replacement needs the dataset size N ≥ B';
  if (!(d.momentum >= 0 && d.momentum < 1)) return `momentum ${d.momentum} is outside [0, 1)`;
  if (d.momentum > 0 && !(d.dampening >= 0 && d.dampening < 1)) return `dampening ${d.dampening} is outside [0, 1)`;
  // PyTorch rejects both; with dampening the leading factor would be (1−βd)/(1−β), not the heavy-ball one.
  if (d.nesterov && (d.momentum === 0 || d.dampening !== 0)) return 'Nesterov needs momentum > 0 and zero dampening (as in PyTorch)';
  if (!(d.weightDecay >= 0)) return `weight decay ${d.weightDecay} is negative`;
  return null;
}

function checkShapes(c: SubspaceCurvature): void {
  const { k, n } = c;
  if (c.eigenvalues.length !== k || c.residuals.length !== k) throw new Error(`finiteEtaPrediction: ${c.eigenvalues.length} eigenvalues and ${c.residuals.length} residuals for k = ${k}`);
  if (c.perExampleCurvature.length !== n * k * k || c.perExampleGradProj.length !== n * k) throw new Error(`finiteEtaPrediction: per-example arrays do not match n = ${n}, k = ${k}`);
}

/** Why Φ* does not look like a minimum, or null. */
function notNearMinimumReason(c: SubspaceCurvature, d: SgdDynamics, notes: string[]): string | null {
  const reasons: string[] = [];
  const top = c.eigenvalues[0];
  const negative = c.eigenvalues.filter((v) => v < -CURVATURE_RELATIVE_TOL * Math.abs(top));
  if (negative.length > 0) reasons.push(`negative curvature: ${negative.length} of the top ${c.k} eigenvalues below −${CURVATURE_RELATIVE_TOL}·|λ_1| (smallest ${Math.min(...negative).toPrecision(4)})`);
  const ratio = c.meanSqNorm > 0 ? c.meanGradSqNorm / c.meanSqNorm : 0;
  if (d.weightDecay > 0) {
    // With coupled weight decay the data gradient's mean at the optimum is −λΦ*, not 0.
    notes.push(`‖ḡ‖²/E‖g_b‖² = ${ratio.toPrecision(3)} not checked: with coupled weight decay the mean data gradient at the optimum is −λΦ*, not 0`);
  } else if (ratio > MEAN_GRADIENT_RATIO_MAX) {
    reasons.push(`far from a stationary point: ‖ḡ‖²/E‖g_b‖² = ${ratio.toPrecision(3)} > ${MEAN_GRADIENT_RATIO_MAX}`);
  }
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/** Leading directions of V that the dense solve takes: not flat, at most the cap for the optimiser. */
function solvedDirections(c: SubspaceCurvature, d: SgdDynamics): number {
  const cap = d.momentum > 0 || d.nesterov ? MAX_SOLVED_DIRECTIONS_MOMENTUM : MAX_SOLVED_DIRECTIONS_SGD;
  const floor = CURVATURE_RELATIVE_TOL * (c.eigenvalues[0] + d.weightDecay);
  let keep = 0;
  while (keep < Math.min(c.k, cap) && c.eigenvalues[keep] + d.weightDecay > floor) keep++;
  return keep;
}

/** ‖H_V − diag(Ritz values)‖_F / |λ_1| over the solved block. */
function ritzMismatch(hessian: Float64Array, eigenvalues: number[], k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += (hessian[i * k + j] - (i === j ? eigenvalues[i] : 0)) ** 2;
  return Math.sqrt(s) / Math.max(Math.abs(eigenvalues[0]), 1e-300);
}

/** Grid up to `top` with `points` evenly spaced learning rates, plus the requested ones below `limit`. */
function curveGrid(top: number, limit: number, points: number, lrs: number[]): number[] {
  const grid = Array.from({ length: points }, (_, i) => (top * (i + 1)) / points);
  for (const lr of lrs) if (lr > 0 && lr < limit) grid.push(lr);
  return [...new Set(grid.sort((a, b) => a - b))];
}

/** Finite-η prediction for SGD with the given dynamics from the curvature in the top-k subspace. */
export function finiteEtaPrediction(c: SubspaceCurvature, dyn: SgdDynamics, opts: FiniteEtaOptions = {}): FiniteEta {
  checkShapes(c);
  const notes: string[] = [];
  const unsupported = unsupportedReason(dyn);
  if (unsupported !== null) return block(c, 'unsupported', `No finite-η model: ${unsupported}.`, notes);
  if (!c.converged) {
    const worst = Math.max(...c.residuals);
    return block(c, 'not_converged', `The eigen-solver did not converge (largest relative residual ${worst.toExponential(2)}); no limits or curve.`, notes);
  }
  if (c.k === 0) return block(c, 'skipped', 'No Hessian directions were computed.', notes);
  const momentum: MomentumSetting = { momentum: dyn.momentum, dampening: dyn.dampening, nesterov: dyn.nesterov };
  const deterministic = deterministicLimit(c.eigenvalues[0], momentum, dyn.weightDecay);
  const farReason = notNearMinimumReason(c, dyn, notes);
  if (farReason !== null) {
    const out = block(c, 'not_near_minimum', `The checkpoint does not look like a minimum (${farReason}); no curve.`, notes);
    out.limits.deterministic = deterministic;
    return out;
  }
  const moments = batchMoments(dyn);
  const includesPenalty = opts.lossIncludesPenalty ?? false;
  const keep = solvedDirections(c, dyn);
  const model = subspaceModel(c.perExampleCurvature, c.perExampleGradProj, c.n, c.k, keep);
  const problem = secondMomentProblem(model, moments, dyn.weightDecay, includesPenalty);
  // Plain SGD: one eigen-decomposition gives the limit and the whole curve; momentum: a solve per η.
  const spectral = keep > 0 && dyn.momentum === 0 && !dyn.nesterov ? sgdSpectralSolution(problem) : null;
  let meanSquare: number | null = null;
  if (spectral !== null) meanSquare = spectral.meanSquareLimit;
  else if (keep > 0 && (dyn.momentum > 0 || dyn.nesterov)) meanSquare = meanSquareLimit(problem, momentum);
  const fullCov = rowCovariance(c.perExampleGradProj, c.n, c.k).cov;
  let solvedTrace = 0;
  for (let i = 0; i < keep; i++) solvedTrace += fullCov[i * c.k + i];
  const mf = momentumFactor(momentum);
  const outsideTrace = Math.max(0, c.traceCovTotal - solvedTrace);
  const outsideSlope = (moments.noiseFactor * outsideTrace * mf) / 4;
  const full = opts.fullSolve === false ? null : fullParameterSolve(c, dyn, includesPenalty, meanSquare, opts.fullSolveCpuSeconds ?? FULL_SOLVE_MAX_CPU_SECONDS, notes);
  if (full === null) notes.push(...solveNotes(c, dyn, moments, keep, outsideSlope, c.traceCovTotal - solvedTrace, ritzMismatch(model.hessian, c.eigenvalues, keep), includesPenalty));
  else if (dyn.weightDecay > 0) notes.push(`Coupled weight decay λ = ${dyn.weightDecay}: stepped curvature H + λI, measured ${includesPenalty ? 'with' : 'without'} the penalty.`);
  if (full !== null) meanSquare = full.meanSquareLimit;
  const leak = full === null && spectral !== null ? leakCorrection(c, problem, moments, keep, dyn, notes) : null;
  const result = block(c, 'ok', '', notes);
  result.directions = full !== null ? c.parameters : keep;
  result.limits = { deterministic, mean_square: meanSquare };
  result.form = full !== null || keep === c.parameters ? 'second_moment_full' : 'second_moment_subspace';
  if (meanSquare === null) {
    result.message = `Second-moment solve over ${keep} directions has no stable learning rate (the stepped curvature in the subspace is not positive definite); no curve.`;
    return result;
  }
  const grid = curveGrid(CURVE_FRACTION_OF_LIMIT * meanSquare, meanSquare, opts.points ?? 40, opts.lrs ?? []);
  const closure = full !== null && (opts.nonQuadratic ?? c.denseLayer?.correctNonQuadratic === true) ? closureCorrection(c, dyn, includesPenalty, full, meanSquare, linearSlope(c.traceCovTotal, moments, momentum), opts.lrs ?? [], opts.closureAnchorFractions ?? CLOSURE_ANCHOR_FRACTIONS, opts.fullSolveCpuSeconds ?? FULL_SOLVE_MAX_CPU_SECONDS, result.notes) : null;
  if (closure !== null) result.form = 'gaussian_closure_full';
  const solvedExcess = (eta: number): number | null => {
    if (full !== null) {
      const q = full.excess(eta);
      return q === null || closure === null ? q : closure(eta, q);
    }
    if (spectral !== null) return spectral.excess(eta) + (leak?.(eta) ?? 0);
    return stationarySecondMoment(problem, momentum, eta)?.excess ?? null;
  };
  result.curve = predictedCurve(grid, solvedExcess, full !== null ? 0 : outsideSlope, additiveForm(c, dyn, moments, fullCov, includesPenalty), linearSlope(c.traceCovTotal, moments, momentum));
  result.message = `L(η) − L* predicted up to ${CURVE_FRACTION_OF_LIMIT} of the mean-square limit ${meanSquare.toPrecision(4)} (deterministic limit ${deterministic === null ? 'none' : deterministic.toPrecision(4)}).`;
  return result;
}

/**
 * First-order coupling of the solved directions V to the rest R through per-example curvature (plain
 * SGD). The rest's block of the second-moment equation, L_R(S_RR) = ηfΣ_RR + η[M(S)]_RR, gets the source
 * η·c1·mean_b (A_b)_RV S_VV (A_b)_VR from V's fluctuations (the c2 H S H part has no RV block: V holds
 * eigenvectors of H). Its loss, by ½⟨H_R, L_R⁻¹X⟩ = ¼ tr X (L_R(I/2) = H_R), is
 *   ¼ η c1 ⟨mean_b (A_b)_VR(A_b)_RV, S_VV⟩,  mean_b (A_b)_VR(A_b)_RV = mean_b (A_b²)_VV − mean_b (A_b)_VV²,
 * with S_VV the subspace solve's second moment: exact to first order in the coupling, no fitted constant.
 * What it leaves out: the rest's own multiplicative noise, and the rest feeding back into V (both need
 * the curvature outside V). Null without perExampleCurvatureSquare.
 */
function leakCorrection(c: SubspaceCurvature, problem: SecondMomentProblem, moments: BatchMoments, keep: number, dyn: SgdDynamics, notes: string[]): ((eta: number) => number) | null {
  const sq = c.perExampleCurvatureSquare;
  if (sq === undefined || keep === 0) return null;
  const { k, n } = c;
  if (sq.length !== k * k) throw new Error(`finiteEtaPrediction: perExampleCurvatureSquare has ${sq.length} entries for k = ${k}`);
  const coupling = new Float64Array(keep * keep);
  for (let i = 0; i < keep; i++) {
    for (let j = 0; j < keep; j++) {
      let inside = 0;
      for (let b = 0; b < n; b++) {
        const o = b * k * k;
        for (let l = 0; l < keep; l++) inside += c.perExampleCurvature[o + i * k + l] * c.perExampleCurvature[o + l * k + j];
      }
      coupling[i * keep + j] = sq[i * k + j] - inside / n;
    }
  }
  for (let i = 0; i < keep; i++) for (let j = i + 1; j < keep; j++) coupling[i * keep + j] = coupling[j * keep + i] = 0.5 * (coupling[i * keep + j] + coupling[j * keep + i]);
  let trOut = 0;
  let trAll = 0;
  for (let i = 0; i < keep; i++) {
    trOut += coupling[i * keep + i];
    trAll += sq[i * k + i];
  }
  // ½⟨C, S_VV⟩ from the same spectral solution with C in place of the measured Hessian.
  const sol = sgdSpectralSolution({ ...problem, measuredHessian: coupling });
  if (sol === null) return null;
  notes.push(
    `First-order coupling of the ${keep} solved directions to the other ${c.parameters - keep} through per-example curvature added: ¼η·c1·⟨mean_b (A_b)_VR(A_b)_RV, S_VV⟩ (share of mean_b ‖A_b v_i‖² outside V: ${(trAll > 0 ? trOut / trAll : 0).toPrecision(3)})${dyn.weightDecay > 0 && !problem.measuredHessian.every((v, i) => v === problem.steppedHessian[i]) ? '; an upper bound when the weight-decay penalty is not measured' : ''}.`,
  );
  return (eta) => 0.5 * eta * moments.perExampleWeight * sol.excess(eta);
}

/**
 * The second moment over every parameter for plain SGD on a one-Dense-layer model (`c.denseLayer`), or
 * null (with a note when it was tried) when it does not apply, does not fit or does not converge in time.
 */
const fullSolveCache = new WeakMap<DenseLayerCurvature, Map<string, DenseFullSolution>>();

function fullParameterSolve(c: SubspaceCurvature, dyn: SgdDynamics, includesPenalty: boolean, subspaceLimit: number | null, seconds: number, notes: string[]): DenseFullSolution | null {
  const d = c.denseLayer;
  if (d === undefined || dyn.momentum > 0 || dyn.nesterov) return null;
  const P = d.outputs * d.features;
  if (P > FULL_SOLVE_MAX_PARAMETERS) {
    notes.push(`Full-parameter solve not run: ${P} parameters > ${FULL_SOLVE_MAX_PARAMETERS} (time ∝ P³ per step, memory 8P² bytes per step); the subspace form instead.`);
    return null;
  }
  const key = solveKey(dyn, includesPenalty);
  const cached = fullSolveCache.get(d)?.get(key);
  const sol = cached ?? denseFullSolution(d, dyn, { lossIncludesPenalty: includesPenalty, tolerance: FULL_SOLVE_TOLERANCE, cpuSeconds: seconds });
  if (!cached) {
    if (!fullSolveCache.has(d)) fullSolveCache.set(d, new Map());
    fullSolveCache.get(d)!.set(key, sol);
  }
  if (!sol.converged || sol.meanSquareLimit === null) {
    notes.push(`Full-parameter solve over ${P} parameters stopped unconverged after ${sol.steps} Lanczos steps (${sol.cpuSeconds.toFixed(1)} s of CPU, budget ${seconds} s); the subspace form instead.`);
    return null;
  }
  notes.push(
    `Full-parameter solve over ${P} parameters (one Dense layer, A_b = J_bᵀK_bJ_b + D exactly, THEORY.md §6): Lanczos on L⁻¹M in the L inner product, one Krylov space for every η (${sol.steps} steps, ${sol.cpuSeconds.toFixed(1)} s of CPU, relative residual ≤ ${FULL_SOLVE_TOLERANCE} at 0.95 of the limit); mean-square limit ${sol.meanSquareLimit.toPrecision(5)}${subspaceLimit !== null ? ` (the top-directions solve alone: ${subspaceLimit.toPrecision(5)})` : ''}.`,
  );
  return sol;
}

/** The dynamics a cached full-parameter or closure solution depends on (plain SGD: no momentum terms). */
function solveKey(dyn: SgdDynamics, includesPenalty: boolean): string {
  return `${dyn.batchSize}|${dyn.sampling}|${dyn.datasetSize}|${dyn.weightDecay}|${includesPenalty}`;
}

/** Closure solutions per layer object and dynamics, per η (a second prediction from the same curvature reuses them). */
const closureCache = new WeakMap<DenseLayerCurvature, Map<string, DenseClosurePoint>>();

/**
 * The corrected excess as a function of η and the quadratic model's excess there (see the interpolation
 * below), or null (with a note) when the layer's loss is quadratic in the logits or no anchor converged. Anchors: CLOSURE_ANCHOR_FRACTIONS of the limit and the requested learning rates between
 * CLOSURE_MIN_FRACTION and CURVE_FRACTION_OF_LIMIT of it, so a sweep's or a setting's η gets the closure's own number.
 */
function closureCorrection(c: SubspaceCurvature, dyn: SgdDynamics, includesPenalty: boolean, full: DenseFullSolution, limit: number, linearSlopePerEta: number, lrs: number[], fractions: number[], seconds: number, notes: string[]): ((eta: number, quadratic: number) => number) | null {
  const d = c.denseLayer as DenseLayerCurvature;
  if (d.outputLoss === undefined) {
    notes.push('Non-quadratic correction not needed: the loss is quadratic in the logits (MSE), where the second moment is already exact.');
    return null;
  }
  const top = CURVE_FRACTION_OF_LIMIT * limit;
  // Requested η below CLOSURE_MIN_FRACTION of the limit are read off the interpolation: there the ratio is
  // 1 + O(η), which the straight line from (0, 1) follows to first order, and a solve costs as much as anywhere.
  const anchors = [...new Set([...fractions.map((f) => f * limit), ...lrs.filter((lr) => lr >= CLOSURE_MIN_FRACTION * limit && lr <= top)])].sort((a, b) => a - b);
  const key = solveKey(dyn, includesPenalty);
  if (!closureCache.has(d)) closureCache.set(d, new Map());
  const cache = closureCache.get(d)!;
  const todo = anchors.filter((eta) => !cache.has(`${key}|${eta}`));
  let cpu = 0;
  let samplePoints = 0;
  let outOfTime = false;
  if (todo.length > 0) {
    const sol = denseClosureCurve(d, dyn, todo, { lossIncludesPenalty: includesPenalty, cpuSeconds: Math.max(0, seconds - full.cpuSeconds) });
    for (const p of sol.points) cache.set(`${key}|${p.eta}`, p);
    cpu = sol.cpuSeconds;
    samplePoints = sol.samplePoints;
    outOfTime = sol.outOfTime;
  }
  const ratios: { eta: number; ratio: number; point: DenseClosurePoint }[] = [];
  for (const eta of anchors) {
    const p = cache.get(`${key}|${eta}`);
    const q = full.excess(eta);
    if (p === undefined || p.excess === null || q === null || !(q > 0)) continue;
    ratios.push({ eta, ratio: p.excess / q, point: p });
  }
  const failed = anchors.length - ratios.length;
  if (ratios.length === 0) {
    notes.push(`Non-quadratic correction (Gaussian closure) not applied: it converged at none of η = ${anchors.map((a) => a.toPrecision(3)).join(', ')}${outOfTime ? ' within the CPU budget' : ''}; the quadratic model's curve instead.`);
    return null;
  }
  notes.push(
    `Non-quadratic correction over all ${c.parameters} parameters (Gaussian closure / self-consistent harmonic approximation: the iterates' mean drift and the curvature, noise and loss averaged over their Gaussian spread, dense-closure.ts): ` +
      `closure ÷ quadratic model ${ratios.map((r) => `${r.ratio.toFixed(3)} at η = ${r.eta.toPrecision(3)} (mean drift ‖μ‖ = ${r.point.meanShift.toPrecision(3)}, ${r.point.iterations} iterations)`).join(', ')}; ` +
      `in between: up to the first, the quadratic model times a ratio linear in η from 1; beyond it, the linear law times a monotone cubic through the closure's ratios to it${failed > 0 ? `; ${failed} anchor(s) ${outOfTime ? 'left for the CPU budget' : 'did not converge'}` : ''}; ${samplePoints > 0 ? `${samplePoints} moment-matched Gaussian points per example, ` : ''}${cpu.toFixed(1)} s of CPU.`,
  );
  // Below the first solved η the closure ÷ quadratic ratio is 1 + O(η) and the straight line from (0, 1) follows it
  // (≤ 0.3 % on the digits softmax); above, the quadratic model bends up towards its own limit while the closure
  // does not, so the ratio to the quadratic model turns sharply (1.09 → 0.66 between 0.6 and 0.9 of the limit) and
  // is interpolated badly (15 %), whereas the closure ÷ linear law is smooth and monotone: a monotone cubic through
  // (0, 1) and the solved η gives the closure within 0.5 % at 18 η from 0.05 to 0.9 of the limit, from 3 of them.
  const first = ratios[0];
  const overLinear = ratios.length > 1 && linearSlopePerEta > 0 ? monotoneCubic([0, ...ratios.map((r) => r.eta)], [1, ...ratios.map((r) => (r.point.excess as number) / (linearSlopePerEta * r.eta))]) : null;
  return (eta, quadratic) => {
    if (eta <= first.eta || overLinear === null) return quadratic * (eta <= first.eta ? 1 + ((first.ratio - 1) * eta) / first.eta : ratios[ratios.length - 1].ratio);
    return linearSlopePerEta * eta * overLinear(Math.min(eta, ratios[ratios.length - 1].eta));
  };
}

function solveNotes(c: SubspaceCurvature, dyn: SgdDynamics, moments: BatchMoments, keep: number, outsideSlope: number, outsideTraceRaw: number, mismatch: number, includesPenalty: boolean): string[] {
  const notes = [
    `Second-moment solve (quadratic model with multiplicative per-example-curvature noise, THEORY.md §4) over the top ${keep} of ${c.k} computed directions (P = ${c.parameters}); the other directions at leading order: η·f·(tr Σ − tr Σ_solved)/4·(1−d)/(1−β), slope ${outsideSlope.toPrecision(4)}, f = ${moments.noiseFactor.toPrecision(4)}.`,
    `Mean-square limit computed in the ${keep}-dimensional solved subspace; the deterministic limit uses λ_1 = ${c.eigenvalues[0].toPrecision(6)}.`,
    `Solve uses H_V = mean_b A_b over ${c.n} examples; ‖H_V − diag(Ritz values)‖_F/|λ_1| = ${mismatch.toExponential(2)}.`,
  ];
  if (keep < c.k) notes.push(`${c.k - keep} computed directions were left at leading order (flat below ${CURVATURE_RELATIVE_TOL}·λ_1, or beyond the solve's cap of ${dyn.momentum > 0 || dyn.nesterov ? MAX_SOLVED_DIRECTIONS_MOMENTUM : MAX_SOLVED_DIRECTIONS_SGD}).`);
  if (outsideTraceRaw < 0) notes.push(`tr Σ over all parameters (${c.traceCovTotal.toPrecision(4)}) is below the solved subspace's (${(c.traceCovTotal - outsideTraceRaw).toPrecision(4)}): the examples differ? The outside share was set to 0.`);
  if (dyn.weightDecay > 0) {
    notes.push(
      includesPenalty
        ? `Coupled weight decay λ = ${dyn.weightDecay}: stepped and measured curvature H + λI (loss with the penalty).`
        : `Coupled weight decay λ = ${dyn.weightDecay}: stepped curvature H + λI, measured loss without the penalty (½tr(H S)); the leading-order share outside the solved directions and the linear law are upper bounds.`,
    );
  }
  return notes;
}

/** The additive form over V's non-flat directions (Ritz value, variance of the projection), the rest at leading order. */
function additiveForm(c: SubspaceCurvature, dyn: SgdDynamics, moments: BatchMoments, cov: Float64Array, includesPenalty: boolean): (eta: number) => number | null {
  const momentum: MomentumSetting = { momentum: dyn.momentum, dampening: dyn.dampening, nesterov: dyn.nesterov };
  const setting: AdditiveSetting = { moments, momentum, weightDecay: dyn.weightDecay, lossIncludesPenalty: includesPenalty };
  const directions: NoisyDirection[] = [];
  let trace = 0;
  for (let i = 0; i < c.k; i++) {
    if (!(c.eigenvalues[i] + dyn.weightDecay > CURVATURE_RELATIVE_TOL * (c.eigenvalues[0] + dyn.weightDecay))) continue;
    directions.push({ curvature: c.eigenvalues[i], noiseVariance: cov[i * c.k + i] });
    trace += cov[i * c.k + i];
  }
  const outsideSlope = (moments.noiseFactor * Math.max(0, c.traceCovTotal - trace) * momentumFactor(momentum)) / 4;
  return (eta) => {
    const inside = additiveExcess(directions, setting, eta);
    return inside === null ? null : inside + outsideSlope * eta;
  };
}

/** The three forms on the grid; a point where any form is undefined (at a limit) is left out. */
function predictedCurve(grid: number[], solved: (eta: number) => number | null, outsideSlope: number, additive: (eta: number) => number | null, linearSlopePerEta: number): NonNullable<FiniteEta['curve']> {
  const curve = { lr: [] as number[], excess: [] as number[], linear: [] as number[], additive: [] as number[] };
  for (const eta of grid) {
    const inside = solved(eta);
    const add = additive(eta);
    if (inside === null || add === null) continue;
    curve.lr.push(eta);
    curve.excess.push(inside + outsideSlope * eta);
    curve.linear.push(linearSlopePerEta * eta);
    curve.additive.push(add);
  }
  return curve;
}

/** L(η) − L* read off the curve by linear interpolation (from 0 at η = 0); null without a curve or beyond its range. */
export function excessAt(fe: FiniteEta, eta: number): number | null {
  const c = fe.curve;
  if (c === null || c.lr.length === 0 || !(eta >= 0) || eta > c.lr[c.lr.length - 1]) return null;
  let x0 = 0;
  let y0 = 0;
  for (let i = 0; i < c.lr.length; i++) {
    const x1 = c.lr[i];
    const y1 = c.excess[i];
    if (eta <= x1) return x1 === x0 ? y1 : y0 + ((y1 - y0) * (eta - x0)) / (x1 - x0);
    x0 = x1;
    y0 = y1;
  }
  return null;
}
