/**
 * Curvature of the training loss at a checkpoint in its k sharpest directions (issue 20), for any model
 * the engine loads: the SubspaceCurvature of src/core/finite-eta/types.ts.
 *
 *   computeSubspaceCurvature(spec, { k, maxExamples, threads, tolerance }, token?, onProgress?)
 *
 * `spec` is the engine's problem spec (model file, data files or opened arrays, loss, semantics). Steps:
 * 1. One per-example-norm pass of the ONNX engine (engine/compute.ts) over all N examples: tr Σ,
 *    E‖g_b‖², ‖ḡ‖², and the time every cost is expressed in (costGradientPasses).
 * 2. Hessian-vector products of the full-training-set loss ℓ(w) = mean_b ℓ_b (the model's penalties
 *    included). Dense-only models (model.json whose layers the lab's float64 engine runs): central
 *    differences of exact float64 gradients (lab/dense-f64.ts), `central_difference_float64`, error ~1e-9.
 *    Every other model: by default exact products, `r_operator_float32`: the engine's gradient program
 *    with the parameters as graph inputs (onnx-program.ts) transformed forward-mode (jvp/: a tangent
 *    rule per ONNX op), its tangent outputs Σ_b ∇²ℓ_b·v run in ONNX Runtime (float32, loss head
 *    float64); where some op on the path has no tangent rule, central differences of that gradient
 *    program, `central_difference_float32`, with the step's estimated error (hvp.ts chooses the step),
 *    and a note naming the op. Penalty curvature (2·l2) is added exactly.
 * 3. Top-k eigenpairs by Lanczos with full reorthogonalisation (lanczos.ts); when k ≥ P, the dense
 *    Hessian from P products and a dense eigen-solve (`dense_eigen`, exact subspace). Each Ritz pair's
 *    residual ‖Hv − λv‖/|λ_1| from one more product; `converged` when all are below the tolerance
 *    (default 1e-6 for float64 products, 1e-3 for float32 ones).
 * 4. Per-example projections v_iᵀg_b and v_iᵀA_b v_j on min(N, maxExamples) evenly spaced examples
 *    (default 2048; projections.ts): v_iᵀg_b from per-example gradients projected on V at w₀ — exact
 *    float64 gradients for Dense models; otherwise the float32 projection program (projection-program.ts:
 *    ⟨g_b, v_i⟩ for a batch of examples from each layer's per-example form), or the gradient program at
 *    batch 1 once per example where a weight has no per-example form. v_iᵀA_b v_j: with exact products,
 *    the projection program's forward-mode tangent along v_j (1 + k passes over the examples, exact);
 *    otherwise central differences of the projections at w₀ ± εv_j with the products' step (1 + 2k).
 * Runs on the calling thread (ORT's session.run and the float64 loops block it): call it from a worker.
 */
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { computeOnnxPartial } from '../engine/compute';
import { openEngineProblem, type EngineProblem, type EngineProblemSpec } from '../engine/problem';
import type { RuntimeChoice } from '../engine/runtime';
import { HeatcapError } from '../errors';
import type { SubspaceCurvature } from '../finite-eta/types';
import { finalize } from '../gradnorm/stats';
import { symmetricEigen } from '../linalg/symmetric-eigen';
import { openLab, type OpenedLab } from '../lab/open';
import { centralHvp, chooseStep, type GradientFn, type StepChoice } from './hvp';
import { lanczosTop, ritzResiduals, type Hvp } from './lanczos';
import { OnnxCurvatureEvaluator } from './onnx-evaluator';
import { addPenalty, perExampleProjections, type CurvatureAlongFn, type ProjectFn, type Projections } from './projections';

export interface CurvatureSpec extends EngineProblemSpec {
  /** `auto` (default): float64 for Dense-only model.json files, ONNX Runtime otherwise. */
  engine?: 'auto' | 'dense-f64' | 'onnx';
}

export interface CurvatureOptions {
  /** Eigenpairs wanted (default 10; at most P). */
  k?: number;
  /** Examples the per-example projections use (evenly spaced; default 2048). The Hessian always uses all N. */
  maxExamples?: number;
  /** ONNX Runtime intra-op threads (default 1). */
  threads?: number;
  /** ONNX Runtime build (default `auto`: native onnxruntime-node, else its wasm build with a note). */
  runtime?: RuntimeChoice;
  /** Residual tolerance ‖Hv − λv‖/|λ_1| for `converged` (default 1e-6 float64, 1e-3 float32). */
  tolerance?: number;
  /** Most Lanczos steps (default min(P, 6k + 20)). */
  maxSteps?: number;
  /** Seed of the random start vectors (default 1). */
  seed?: number;
  /**
   * ONNX path only: per-example projections by the vectorised projection program (`auto`, default; the
   * batch-1 loop where it cannot be built) or by the batch-1 gradient program per example (`loop`).
   */
  projections?: 'auto' | 'loop';
  /**
   * ONNX path only: `auto` (default) exact products by the forward-over-reverse program where every op
   * has a tangent rule, else central differences; `differences`: central differences always.
   */
  hvp?: 'auto' | 'differences';
}

export const DEFAULT_K = 10;
export const DEFAULT_MAX_EXAMPLES = 2048;
const TOL_F64 = 1e-6;
const TOL_F32 = 1e-3;

/** A progress function for the sub-range [a, b) of the whole job. */
function phase(onProgress: ProgressFn | undefined, a: number, b: number, label: string): ProgressFn {
  return (p) => onProgress?.({ fraction: a + (b - a) * (p.fraction ?? 0), message: p.message ? `${label}: ${p.message}` : label });
}

function evenlySpaced(N: number, m: number): Int32Array {
  if (m >= N) return Int32Array.from({ length: N }, (_, i) => i);
  return Int32Array.from({ length: m }, (_, i) => Math.floor((i * N) / m));
}

interface HvpSource {
  P: number;
  w0: Float64Array;
  hvpKind: 'central_difference_float64' | 'central_difference_float32' | 'r_operator_float32';
  /** Exact products (data part, penalties excluded), when the source has them. */
  exactHvp?: (v: Float64Array) => Promise<Float64Array>;
  /** Why exact products are not used (ONNX path), in words. */
  exactNote?: string;
  /** Seconds per full-batch gradient and per exact product so far (measured), when the source times them. */
  timing?: () => { gradient: number; gradients: number; hvp: number; hvps: number };
  unitRoundoff: number;
  /** Gradient whose differences give the Hessian (may exclude exactly-known penalty terms). */
  grad: GradientFn;
  /** Exact curvature added to every product (penalties), if any. */
  exactPart?: (v: Float64Array, out: Float64Array) => void;
  /** V·g_b(w) on the projection examples; `penalty` adds the exact penalty terms afterwards. */
  project: ProjectFn;
  /** How `project` computes them, in words. */
  projectNote: () => string;
  /** Exact v_iᵀA_b t on the projection examples (forward-mode projection program), when the source has it. */
  along?: CurvatureAlongFn;
  /** Why there is no `along` (exact products but differences for the per-example curvatures), in words. */
  alongNote?: () => string | undefined;
  penalty?: { grad: Float64Array; hessDiag: Float64Array };
  describe: string;
  release(): Promise<void>;
}

async function denseSource(spec: CurvatureSpec, rows: Int32Array): Promise<{ source: HvpSource; stats: (rows: Int32Array) => { meanSqNorm: number; meanGradSqNorm: number; traceCov: number } } | null> {
  // The lab's float64 engine reads TF.js model.json files (through TF.js); anything else goes to ORT.
  if (!('data' in spec.data) || spec.labelSmoothing || spec.semantics === 'clipped' || spec.frozen?.length || spec.engine === 'onnx') return null;
  if (spec.engine !== 'dense-f64' && !/\.json$/i.test(spec.model)) return null;
  let opened: OpenedLab;
  try {
    opened = await openLab({ model: spec.model, data: spec.data, loss: spec.loss, engine: 'dense-f64', backend: 'auto', batchSize: 1 });
  } catch (e) {
    if (spec.engine !== 'dense-f64' && e instanceof HeatcapError) return null;
    throw e;
  }
  const m = opened.model;
  const P = m.paramCount;
  const all = Int32Array.from({ length: m.n }, (_, i) => i);
  const one = new Int32Array(1);
  const perExample = (w: Float64Array, row: number, out: Float64Array) => {
    one[0] = row;
    m.batchLossGrad(w, one, out);
  };
  const g = new Float64Array(P);
  const project = (rows: Int32Array): ProjectFn => async (w, V) => {
    const k = V.length;
    const out = new Float64Array(rows.length * k);
    rows.forEach((row, b) => {
      perExample(w, row, g);
      for (let i = 0; i < k; i++) {
        const v = V[i];
        let s = 0;
        for (let p = 0; p < P; p++) s += v[p] * g[p];
        out[b * k + i] = s;
      }
    });
    await new Promise((r) => setImmediate(r));
    return out;
  };
  const source: HvpSource = {
    P,
    project: project(rows),
    projectNote: () => 'exact float64 per-example gradients',
    w0: Float64Array.from(opened.initial),
    hvpKind: 'central_difference_float64',
    unitRoundoff: 2 ** -53,
    grad: async (w) => {
      const g = new Float64Array(P);
      m.batchLossGrad(w, all, g);
      await new Promise((r) => setImmediate(r));
      return g;
    },
    describe: `float64 exact gradients of the lab's Dense engine (${opened.notes.filter((n) => /engine/.test(n)).join('; ')})`,
    release: async () => m.dispose(),
  };
  // E‖g_b‖², ‖ḡ‖², tr Σ over every example in float64 (population normalisation).
  const stats = (rows: Int32Array) => {
    const g = new Float64Array(P);
    const mean = new Float64Array(P);
    let sq = 0;
    for (const b of rows) {
      perExample(source.w0, b, g);
      for (let p = 0; p < P; p++) {
        sq += g[p] * g[p];
        mean[p] += g[p];
      }
    }
    let g2 = 0;
    for (let p = 0; p < P; p++) g2 += (mean[p] / rows.length) ** 2;
    const meanSqNorm = sq / rows.length;
    return { meanSqNorm, meanGradSqNorm: g2, traceCov: meanSqNorm - g2 };
  };
  return { source, stats };
}

function penaltyTerms(problem: EngineProblem, ev: OnnxCurvatureEvaluator): { grad: Float64Array; hessDiag: Float64Array } | undefined {
  const grad = new Float64Array(ev.P);
  const hessDiag = new Float64Array(ev.P);
  let any = false;
  problem.graph.params.forEach((p, i) => {
    if (!p.penalty || (p.penalty.l1 === 0 && p.penalty.l2 === 0)) return;
    any = true;
    const { offset, size } = ev.params[i];
    for (let q = offset; q < offset + size; q++) {
      grad[q] = p.penalty.l1 * Math.sign(ev.w0[q]) + 2 * p.penalty.l2 * ev.w0[q];
      hessDiag[q] = 2 * p.penalty.l2;
    }
  });
  return any ? { grad, hessDiag } : undefined;
}

async function onnxSource(problem: EngineProblem, rows: Int32Array, threads: number, token: CancelToken | undefined, k: number, projections: 'auto' | 'loop', runtime: RuntimeChoice | undefined, hvpMode: 'auto' | 'differences'): Promise<HvpSource> {
  const ev = await OnnxCurvatureEvaluator.open(problem, rows, threads, token, { k, projections, runtime });
  const pen = penaltyTerms(problem, ev);
  const why = hvpMode === 'differences' ? 'central differences asked for' : await ev.openHvp();
  // Exact per-example curvatures need the projection program's tangent program (k directions, as opened).
  const alongWhy = why ? undefined : await ev.openProjectionTangents(Math.max(1, Math.min(k, ev.P)));
  const along: CurvatureAlongFn | undefined = why || alongWhy ? undefined : (V, t) => (V.length === Math.max(1, Math.min(k, ev.P)) ? ev.subsetCurvatureAlong(ev.w0, V, t) : Promise.resolve(null));
  return {
    along,
    alongNote: () => alongWhy,
    P: ev.P,
    w0: ev.w0,
    hvpKind: why ? 'central_difference_float32' : 'r_operator_float32',
    exactHvp: why ? undefined : (v) => ev.meanDataHvp(ev.w0, v),
    exactNote: why,
    timing: () => ({ gradient: ev.gradientSeconds, gradients: ev.gradientRuns, hvp: ev.hvpSeconds, hvps: ev.hvpRuns }),
    unitRoundoff: 2 ** -24,
    grad: (w) => ev.meanDataGrad(w),
    exactPart: pen
      ? (v, out) => {
          for (let i = 0; i < out.length; i++) out[i] += pen.hessDiag[i] * v[i];
        }
      : undefined,
    project: (w, V) => ev.subsetGradProjections(w, V),
    projectNote: () => ev.projectionNote,
    penalty: pen,
    describe: ev.describe(),
    release: () => ev.release(),
  };
}

/** The top-k eigenpairs of the operator (Lanczos, or dense when k covers every parameter). */
async function eigenpairs(hvp: Hvp, P: number, k: number, o: { tolerance: number; maxSteps: number; seed: number }, token: CancelToken | undefined, onProgress: ProgressFn) {
  if (k >= P) {
    const H = new Float64Array(P * P);
    for (let i = 0; i < P; i++) {
      throwIfCancelled(token);
      const e = new Float64Array(P);
      e[i] = 1;
      const col = await hvp(e);
      for (let j = 0; j < P; j++) H[j * P + i] = col[j];
      onProgress({ fraction: (i + 1) / P, message: `Hessian column ${i + 1}/${P}` });
    }
    const eig = symmetricEigen(H, P);
    const values: number[] = [];
    const vectors: Float64Array[] = [];
    for (let c = P - 1; c >= 0; c--) {
      values.push(eig.values[c]);
      vectors.push(Float64Array.from({ length: P }, (_, r) => eig.vectors[r * P + c]));
    }
    return { method: 'dense_eigen', values, vectors, steps: P, note: `dense Hessian from ${P} products, symmetrised, dense eigen-solve` };
  }
  const r = await lanczosTop(hvp, P, {
    k,
    tolerance: o.tolerance,
    maxSteps: o.maxSteps,
    seed: o.seed,
    token,
    onStep: (s, max, bound) => onProgress({ fraction: s / max, message: `Lanczos step ${s} (residual bound ${bound.toExponential(1)})` }),
  });
  return { method: 'lanczos', values: r.values, vectors: r.vectors, steps: r.steps, note: `Lanczos with full reorthogonalisation: ${r.steps} steps${r.restarts ? `, ${r.restarts} restart(s)` : ''}, stopped when every top-${k} residual bound |β_m s_mi|/|θ_1| < tolerance/2 or after ${o.maxSteps} steps` };
}

export async function computeSubspaceCurvature(spec: CurvatureSpec, opts: CurvatureOptions = {}, token?: CancelToken, onProgress?: ProgressFn): Promise<SubspaceCurvature> {
  const t0 = performance.now();
  const threads = Math.max(1, opts.threads ?? 1);
  const notes: string[] = [];
  const problem = await openEngineProblem(spec);
  /** Opening files, tfjs, programs and ORT sessions: reported, but not part of the cost ratio. */
  let loadSeconds = (performance.now() - t0) / 1000;
  let source: HvpSource | undefined;
  try {
    // 1. The per-example-norm pass: the yardstick of the cost, and tr Σ / E‖g_b‖² / ‖ḡ‖² over all N.
    phase(onProgress, 0, 0.05, 'per-example gradient norms')({ fraction: 0 });
    const pass = await computeOnnxPartial(problem, { threads, runtime: opts.runtime, token, onProgress: phase(onProgress, 0, 0.05, 'per-example gradient norms') });
    const engineStats = finalize(pass.partial, pass.penaltyGrad, pass.params, { backend: pass.backend, engine: pass.engine, seconds: pass.seconds, notes: [] });
    const N = problem.n;
    const rows = evenlySpaced(N, Math.max(1, Math.floor(opts.maxExamples ?? DEFAULT_MAX_EXAMPLES)));
    throwIfCancelled(token);

    const tLoad = performance.now();
    const dense = await denseSource(spec, rows);
    let stats = { meanSqNorm: engineStats.meanSqNorm, meanGradSqNorm: engineStats.meanGradSqNorm, traceCov: engineStats.traceCov };
    if (dense) {
      source = dense.source;
      stats = dense.stats(Int32Array.from({ length: N }, (_, i) => i));
      notes.push('tr Σ, E‖g_b‖², ‖ḡ‖² in float64 over every example (exact per-example gradients)');
    } else {
      source = await onnxSource(problem, rows, threads, token, Math.floor(opts.k ?? DEFAULT_K), opts.projections ?? 'auto', opts.runtime, opts.hvp ?? 'auto');
      notes.push(`tr Σ, E‖g_b‖², ‖ḡ‖² from the engine's per-example-norm pass over every example (${pass.engine})`);
    }
    loadSeconds += (performance.now() - tLoad) / 1000;
    const P = source.P;
    const k = Math.max(1, Math.min(Math.floor(opts.k ?? DEFAULT_K), P));
    const tolerance = opts.tolerance ?? (source.hvpKind === 'central_difference_float64' ? TOL_F64 : TOL_F32);
    const maxSteps = Math.min(P, opts.maxSteps ?? 6 * k + 20);
    const exact = source.exactHvp;
    if (exact) {
      notes.push(`Hessian-vector products: exact (forward-over-reverse, float32): ${source.describe}, transformed forward-mode (a tangent rule per op: the R-operator), its tangent outputs Σ_b ∇²ℓ_b·v over all ${N} examples summed in float64${source.exactPart ? '; weight-penalty curvature (2·l2) added exactly' : ''}`);
    } else {
      notes.push(`Hessian-vector products: ${source.describe}; central differences of the full-batch mean gradient over all ${N} examples${source.exactPart ? '; weight-penalty curvature (2·l2) added exactly' : ''}`);
    }

    // 2. The step of the differences (the products' when they are differences; the per-example
    // projections' when those are differences). Nothing is differenced when both are exact.
    const needStep = !exact || !source.along;
    const step: StepChoice = needStep ? await chooseStep(source.grad, source.w0, source.unitRoundoff, (opts.seed ?? 1) + 7, token) : { step: 0, relError: 0, table: [], gradients: 0 };
    phase(onProgress, 0.05, 0.1, 'difference step')({ fraction: 1 });
    if (needStep) {
      notes.push(`difference step ε = ${step.step.toExponential(2)} (unit vectors${exact ? '; used by the per-example projections only' : ''}), chosen from the table ${step.table.map((t) => `${t.step.toExponential(1)}: ${t.relDiff.toExponential(1)}`).join(', ')} (relative difference of Hv to the next step ÷4); estimated relative error ${step.relError.toExponential(1)}`);
    }
    if (source.hvpKind === 'central_difference_float32') {
      notes.push(`exact Hessian-vector products not used (${source.exactNote}): float32 differences need steps ≳ 1e-4, and where ReLU/MaxPool switch within the step they measure the loss smoothed over those switches, not the piecewise Hessian autograd reports`);
    }
    if (!exact && step.relError > tolerance) notes.push(`the differences' estimated error ${step.relError.toExponential(1)} exceeds the tolerance ${tolerance.toExponential(0)}: activations switch within every usable step (or rounding dominates); the residuals show it`);
    const hvp: Hvp = exact
      ? async (v) => {
          const out = await exact(v);
          source!.exactPart?.(v, out);
          return out;
        }
      : centralHvp(source.grad, source.w0, step.step, source.exactPart);

    // 3. Eigenpairs and their true residuals.
    const eig = await eigenpairs(hvp, P, k, { tolerance, maxSteps, seed: opts.seed ?? 1 }, token, phase(onProgress, 0.1, 0.6, 'eigenpairs'));
    notes.push(eig.note);
    const values = eig.values.slice(0, k);
    const vectors = eig.vectors.slice(0, k);
    let residuals: number[];
    if (eig.method === 'dense_eigen') residuals = values.map(() => 0);
    else residuals = (await ritzResiduals(hvp, values, vectors, token, phase(onProgress, 0.6, 0.7, 'residuals'))).residuals;
    const converged = residuals.every((r) => r < tolerance);
    notes.push(`residual tolerance ${tolerance.toExponential(0)} (‖Hv − λv‖/|λ_1|, one extra product per pair${eig.method === 'dense_eigen' ? '; 0 for the dense solve' : ''}): ${converged ? 'all converged' : `not converged: largest ${Math.max(...residuals).toExponential(1)}`}`);

    // 4. Per-example projections.
    const proj = await perExampleProjections(source.project, source.w0, vectors, step.step, token, phase(onProgress, 0.7, 1, 'per-example projections'), source.along);
    if (source.penalty) addPenalty(vectors, proj, source.penalty.grad, source.penalty.hessDiag);
    const curvNote = proj.exact
      ? 'v_iᵀA_b v_j exact: the projection program transformed forward-mode (jvp/), its tangent along v_j, one run per direction (float32)'
      : `v_iᵀA_b v_j by central differences of V·g_b along v_j (step ${proj.step.toExponential(2)}, as the products${source.alongNote?.() ? `; not exact: ${source.alongNote()}` : ''}), symmetrised`;
    notes.push(
      `per-example projections on ${rows.length} of ${N} examples${rows.length < N ? ' (evenly spaced)' : ''}: V·g_b from ${source.projectNote()}; ${curvNote}; ${proj.evaluationsPerExample} ${proj.exact ? 'evaluations (w₀, and one tangent per v_j)' : 'parameter points (w₀, w₀ ± εv_j)'} per example`,
    );
    notes.push(consistencyNote(proj, values, rows.length === N));
    // The yardstick of an exact product: full-batch gradients of the same program, timed here when no
    // step was chosen (three, the first as the session's warm-up, not counted; part of the cost below).
    let yardstick: { gradient: number; gradients: number } | undefined;
    if (exact && !needStep && source.timing) {
      await source.grad(source.w0);
      const before = source.timing();
      await source.grad(source.w0);
      await source.grad(source.w0);
      const after = source.timing();
      yardstick = { gradient: after.gradient - before.gradient, gradients: after.gradients - before.gradients };
    }
    const seconds = (performance.now() - t0) / 1000;
    const computeSeconds = seconds - loadSeconds;
    const costGradientPasses = pass.seconds > 0 ? computeSeconds / pass.seconds : null;
    notes.push(
      `cost: ${computeSeconds.toFixed(2)} s of computation = ${costGradientPasses?.toFixed(1) ?? '?'} × one per-example-norm pass (${pass.seconds.toFixed(3)} s over ${N} examples, ${pass.engine}, steady state; this pass included), plus ${loadSeconds.toFixed(2)} s opening the model, data, programs and sessions; ` +
        `${eig.steps + (eig.method === 'dense_eigen' ? 0 : k)} Hessian-vector products (${exact ? 'one run of the HVP program over the data each' : '2 gradients each'})${needStep ? ` after ${step.gradients} gradients choosing the step` : exact !== undefined ? '; 3 full-batch gradients timing the yardstick below' : ''}`,
    );
    const tm = source.timing?.();
    const yard = yardstick ?? tm;
    if (exact && tm && yard && yard.gradients > 0 && tm.hvps > 0) {
      const g = yard.gradient / yard.gradients;
      const h = tm.hvp / tm.hvps;
      notes.push(`measured here (process CPU time): one exact Hessian-vector product ${(h * 1000).toFixed(1)} ms = ${(h / g).toFixed(2)} × one full-batch gradient (${(g * 1000).toFixed(1)} ms; means over ${tm.hvps} products and ${yard.gradients} gradients); a central difference costs 2 gradients`);
    }
    const flat = new Float64Array(k * P);
    vectors.forEach((v, i) => flat.set(v, i * P));
    return {
      parameters: P,
      k,
      n: rows.length,
      eigenvalues: values,
      residuals,
      converged,
      vectors: flat,
      perExampleCurvature: proj.curvature,
      perExampleGradProj: proj.gradProj,
      traceCovTotal: stats.traceCov,
      meanGradSqNorm: stats.meanGradSqNorm,
      meanSqNorm: stats.meanSqNorm,
      method: eig.method,
      hvp: source.hvpKind,
      hvpStep: exact ? undefined : step.step,
      hvpRelError: exact ? undefined : source.hvpKind === 'central_difference_float64' ? Math.max(step.relError, 1e-12) : step.relError,
      costGradientPasses,
      seconds,
      notes,
    };
  } finally {
    await source?.release();
    problem.close();
  }
}

/** mean_b v_iᵀA_b v_i should equal λ_i (all examples): the largest relative deviation, in words. */
function consistencyNote(proj: Projections, values: number[], allExamples: boolean): string {
  const k = values.length;
  const n = proj.gradProj.length / k;
  let worst = 0;
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let b = 0; b < n; b++) s += proj.curvature[(b * k + i) * k + i];
    worst = Math.max(worst, Math.abs(s / n - values[i]) / Math.max(Math.abs(values[0]), 1e-300));
  }
  return `check: max_i |mean_b v_iᵀA_b v_i − λ_i| / |λ_1| = ${worst.toExponential(1)}${allExamples ? '' : ' (on the subset: sampling error included)'}`;
}
