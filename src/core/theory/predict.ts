/**
 * The predicted slope s = dL(η)/dη at η → 0 for a training setup (THEORY.md §2), with the formula as
 * shown to the user (with its numbers), the assumptions it rests on, and diagnostics.
 */
import { HeatcapError } from '../errors';
import { rowCovariance, squareSide } from '../linalg/dense';
import { largestEigenvalue } from '../linalg/symmetric-eigen';
import type { Predicted, PredictionRegime, ResultWarning } from '../result/schema';
import { num } from './format';
import { penaltyExcludedSlope } from './penalty';
import { reshufflePrediction } from './reshuffle';
import { optimizerFamily, type TrainingSetup } from './setup';
import { stabilityLimitFromEigenvalue } from './stability';

/** Per-example gradient statistics at the checkpoint (computed by the gradient engine). */
export interface GradStats {
  /** Examples the statistics were computed on. */
  n: number;
  meanLoss: number;
  /** E_b‖g_b‖². */
  meanSqNorm: number;
  /** ‖ḡ‖², ḡ = E_b g_b. */
  meanGradSqNorm: number;
  /** tr Σ = E_b‖g_b‖² − ‖ḡ‖² (population normalisation). */
  traceCov: number;
  /** E_b g_b,i² per parameter (Adam/RMSProp). */
  diagSecondMoment?: Float64Array;
  /** ḡ per parameter. */
  meanGrad?: Float64Array;
  /** Standard deviation of ‖g_b‖² over the n examples: gives the prediction's SE when n < N. */
  sqNormSd?: number;
}

export interface PredictExtras {
  /** Hessian of the measured (data) loss at the checkpoint, P×P row-major, without any L2 penalty. */
  hessian?: Float64Array;
  /** Per-example gradients of the data loss, N×P row-major (the penalty's λw cancels in Σ). */
  perExampleGrads?: Float64Array;
  /** λ_max of the data-loss Hessian when the full Hessian is too big (power iteration). */
  hessianTopEigenvalue?: number;
  /**
   * A stability limit computed elsewhere, preferred to λ_max of `hessian`: the finite-η prediction's
   * mean-square limit of SGD with this batch size (THEORY.md §4), else its deterministic 2/λ_max with
   * the momentum factors, from the top Hessian eigenvalues of models of any size.
   */
  stabilityLimit?: { lr: number; kind: 'mean_square' | 'deterministic' };
  /**
   * Largest P for the O(P³) Hessian computations. Default 1500: measured (bench/stats.ts, 2 shared
   * cores) 7.5 s for the eigen-decomposition at P = 800 and ×8 per doubling, so ~1 min at 1500.
   */
  maxParams?: number;
}

export interface PredictionDiagnostics {
  /** ‖ḡ‖²/E‖g_b‖²: ≈ 0 at an optimum (THEORY.md §2). */
  optimum_ratio: number | null;
  /** Standard error of the slope from estimating Σ on n < N examples; 0 when exact; null if unknown. */
  slope_stderr: number | null;
  subsampled: boolean;
  hessian_used: boolean;
  /** Per-unit-η factors: noise (1/B or (N−B)/(B(N−1))) and momentum ((1−d)/(1−β) …). */
  noise_factor: number | null;
  momentum_factor: number | null;
}

export interface PredictionReport {
  predicted: Predicted;
  warnings: ResultWarning[];
  diagnostics: PredictionDiagnostics;
}

/** See PredictExtras.maxParams. */
export const DEFAULT_MAX_PARAMS = 1500;
const FAR_FROM_OPTIMUM = 0.1;
const NEAR_OPTIMUM = 0.01;
const SGD_LIKE = new Set(['sgd']);
const ADAPTIVE = new Set(['adam', 'adamw', 'rmsprop']);

function warn(list: ResultWarning[], code: string, severity: ResultWarning['severity'], message: string): void {
  list.push({ code, severity, message });
}

function checkStats(s: GradStats): void {
  const bad = (what: string): never => {
    throw new HeatcapError(undefined, `gradient statistics: ${what}`);
  };
  if (!(s.n >= 1) || !Number.isInteger(s.n)) bad(`example count ${s.n} is not a positive integer`);
  for (const [k, v] of [['meanSqNorm', s.meanSqNorm], ['meanGradSqNorm', s.meanGradSqNorm], ['traceCov', s.traceCov]] as const) {
    if (!Number.isFinite(v)) bad(`${k} is ${v}`);
  }
  if (s.meanSqNorm < 0 || s.meanGradSqNorm < 0) bad('negative squared norm');
  if (s.traceCov < -1e-9 * Math.max(1, s.meanSqNorm)) bad(`tr Σ = ${s.traceCov} is negative`);
}

/** Noise per unit η of a minibatch mean: Σ_B = factor · Σ (THEORY.md §2 rows 1–2). */
function noiseFactor(setup: TrainingSetup, B: number, warnings: ResultWarning[]): { f: number; sym: string; nums: string; withoutReplacement: boolean } {
  const N = setup.dataset_size;
  if (setup.sampling === 'with_replacement') return { f: 1 / B, sym: '1/B', nums: `1/${B}`, withoutReplacement: false };
  if (N === null || !(N >= 2)) {
    warn(warnings, 'unknown_dataset_size', 'info', `Dataset size unknown: using 1/B for batches of distinct examples instead of (N−B)/(B(N−1)) (slightly larger when N ≫ B).`);
    return { f: 1 / B, sym: '1/B', nums: `1/${B}`, withoutReplacement: false };
  }
  if (B > N) {
    warn(warnings, 'batch_exceeds_dataset', 'warning', `Batch size ${B} exceeds the dataset size ${N}: full-batch gradient descent has no noise.`);
    return { f: 0, sym: '0 (B ≥ N)', nums: '0', withoutReplacement: true };
  }
  return { f: (N - B) / (B * (N - 1)), sym: '(N−B)/(B(N−1))', nums: `(${N}−${B})/(${B}·(${N}−1))`, withoutReplacement: true };
}

/** First-order momentum factor (THEORY.md §2 rows 4–6). */
function momentumFactor(setup: TrainingSetup, warnings: ResultWarning[]): { m: number; id: string; sym: string; nums: string; assumption?: string } {
  const b = setup.momentum;
  const d = setup.dampening;
  if (!(b >= 0 && b < 1)) throw new HeatcapError(undefined, `momentum ${b} is outside [0, 1)`);
  if (!(d >= 0 && d <= 1)) throw new HeatcapError(undefined, `dampening ${d} is outside [0, 1]`);
  if (setup.optimizer === 'adam' || setup.optimizer === 'adamw') {
    return { m: 1, id: '', sym: '', nums: '', assumption: `Adam's first moment m ← β1·m + (1−β1)·ĝ is EMA momentum: no change to the slope (THEORY.md §2)` };
  }
  if (setup.optimizer === 'rmsprop' && b > 0) {
    return { m: 1 / (1 - b), id: 'heavy_ball', sym: ' · 1/(1−β)', nums: ` · 1/(1−${num(b)})`, assumption: 'RMSprop momentum (PyTorch/Keras): heavy ball on the preconditioned gradient, factor 1/(1−β) at first order' };
  }
  if (setup.nesterov) {
    if (b === 0) return { m: 1, id: '', sym: '', nums: '' };
    // PyTorch Nesterov: step = η(g + βv'), v' = βv + (1−d)g; its low-frequency gain is (1−βd)/(1−β),
    // equal to heavy ball's (1−d)/(1−β) when d = 0 (PyTorch forbids dampening with Nesterov).
    if (d > 0) warn(warnings, 'nesterov_dampening', 'info', 'Nesterov with dampening (PyTorch forbids it): using the gain (1−βd)/(1−β).');
    return {
      m: (1 - b * d) / (1 - b),
      id: 'nesterov',
      sym: d > 0 ? ' · (1−βd)/(1−β)' : ' · 1/(1−β)',
      nums: d > 0 ? ` · (1−${num(b)}·${num(d)})/(1−${num(b)})` : ` · 1/(1−${num(b)})`,
      assumption: 'Nesterov momentum: same as heavy ball at first order in η (differs at O(η²))',
    };
  }
  if (b === 0) return { m: 1, id: '', sym: '', nums: '' };
  if (Math.abs(d - b) < 1e-12) {
    return { m: 1, id: 'ema_momentum', sym: ' · (1−d)/(1−β)', nums: ' · 1 (d = β)', assumption: 'EMA momentum (dampening = β): m ← βm + (1−β)ĝ leaves the slope unchanged' };
  }
  return {
    m: (1 - d) / (1 - b),
    id: 'heavy_ball',
    sym: ' · (1−d)/(1−β)',
    nums: ` · (1−${num(d)})/(1−${num(b)})`,
    assumption: 'heavy-ball momentum (PyTorch convention v ← βv + (1−d)g, w ← w − ηv): slope × (1−d)/(1−β) at first order',
  };
}

/**
 * Predicted slope for every row of THEORY.md §2, plus the random-reshuffling treatment of §3.
 * Throws HeatcapError on malformed statistics; otherwise always returns a report (slope null when no
 * finite or computable prediction exists, with the reason among the warnings).
 */
export function predictSlope(setupIn: TrainingSetup, stats: GradStats, extras: PredictExtras = {}): PredictionReport {
  checkStats(stats);
  // Accept optimizer names as written (`SGD`, `torch.optim.AdamW`, `nesterov`): normalise to the family.
  const fam = optimizerFamily(setupIn.optimizer);
  const setup: TrainingSetup = { ...setupIn, optimizer: fam.family, nesterov: setupIn.nesterov || fam.nesterov };
  const warnings: ResultWarning[] = [];
  const assumptions: string[] = [];
  const traceCov = Math.max(0, stats.traceCov);
  const B = setup.batch_size;
  const N = setup.dataset_size;
  const lambda = setup.weight_decay;
  const decoupled = (setup.weight_decay_mode ?? (setup.optimizer === 'adamw' ? 'decoupled' : 'coupled')) === 'decoupled';
  const maxParams = extras.maxParams ?? DEFAULT_MAX_PARAMS;
  const P = extras.hessian ? squareSide(extras.hessian, 'Hessian') : null;
  const hessianOk = P !== null && P <= maxParams && extras.perExampleGrads !== undefined;
  if (P !== null && P > maxParams) warn(warnings, 'hessian_too_large', 'info', `The model has ${P} parameters (> ${maxParams}): Hessian-based refinements skipped.`);

  const diagnostics: PredictionDiagnostics = {
    optimum_ratio: stats.meanSqNorm > 0 ? stats.meanGradSqNorm / stats.meanSqNorm : null,
    slope_stderr: null,
    subsampled: N !== null && stats.n < N,
    hessian_used: false,
    noise_factor: null,
    momentum_factor: null,
  };
  const base: Omit<Predicted, 'slope' | 'formula_id' | 'formula' | 'regime' | 'upper_bound' | 'reshuffle_curve' | 'stability_lr'> = {
    trace_cov: traceCov,
    mean_sq_norm: stats.meanSqNorm,
    mean_grad_sq_norm: stats.meanGradSqNorm,
    batch_size: B,
    momentum: setup.momentum,
    dampening: setup.dampening,
    nesterov: setup.nesterov,
    sampling: setup.sampling,
    optimizer: setup.optimizer,
    weight_decay: lambda,
    dataset_size: N,
    assumptions,
    sources: setup.sources,
  };

  // Diagnostics that apply whatever the row.
  const ratio = diagnostics.optimum_ratio;
  if (ratio !== null) {
    if (lambda > 0 && !decoupled) {
      if (ratio >= NEAR_OPTIMUM) warn(warnings, 'optimum_check_weight_decay', 'info', `‖ḡ‖²/E‖g_b‖² = ${num(ratio)}, but with weight decay the data-loss gradient balances the penalty at the optimum, so this ratio does not measure closeness to it.`);
    } else if (ratio >= FAR_FROM_OPTIMUM) {
      warn(warnings, 'far_from_optimum', 'warning', `‖ḡ‖²/E‖g_b‖² = ${num(ratio)}: the checkpoint is not at an optimum; the law assumes one (THEORY.md §2). The prediction uses the covariance tr Σ = E‖g_b‖² − ‖ḡ‖².`);
    } else if (ratio >= NEAR_OPTIMUM) {
      warn(warnings, 'far_from_optimum', 'info', `‖ḡ‖²/E‖g_b‖² = ${num(ratio)}: close to, but not exactly at, an optimum; the covariance is used.`);
    }
  }
  if (diagnostics.subsampled) assumptions.push(`Σ estimated from ${stats.n} of ${N} training examples`);
  else assumptions.push(`Σ computed on ${stats.n} examples${N !== null ? ' (the whole training set)' : ''}`);

  const limit = stabilityOf(setup, extras, lambda, decoupled);
  const stability = limit?.lr ?? null;
  const which = limit?.kind === 'mean_square' ? 'mean-square stability limit' : 'stability limit';
  const where = limit?.kind === 'mean_square' ? ' of SGD with this batch size (THEORY.md §4)' : ' along the sharpest direction';
  const finish = (p: Partial<Predicted> & { slope: number | null; formula_id: string; formula: string; regime: PredictionRegime }): PredictionReport => {
    const predicted: Predicted = { ...base, upper_bound: null, reshuffle_curve: null, stability_lr: stability, ...p };
    for (const lr of setup.lrs ?? []) {
      if (stability !== null && lr >= stability) {
        warn(warnings, 'lr_above_stability', 'error', `η = ${num(lr)} is at or above the ${which} ${num(stability)}${where}: the run cannot have a stationary state there.`);
      } else if (stability !== null && lr > 0.5 * stability) {
        warn(warnings, 'lr_near_stability', 'warning', `η = ${num(lr)} is above half the ${which} ${num(stability)}: higher-order terms in η are large and the linear law is only leading order.`);
      }
    }
    return { predicted, warnings, diagnostics };
  };

  // Rows without a prediction.
  if (!SGD_LIKE.has(setup.optimizer) && !ADAPTIVE.has(setup.optimizer)) {
    warn(warnings, 'unsupported_optimizer', 'warning', `No prediction for optimizer "${setup.optimizer}" (supported: SGD with or without momentum/Nesterov, Adam, AdamW, RMSprop).`);
    return finish({ slope: null, formula_id: 'unsupported_optimizer', formula: `no formula for ${setup.optimizer}`, regime: 'linear' });
  }
  if (setup.has_batchnorm && lambda > 0) {
    warn(warnings, 'batchnorm_weight_decay', 'warning', 'Scale-invariant (BatchNorm) weights with weight decay: the stationary excess loss grows like √(ηλ), so L(η) has no finite slope at η = 0 (THEORY.md §2).');
    assumptions.push('scale-invariant weights under weight decay equilibrate their norm at ∝ (η/λ)^{1/4}, making the effective learning rate ∝ √(ηλ)');
    return finish({ slope: null, formula_id: 'batchnorm_weight_decay', formula: 'L(η) − L* ∝ √(ηλ): no finite slope', regime: 'no_finite_slope' });
  }
  if (B === null || !(B >= 1)) {
    warn(warnings, 'unknown_batch_size', 'error', 'The batch size is not stated anywhere: set it (e.g. --batch-size) to get a prediction.');
    return finish({ slope: null, formula_id: 'unknown_batch_size', formula: `s = tr Σ/(4B) with tr Σ = ${num(traceCov)}: B unknown`, regime: 'linear' });
  }

  const nf = noiseFactor(setup, B, warnings);
  const mf = momentumFactor(setup, warnings);
  diagnostics.noise_factor = nf.f;
  diagnostics.momentum_factor = mf.m;
  if (mf.assumption) assumptions.push(mf.assumption);
  assumptions.push('leading order in η around a strict local minimum Φ*; L(η) is the expected loss under the stationary distribution (THEORY.md §1)');

  // The per-unit-η noise term ¼·tr(PΣ_B) for the optimiser's (fixed) preconditioner P.
  let core: number;
  let coreSym: string;
  let coreNums: string;
  let rowId: string;
  let precond: Float64Array | undefined;
  if (SGD_LIKE.has(setup.optimizer)) {
    core = traceCov * nf.f;
    rowId = nf.withoutReplacement ? 'iid_without_replacement' : 'iid_with_replacement';
    coreSym = nf.withoutReplacement ? 'tr Σ·(N−B)/(4B(N−1))' : 'tr Σ/(4B)';
    coreNums = nf.withoutReplacement ? `${num(traceCov)}·(${N}−${B})/(4·${B}·(${N}−1))` : `${num(traceCov)}/(4·${B})`;
    assumptions.push(nf.withoutReplacement ? 'each minibatch is B distinct examples, batches independent of each other' : 'minibatch indices drawn i.i.d. with replacement');
    if (diagnostics.subsampled && stats.sqNormSd !== undefined && traceCov > 0) {
      const fpc = Math.sqrt(Math.max(0, 1 - stats.n / (N as number)));
      diagnostics.slope_stderr = (((stats.sqNormSd / Math.sqrt(stats.n)) * fpc) / traceCov) * ((core * mf.m) / 4);
    } else if (!diagnostics.subsampled) diagnostics.slope_stderr = 0;
    core /= 4;
  } else {
    const eps = setup.adam?.eps ?? 1e-8;
    if (!stats.diagSecondMoment) {
      warn(warnings, 'adam_needs_diagonal', 'warning', `${setup.optimizer}: the prediction needs the per-parameter second moment E_b g_b,i² from the gradient engine.`);
      return finish({ slope: null, formula_id: 'adam_diag', formula: '¼ Σ_i Σ_B,ii/(√Σ_B,ii + ε): per-parameter second moments missing', regime: 'linear' });
    }
    const diag = stats.diagSecondMoment;
    precond = new Float64Array(diag.length);
    let s = 0;
    let sSigma = 0;
    for (let i = 0; i < diag.length; i++) {
      const g = stats.meanGrad ? stats.meanGrad[i] : 0;
      const v = Math.max(0, diag[i] - g * g) * nf.f;
      const sd = Math.sqrt(v);
      precond[i] = 1 / (sd + eps);
      s += v / (sd + eps);
      sSigma += sd;
    }
    core = s / 4;
    rowId = 'adam_diag';
    coreSym = `¼ Σ_i Σ_B,ii/(√Σ_B,ii + ε) [Σ_B,ii = (E g_i² − ḡ_i²)·${nf.sym}]`;
    coreNums = `(sum over ${diag.length} parameters, ${nf.sym} = ${nf.nums}, ε = ${num(eps)}: ${num(core)}; ¼ Σ_i σ_B,i = ${num(sSigma / 4)})`;
    assumptions.push('Adam/RMSprop with β2 → 1: the second-moment estimate v_i is frozen at E ĝ_i² ≈ Σ_B,ii, a fixed diagonal preconditioner P = diag(1/(√v_i + ε)) (THEORY.md §2)');
    if (!stats.meanGrad) assumptions.push('ḡ_i taken as 0 (per-parameter mean gradient not supplied)');
    assumptions.push('the slope scales as 1/√B, not 1/B');
  }
  const slope = core * mf.m;
  const idWithMomentum = mf.id ? `${rowId}+${mf.id}` : rowId;
  const rhs = (value: number): string => `${coreSym}${mf.sym} = ${coreNums}${mf.nums} = ${num(value)}`;
  const sgdFormula = (value: number): string => `s = ${rhs(value)}`;

  // Weight decay rows.
  if (lambda > 0) {
    const penaltyInLoss = setup.loss_includes_penalty && !decoupled;
    if (penaltyInLoss) {
      assumptions.push('loss measured with the L2 penalty: Σ is the covariance of per-example gradients at the regularised optimum (THEORY.md §2)');
      if (setup.sampling !== 'reshuffle') return finish({ slope, formula_id: `${idWithMomentum}+l2_in_loss`, formula: sgdFormula(slope), regime: 'linear' });
    } else if (setup.sampling !== 'reshuffle') {
      const upper = slope;
      if (hessianOk) {
        const exact = penaltyExcludedFromGrads(extras, nf.f, lambda, precond, decoupled) * mf.m;
        diagnostics.hessian_used = true;
        assumptions.push(`loss measured without the penalty: ¼ tr[H̃(H̃+λD)⁻¹ P Σ_B] from the Hessian (${P} parameters), ${decoupled ? 'decoupled' : 'coupled'} decay`);
        const f = SGD_LIKE.has(setup.optimizer)
          ? `s = ¼ tr[H(H+λI)⁻¹Σ_B]${mf.sym}, Σ_B = Σ·${nf.sym}, with λ = ${num(lambda)}, ${nf.sym} = ${nf.nums}${mf.nums ? `, factor${mf.nums.slice(2)}` : ''}: s = ${num(exact)} (≤ ${num(upper)} with the penalty)`
          : `s = ¼ tr[H̃(H̃+λD)⁻¹ P^½Σ_B P^½] (preconditioned, ${decoupled ? 'decoupled' : 'coupled'} λ = ${num(lambda)}) = ${num(exact)}`;
        return finish({ slope: exact, formula_id: `${idWithMomentum}+l2_without_penalty`, formula: f, regime: 'linear', upper_bound: upper });
      }
      warn(warnings, 'penalty_excluded_upper_bound', 'warning', `Weight decay λ = ${num(lambda)} with the penalty not in the logged loss: the slope is ¼ tr[H(H+λI)⁻¹Σ_B]·(momentum factor), which needs the Hessian; only the upper bound ${num(upper)} is available.`);
      return finish({ slope: null, formula_id: `${idWithMomentum}+l2_without_penalty`, formula: `s ≤ ${rhs(upper)} (the exact ¼ tr[H(H+λI)⁻¹Σ_B] needs the Hessian)`, regime: 'linear', upper_bound: upper });
    }
  }

  if (setup.sampling === 'reshuffle') {
    warn(warnings, 'reshuffle_linear_law_fails', 'warning', 'Random reshuffling: the gradient noise is anti-correlated within an epoch, so for directions with η·h·N/B ≪ 1 the excess loss is quadratic in η and the observed slope at small η is near 0 (THEORY.md §3). The figure for independent batches is an upper bound.');
    assumptions.push('random reshuffling: linear law only for directions with η·h·N/B ≫ 1; the i.i.d. (without replacement) figure is an upper bound (THEORY.md §3)');
    const upper = slope;
    const lrs = (setup.lrs ?? []).filter((x) => x > 0).sort((a, b) => a - b);
    if (hessianOk && SGD_LIKE.has(setup.optimizer) && lrs.length > 0 && N !== null) {
      // Momentum treated as an effective learning rate η(1−d)/(1−β) (its memory ≪ an epoch).
      const effective = lrs.map((x) => x * mf.m);
      const curve = reshufflePrediction(extras.hessian as Float64Array, extras.perExampleGrads as Float64Array, {
        batchSize: B,
        lrs: effective,
        weightDecay: decoupled ? 0 : lambda,
        lossIncludesPenalty: setup.loss_includes_penalty,
      });
      diagnostics.hessian_used = true;
      if (mf.m !== 1) assumptions.push('momentum treated as an effective learning rate η·(1−d)/(1−β) in the reshuffling model');
      if (curve.skipped_directions > 0) assumptions.push(`${curve.skipped_directions} non-positive-curvature direction(s) skipped`);
      const lrOut = curve.lr.map((x) => x / mf.m);
      const chord = chordSlope(lrOut, curve.excess);
      return finish({
        slope: chord,
        formula_id: `reshuffle_quadratic_model${mf.id ? `+${mf.id}` : ''}`,
        formula: chord === null ? 'reshuffling model: no stable learning rate in range' : `s = least-squares slope of the reshuffling model's L(η) − L* over η ∈ [${num(lrOut[0])}, ${num(lrOut[lrOut.length - 1])}] = ${num(chord)} (i.i.d. upper bound ${num(upper)})`,
        regime: 'reshuffle_suppressed',
        upper_bound: upper,
        reshuffle_curve: { lr: lrOut, excess: curve.excess },
      });
    }
    return finish({ slope: null, formula_id: `${idWithMomentum}+reshuffle`, formula: `s ≤ ${rhs(upper)} (independent-batch upper bound; reshuffling suppresses the slope)`, regime: 'reshuffle_suppressed', upper_bound: upper });
  }

  return finish({ slope, formula_id: idWithMomentum, formula: sgdFormula(slope), regime: 'linear' });
}

/** The learning rate above which SGD has no stationary state: the finite-η limit when given, else 2/λ_max (stability.ts). */
function stabilityOf(setup: TrainingSetup, extras: PredictExtras, lambda: number, decoupled: boolean): { lr: number; kind: 'mean_square' | 'deterministic' } | null {
  const opts = { momentum: setup.momentum, dampening: setup.dampening, nesterov: setup.nesterov, weightDecay: decoupled ? 0 : lambda };
  if (ADAPTIVE.has(setup.optimizer)) return null; // the preconditioned curvature is not known here
  if (extras.stabilityLimit && extras.stabilityLimit.lr > 0) return extras.stabilityLimit;
  const deterministic = (lr: number | null) => (lr === null ? null : { lr, kind: 'deterministic' as const });
  if (extras.hessian) {
    const n = squareSide(extras.hessian, 'Hessian');
    if (n <= (extras.maxParams ?? DEFAULT_MAX_PARAMS)) return deterministic(stabilityLimitFromEigenvalue(largestEigenvalue(extras.hessian, n), opts));
  }
  if (extras.hessianTopEigenvalue !== undefined) return deterministic(stabilityLimitFromEigenvalue(extras.hessianTopEigenvalue, opts));
  return null;
}

function penaltyExcludedFromGrads(extras: PredictExtras, f: number, lambda: number, precond: Float64Array | undefined, decoupled: boolean): number {
  const H = extras.hessian as Float64Array;
  const p = squareSide(H, 'Hessian');
  const G = extras.perExampleGrads as Float64Array;
  const n = G.length / p;
  if (!Number.isInteger(n)) throw new HeatcapError(undefined, `per-example gradients: ${G.length} entries is not a multiple of ${p}`);
  const { cov } = rowCovariance(G, n, p);
  for (let i = 0; i < cov.length; i++) cov[i] *= f;
  return penaltyExcludedSlope(H, cov, lambda, { precond, decoupled });
}

/** Unweighted least-squares slope of y on x (what a sweep fit over those η would estimate). */
function chordSlope(x: number[], y: number[]): number | null {
  if (x.length === 0) return null;
  if (x.length === 1) return y[0] / x[0];
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxx = 0;
  let sxy = 0;
  x.forEach((xi, i) => {
    sxx += (xi - mx) ** 2;
    sxy += (xi - mx) * (y[i] - my);
  });
  return sxx > 0 ? sxy / sxx : null;
}
