/**
 * Reads `gradstats.json`: per-example gradient statistics computed by the Python package heatcap_torch
 * (python/ in this repository) where the model lives — the user's own PyTorch job, on its GPUs and
 * ranks — for models too large for the in-process engine. The file is validated against the committed
 * schema (src/core/result/gradstats.schema.json, schema_version 1) and checked for internal consistency,
 * then converted to the shapes the analysis consumes (the theory's GradStats, the result's gradnorms
 * block, the pipeline's GradientInputs).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readNpy } from '../data/npy';
import { HeatcapError } from '../errors';
import type { GradientInputs } from '../analysis/gradients';
import type { GradNormSummary } from '../result/schema';
import schema from '../result/gradstats.schema.json';
import type { GradStats } from '../theory/predict';
import { schemaErrors } from './validate';

export const GRADSTATS_SCHEMA_VERSION = 1;
/** The usual file name, looked for beside a checkpoint and in sweep and run folders. */
export const GRADSTATS_FILE_NAME = 'gradstats.json';
/** 1e6 inline float64 numbers per vector are ~25 MB each: 256 MiB is far above any valid file. */
const MAX_BYTES = 256 * 1024 * 1024;

/** The file's content (snake_case, as written), plus where it was read from and its per-parameter vectors. */
export interface GradStatsFile {
  file: string;
  schema_version: 1;
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
  if (typeof version === 'number' && version !== GRADSTATS_SCHEMA_VERSION) {
    throw new HeatcapError(file, `schema_version ${version} is not supported: this heatcap reads gradstats.json schema_version ${GRADSTATS_SCHEMA_VERSION} (use the heatcap_torch that comes with this heatcap)`);
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
  delete f.diag_second_moment;
  delete f.mean_grad;
  return f;
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
  };
}
