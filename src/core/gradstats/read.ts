/**
 * Reads `gradstats.json`: per-example gradient statistics computed by the Python package heatcap_torch
 * (python/ in this repository) where the model lives — the user's own PyTorch job, on its GPUs and
 * ranks — for models too large for the in-process engine. The file is validated against the committed
 * schema (src/core/result/gradstats.schema.json, schema_version 2; version 1 files are read too) and checked
 * for internal consistency, then converted to the shapes the analysis consumes (the theory's GradStats, the
 * result's gradnorms block, the pipeline's GradientInputs, and from version 2's optional `curvature` section
 * the finite-η prediction's SubspaceCurvature).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readNpy } from '../data/npy';
import { HeatcapError } from '../errors';
import type { GradientInputs } from '../analysis/gradients';
import type { SubspaceCurvature } from '../finite-eta/types';
import type { GradNormSummary } from '../result/schema';
import schema from '../result/gradstats.schema.json';
import type { GradStats } from '../theory/predict';
import { schemaErrors } from './validate';

/** The version heatcap_torch writes; every version in GRADSTATS_READABLE_VERSIONS is read. */
export const GRADSTATS_SCHEMA_VERSION = 2;
export const GRADSTATS_READABLE_VERSIONS: readonly number[] = [1, 2];
/** The usual file name, looked for beside a checkpoint and in sweep and run folders. */
export const GRADSTATS_FILE_NAME = 'gradstats.json';
/** 1e6 inline float64 numbers per vector are ~25 MB each: 256 MiB is far above any valid file. */
const MAX_BYTES = 256 * 1024 * 1024;

/** The file's content (snake_case, as written), plus where it was read from and its per-parameter vectors. */
export interface GradStatsFile {
  file: string;
  schema_version: 1 | 2;
  n: number;
  mean_loss: number;
  mean_sq_norm: number;
  mean_grad_sq_norm: number;
  trace_cov: number;
  sq_norm_sd?: number;
  per_weight: { name: string; mean_sq_norm: number; size: number }[];
  top: { index: number; sq_norm: number }[];
  histogram?: { log10_edges: number[]; counts: number[]; zeros: number };
  model: { class_name: string; parameter_count: number; trainable_parameter_count?: number; sha256: string; has_batchnorm?: boolean };
  data: { n: number; fingerprint: string; dataset_length?: number };
  loss: { name: string; reduction?: string; penalty?: boolean };
  dtype: string;
  device: string;
  world_size: number;
  backend?: string;
  method: string;
  versions: { heatcap_torch: string; torch: string; python?: string; [k: string]: string | undefined };
  wall_seconds: number;
  created_at?: string;
  notes?: string[];
  /** E_b g_b,i² per parameter (inline `diag_second_moment` or its `.npy` beside the file). */
  diagSecondMoment?: Float64Array;
  /** ḡ per parameter. */
  meanGrad?: Float64Array;
  /** The `curvature` section (schema_version 2, when heatcap_torch was asked for it), checked and converted. */
  subspaceCurvature?: SubspaceCurvature;
  /** Dataset indices of the examples behind subspaceCurvature's per-example rows, ascending. */
  curvatureIndices?: number[];
}

function sidecar(file: string, name: unknown, what: string, P: number): Float64Array | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '' || /[\\/]/.test(name) || name === '..') {
    throw new HeatcapError(file, `${what}_npy must be a file name beside gradstats.json, got ${JSON.stringify(name)}`);
  }
  const path = join(dirname(file), name);
  const arr = readNpy(path);
  if (arr.data.length !== P) throw new HeatcapError(path, `${arr.data.length} values, but per_weight sizes add up to ${P} parameters`);
  return arr.data;
}

/**
 * Reads and validates a gradstats.json. Every failure is a HeatcapError naming the file: not JSON, a
 * schema violation (each listed with its JSON pointer), an unsupported schema_version, or numbers that
 * contradict each other (N, tr Σ, the per-weight sum, vector lengths).
 */
export function readGradStatsFile(file: string): GradStatsFile {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new HeatcapError(file, 'not a regular file');
    if (st.size > MAX_BYTES) throw new HeatcapError(file, `${st.size} bytes: too large for a gradstats.json (at most ${MAX_BYTES}; large per-parameter vectors belong in .npy files beside it)`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof HeatcapError) throw e;
    throw new HeatcapError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new HeatcapError(file, `not valid JSON (${e instanceof Error ? e.message : String(e)}); expected a gradstats.json written by heatcap_torch`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new HeatcapError(file, 'expected a JSON object (a gradstats.json written by heatcap_torch)');
  const version = (raw as Record<string, unknown>).schema_version;
  if (typeof version === 'number' && !GRADSTATS_READABLE_VERSIONS.includes(version)) {
    throw new HeatcapError(file, `schema_version ${version} is not supported: this heatcap reads gradstats.json schema_version ${GRADSTATS_READABLE_VERSIONS.join(' and ')} (use the heatcap_torch that comes with this heatcap)`);
  }
  const errs = schemaErrors(raw, schema);
  if (errs.length) throw new HeatcapError(file, `does not match gradstats.schema.json: ${errs.join('; ')}`);
  const f = { ...(raw as Omit<GradStatsFile, 'file'>), file } as GradStatsFile & Record<string, unknown>;

  const bad = (what: string): never => {
    throw new HeatcapError(file, `inconsistent statistics: ${what}`);
  };
  const tol = 1e-9 * Math.max(f.mean_sq_norm, Number.MIN_VALUE);
  if (f.data.n !== f.n) bad(`data.n = ${f.data.n} but n = ${f.n}`);
  if (Math.abs(f.mean_sq_norm - f.mean_grad_sq_norm - f.trace_cov) > tol + 1e-12 * Math.abs(f.trace_cov)) {
    bad(`trace_cov ${f.trace_cov} ≠ mean_sq_norm − mean_grad_sq_norm = ${f.mean_sq_norm - f.mean_grad_sq_norm}`);
  }
  if (f.trace_cov < -1e-9 * f.mean_sq_norm) bad(`trace_cov = ${f.trace_cov} is negative`);
  if (f.per_weight.length === 0) bad('per_weight is empty (no trainable parameters)');
  const perWeightSum = f.per_weight.reduce((a, w) => a + w.mean_sq_norm, 0);
  if (Math.abs(perWeightSum - f.mean_sq_norm) > 1e-6 * f.mean_sq_norm + Number.MIN_VALUE) bad(`per_weight mean_sq_norm values add up to ${perWeightSum}, not mean_sq_norm = ${f.mean_sq_norm}`);
  const P = f.per_weight.reduce((a, w) => a + w.size, 0);
  if (f.model.trainable_parameter_count !== undefined && f.model.trainable_parameter_count !== P) bad(`model.trainable_parameter_count = ${f.model.trainable_parameter_count} but per_weight sizes add up to ${P}`);
  if (f.top.some((t) => t.index >= (f.data.dataset_length ?? Infinity))) bad('a top example index lies beyond data.dataset_length');

  const inlineDiag = f.diag_second_moment as number[] | undefined;
  const inlineMean = f.mean_grad as number[] | undefined;
  if (inlineDiag && inlineDiag.length !== P) bad(`diag_second_moment has ${inlineDiag.length} values for ${P} parameters`);
  if (inlineMean && inlineMean.length !== P) bad(`mean_grad has ${inlineMean.length} values for ${P} parameters`);
  f.diagSecondMoment = inlineDiag ? Float64Array.from(inlineDiag) : sidecar(file, f.diag_second_moment_npy, 'diag_second_moment', P);
  f.meanGrad = inlineMean ? Float64Array.from(inlineMean) : sidecar(file, f.mean_grad_npy, 'mean_grad', P);
  if (f.meanGrad) {
    let g2 = 0;
    for (const v of f.meanGrad) g2 += v * v;
    if (Math.abs(g2 - f.mean_grad_sq_norm) > 1e-6 * f.mean_sq_norm + 1e-9 * g2) bad(`‖mean_grad‖² = ${g2} but mean_grad_sq_norm = ${f.mean_grad_sq_norm}`);
  }
  if (f.curvature !== undefined) {
    if (f.schema_version < 2) bad(`a curvature section needs schema_version 2, the file says ${f.schema_version}`);
    const { curvature, indices } = readCurvature(file, f.curvature as Record<string, unknown>, f, P);
    f.subspaceCurvature = curvature;
    f.curvatureIndices = indices;
  }
  delete f.diag_second_moment;
  delete f.mean_grad;
  delete f.curvature;
  return f;
}

/** An inline array or its .npy beside the file, with the shape it must have (row-major). */
function curvatureArray(file: string, c: Record<string, unknown>, key: string, shape: number[]): Float64Array | undefined {
  const inline = c[key] as number[] | undefined;
  const npy = c[`${key}_npy`];
  const count = shape.reduce((a, d) => a * d, 1);
  if (inline !== undefined && npy !== undefined) throw new HeatcapError(file, `inconsistent statistics: curvature.${key} is given both inline and as ${key}_npy`);
  if (inline !== undefined) {
    if (inline.length !== count) throw new HeatcapError(file, `inconsistent statistics: curvature.${key} has ${inline.length} values, expected ${shape.join(' × ')} = ${count}`);
    return Float64Array.from(inline);
  }
  if (npy === undefined) return undefined;
  if (typeof npy !== 'string' || npy === '' || /[\\/]/.test(npy) || npy === '..') {
    throw new HeatcapError(file, `curvature.${key}_npy must be a file name beside gradstats.json, got ${JSON.stringify(npy)}`);
  }
  const path = join(dirname(file), npy);
  const arr = readNpy(path);
  if (arr.shape.length !== shape.length || arr.shape.some((d, i) => d !== shape[i])) {
    throw new HeatcapError(path, `shape (${arr.shape.join(', ')}), but curvature.${key} must be (${shape.join(', ')})`);
  }
  return arr.data;
}

/**
 * The `curvature` section (already schema-checked) as a SubspaceCurvature, after the checks a hostile or
 * corrupt file would fail: sizes against k, n and P, finite numbers, eigenvalues descending, residuals
 * against `converged`, symmetric per-example curvatures, orthonormal vectors, indices inside the data.
 */
function readCurvature(file: string, c: Record<string, unknown>, f: GradStatsFile, P: number): { curvature: SubspaceCurvature; indices: number[] } {
  const bad = (what: string): never => {
    throw new HeatcapError(file, `inconsistent curvature section: ${what}`);
  };
  const k = c.k as number;
  const n = c.n as number;
  const eigenvalues = c.eigenvalues as number[];
  const residuals = c.residuals as number[];
  const tolerance = c.tolerance as number;
  const indices = c.per_example_indices as number[];
  if (c.parameters !== P) bad(`parameters = ${String(c.parameters)} but per_weight sizes add up to ${P}`);
  if (k > P) bad(`k = ${k} directions for ${P} parameters`);
  if (n > f.n) bad(`n = ${n} examples, more than the file's n = ${f.n}`);
  if (eigenvalues.length !== k) bad(`${eigenvalues.length} eigenvalues for k = ${k}`);
  if (residuals.length !== k) bad(`${residuals.length} residuals for k = ${k}`);
  const finite = (name: string, xs: ArrayLike<number>): void => {
    for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i])) bad(`${name}[${i}] is not a finite number`);
  };
  finite('eigenvalues', eigenvalues);
  finite('residuals', residuals);
  if (!Number.isFinite(tolerance) || tolerance <= 0) bad(`tolerance must be a positive number, got ${tolerance}`);
  for (let i = 1; i < k; i++) if (eigenvalues[i] > eigenvalues[i - 1]) bad(`eigenvalues are not descending (${eigenvalues[i - 1]}, then ${eigenvalues[i]})`);
  const allBelow = residuals.every((r) => r < tolerance);
  if (c.converged === true && !allBelow) bad(`converged is true but a residual is ${Math.max(...residuals)} ≥ tolerance ${tolerance}`);
  if (c.converged === false && allBelow) bad(`converged is false but every residual is below tolerance ${tolerance}`);
  if (indices.length !== n) bad(`per_example_indices has ${indices.length} entries for n = ${n}`);
  for (let i = 1; i < n; i++) if (!(indices[i] > indices[i - 1])) bad(`per_example_indices are not strictly ascending at position ${i}`);
  const dsLen = f.data.dataset_length;
  if (dsLen !== undefined && n > 0 && indices[n - 1] >= dsLen) bad(`per_example index ${indices[n - 1]} lies beyond data.dataset_length = ${dsLen}`);
  if (c.subsampled === false && n !== f.n) bad(`subsampled is false but n = ${n} ≠ the file's n = ${f.n}`);

  const gradProj = curvatureArray(file, c, 'per_example_grad_proj', [n, k]);
  const perCurv = curvatureArray(file, c, 'per_example_curvature', [n, k, k]);
  if (!gradProj) bad('per_example_grad_proj (or per_example_grad_proj_npy) is missing');
  if (!perCurv) bad('per_example_curvature (or per_example_curvature_npy) is missing');
  const G = gradProj as Float64Array;
  const C = perCurv as Float64Array;
  finite('per_example_grad_proj', G);
  finite('per_example_curvature', C);
  let cmax = 0;
  for (const v of C) cmax = Math.max(cmax, Math.abs(v));
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const a = C[(b * k + i) * k + j];
        const t = C[(b * k + j) * k + i];
        if (Math.abs(a - t) > 1e-9 * cmax) bad(`per_example_curvature is not symmetric (example row ${b}, entries ${i},${j}: ${a} vs ${t})`);
      }
    }
  }
  const vectors = curvatureArray(file, c, 'vectors', [k, P]);
  if (vectors) {
    finite('vectors', vectors);
    let worst = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++) {
        let d = 0;
        for (let p = 0; p < P; p++) d += vectors[i * P + p] * vectors[j * P + p];
        worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
      }
    }
    if (worst > 1e-6) bad(`vectors are not orthonormal (largest deviation of VVᵀ from I: ${worst.toExponential(2)})`);
  }

  const notes: string[] = [];
  const fileNotes = (f.notes ?? []).filter((t) => t.startsWith('curvature:'));
  notes.push(`read from ${file} (heatcap_torch ${f.versions.heatcap_torch}, torch ${f.versions.torch} on ${f.device}${f.world_size > 1 ? ` × ${f.world_size} ranks` : ''}, ${f.dtype})`);
  notes.push(`residual tolerance ${tolerance} (‖Hv − λv‖/|λ_1|): ${c.converged === true ? 'all converged' : `not converged: largest ${Math.max(...residuals).toExponential(1)}`}`);
  if (typeof c.iterations === 'number') notes.push(`${c.iterations} Lanczos steps, ${String(c.hvp_count ?? '?')} Hessian-vector products, ${String(c.data_passes ?? '?')} passes over the data`);
  if (typeof c.per_example_method === 'string') notes.push(`per-example projections: ${c.per_example_method}`);
  if (c.subsampled === true) notes.push(`per-example projections on ${n} of the ${f.n} examples (seeded subsample${typeof c.seed === 'number' ? `, seed ${c.seed}` : ''})`);
  else if (n === f.n && n > 0) {
    // mean_b v_iᵀA_b v_i = λ_i when every example is in (the products and the per-example values are separate computations)
    let dev = 0;
    const scale = Math.max(Math.abs(eigenvalues[0]), 1e-300);
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let b = 0; b < n; b++) s += C[(b * k + i) * k + i];
      dev = Math.max(dev, Math.abs(s / n - eigenvalues[i]) / scale);
    }
    notes.push(`mean over the examples of v_iᵀA_b v_i vs λ_i: largest deviation ${dev.toExponential(1)} of |λ_1|`);
  }
  notes.push(...fileNotes.filter((t) => !notes.includes(t)));
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    curvature: {
      parameters: P,
      k,
      n,
      eigenvalues: [...eigenvalues],
      residuals: [...residuals],
      converged: c.converged === true,
      ...(vectors ? { vectors } : {}),
      perExampleCurvature: C,
      perExampleGradProj: G,
      traceCovTotal: f.trace_cov,
      meanGradSqNorm: f.mean_grad_sq_norm,
      meanSqNorm: f.mean_sq_norm,
      method: c.method as string,
      hvp: c.hvp as string,
      costGradientPasses: num(c.cost_gradient_passes),
      seconds: num(c.seconds),
      notes,
    },
    indices: [...indices],
  };
}

/** The theory's statistics (src/core/theory/predict.ts). */
export function toTheoryStats(f: GradStatsFile): GradStats {
  return {
    n: f.n,
    meanLoss: f.mean_loss,
    meanSqNorm: f.mean_sq_norm,
    meanGradSqNorm: f.mean_grad_sq_norm,
    traceCov: f.trace_cov,
    ...(f.diagSecondMoment ? { diagSecondMoment: f.diagSecondMoment } : {}),
    ...(f.meanGrad ? { meanGrad: f.meanGrad } : {}),
    ...(f.sq_norm_sd !== undefined ? { sqNormSd: f.sq_norm_sd } : {}),
  };
}

/** Where the statistics came from, as the result's gradnorms.source says it. */
export function gradStatsSource(file: string): string {
  return `gradstats.json (${file})`;
}

/** The result's `gradnorms` block. */
export function toGradNormSummary(f: GradStatsFile): GradNormSummary {
  return {
    n: f.n,
    mean_loss: f.mean_loss,
    mean_sq_norm: f.mean_sq_norm,
    mean_grad_sq_norm: f.mean_grad_sq_norm,
    trace_cov: f.trace_cov,
    per_weight: f.per_weight.map((w) => ({ name: w.name, mean_sq_norm: w.mean_sq_norm, size: w.size })),
    top: f.top.map((t) => ({ index: t.index, sq_norm: t.sq_norm })),
    histogram: f.histogram ? { log10_edges: f.histogram.log10_edges, counts: f.histogram.counts, zeros: f.histogram.zeros } : { log10_edges: [], counts: [], zeros: 0 },
    backend: `torch ${f.versions.torch} on ${f.device}${f.world_size > 1 ? ` × ${f.world_size} ranks${f.backend ? ` (${f.backend})` : ''}` : ''}, ${f.dtype}`,
    engine: `heatcap_torch ${f.versions.heatcap_torch} (${f.method})`,
    seconds: f.wall_seconds,
    model: `${f.model.class_name} (${f.model.parameter_count} parameters, sha256 ${f.model.sha256.slice(0, 12)})`,
    data: `${f.n} examples (fingerprint ${f.data.fingerprint.slice(0, 12)})`,
    source: gradStatsSource(f.file),
  };
}

/** What the pipeline gets from a gradstats.json: as from the engine, without the small-model refinements. */
export function gradStatsInputs(file: string): GradientInputs {
  const f = readGradStatsFile(file);
  return {
    stats: toTheoryStats(f),
    summary: toGradNormSummary(f),
    model: { hasBatchNorm: f.model.has_batchnorm === true, hasRegularizers: f.loss.penalty === true },
    warnings: [
      `Gradient statistics read from ${file}: computed by heatcap_torch ${f.versions.heatcap_torch} (${f.method}) with torch ${f.versions.torch} on ${f.device}, world size ${f.world_size}, ${f.dtype}, loss '${f.loss.name}'.`,
      ...(f.notes ?? []),
    ],
    origin: { file, n: f.n, lossName: f.loss.name },
    ...(f.subspaceCurvature ? { curvature: f.subspaceCurvature } : {}),
  };
}
