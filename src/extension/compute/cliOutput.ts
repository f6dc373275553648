/**
 * Checks and normalises what the CLI prints with `--json`, before anything in the extension uses it:
 * `heatcap runs --json` (discovery) and `heatcap analyze --json` (one AnalysisResult, or an array of
 * them with `--all`). Another process's output is input like any file: a malformed one becomes an
 * error that says what is wrong, never a crash in a tree item.
 */
import * as path from 'node:path';
import type { AnalysisResult } from '../../core/result/schema';
import { parseHostToPanel, parseResult, type HostToPanel } from '../../shared/webviewProtocol';
import { CliFailure } from './cliProcess';

/** One run as discovery lists it, flattened to what the runs view shows. */
export interface ListedRun {
  id: string;
  /** Relative to the listing's root, posix separators. */
  path: string;
  absPath: string;
  /** Untrusted display text (a folder name). */
  name: string;
  format: string;
  lr: number | null;
  lrSource: string | null;
  batchSize: number | null;
  momentum: number | null;
  optimizer: string | null;
  /** Absolute paths of the log files, when the CLI lists them. */
  files: string[];
  tags: string[];
  warnings: string[];
}

export interface ListedSweep {
  id: string;
  name: string;
  path: string;
  runIds: string[];
}

export interface RunsListing {
  root: string;
  runs: ListedRun[];
  sweeps: ListedSweep[];
  /** Problems that belong to no run (unreadable folders, a search cut short). */
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function bad(what: string): CliFailure {
  return new CliFailure(`heatcap printed an unexpected result: ${what}`, 0, null, '');
}

/**
 * A hyperparameter as the CLI prints it: a bare value with its source in `hparam_sources`, or (the run
 * model's own shape) `{value, source}`.
 */
function sourced(hp: Obj, sources: Obj, key: string): { value: unknown; source: string | null } | null {
  const v = hp[key];
  if (v === undefined || v === null) return null;
  if (isObj(v) && 'value' in v) return { value: v.value, source: str(v.source) };
  return { value: v, source: str(sources[key]) };
}

function warningText(w: unknown): string | null {
  if (typeof w === 'string') return w;
  if (isObj(w) && typeof w.message === 'string') return typeof w.file === 'string' ? `${w.file}: ${w.message}` : w.message;
  return null;
}

function parseListedRun(v: unknown, i: number, root: string): ListedRun {
  if (!isObj(v)) throw bad(`runs[${i}] is not an object`);
  const id = str(v.id);
  if (id === null) throw bad(`runs[${i}].id is not a string`);
  const relPath = str(v.path) ?? id;
  const hp = isObj(v.hparams) ? v.hparams : {};
  const sources = isObj(v.hparam_sources) ? v.hparam_sources : {};
  const lr = sourced(hp, sources, 'lr');
  const b = sourced(hp, sources, 'batch_size');
  const m = sourced(hp, sources, 'momentum');
  const opt = sourced(hp, sources, 'optimizer');
  const absPath = str(v.absPath) ?? path.resolve(root, relPath);
  return {
    id,
    path: relPath,
    absPath,
    name: str(v.name) ?? (relPath === '.' ? path.basename(root) : path.posix.basename(relPath)),
    format: str(v.format) ?? 'unknown',
    lr: lr ? finite(lr.value) : null,
    lrSource: lr?.source ?? null,
    batchSize: b ? finite(b.value) : null,
    momentum: m ? finite(m.value) : null,
    optimizer: opt ? str(opt.value) : null,
    files: Array.isArray(v.files) ? v.files.filter((f): f is string => typeof f === 'string') : [],
    tags: Array.isArray(v.tags) ? v.tags.filter((t): t is string => typeof t === 'string') : isObj(v.tags) ? Object.keys(v.tags) : [],
    warnings: Array.isArray(v.warnings) ? v.warnings.map(warningText).filter((w): w is string => w !== null) : [],
  };
}

/** `heatcap runs <root> --json` (src/cli/commands/runs.ts). */
export function parseRunsListing(value: unknown, root: string): RunsListing {
  if (!isObj(value) || !Array.isArray(value.runs)) throw bad('expected {"runs": [...], "sweeps": [...]}');
  const runs = value.runs.map((r, i) => parseListedRun(r, i, root));
  const known = new Set(runs.map((r) => r.id));
  const sweeps: ListedSweep[] = [];
  if (Array.isArray(value.sweeps)) {
    value.sweeps.forEach((s, i) => {
      const ids = isObj(s) ? (s.runs ?? s.runIds) : undefined;
      if (!isObj(s) || typeof s.id !== 'string' || !Array.isArray(ids)) throw bad(`sweeps[${i}] is malformed`);
      sweeps.push({
        id: s.id,
        name: str(s.name) ?? s.id,
        path: str(s.path) ?? s.id,
        // A sweep naming a run discovery did not list would draw an empty row: keep only known runs.
        runIds: ids.filter((r): r is string => typeof r === 'string' && known.has(r)),
      });
    });
  }
  const warnings = Array.isArray(value.warnings) ? value.warnings.map(warningText).filter((w): w is string => w !== null) : [];
  return { root, runs, sweeps, warnings };
}

/** `heatcap analyze --json` (one result) or `--all` (an array); always returns an array. */
export function parseAnalyzeOutput(value: unknown): AnalysisResult[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    const r = parseResult(item);
    if (!r.ok) throw bad(items.length > 1 ? `result ${i + 1}: ${r.error}` : r.error);
    return r.value;
  });
}

/**
 * `heatcap example --json` (src/cli/commands/example.ts) as the panel's `example` message, checked by the
 * panel protocol's own validator (the panel would refuse anything it lets through).
 */
export function parseExampleOutput(value: unknown): Extract<HostToPanel, { type: 'example' }> {
  if (!isObj(value)) throw bad('expected an example object');
  const parsed = parseHostToPanel({ type: 'example', index: value.index, label: value.label, example: value.example });
  if (!parsed.ok || parsed.value.type !== 'example') throw bad(parsed.ok ? 'not an example' : parsed.error);
  return parsed.value;
}

/** What the extension shows of `heatcap gradnorms --json` (src/cli/commands/gradnorms.ts). */
export interface GradNormsOutput {
  n: number;
  mean_sq_norm: number | null;
  mean_grad_sq_norm: number | null;
  trace_cov: number | null;
  seconds: number | null;
  backend: string | null;
}

/** `heatcap gradnorms --json` (bare, or inside `{gradnorms}`); unknown numbers are null, as in the result schema. */
export function parseGradNorms(value: unknown): GradNormsOutput {
  const v = isObj(value) && isObj(value.gradnorms) ? value.gradnorms : value;
  if (!isObj(v)) throw bad('expected a gradient-norm summary object');
  const n = finite(v.n);
  if (n === null) throw bad('gradient-norm summary: n is not a number');
  const numOrNull = (k: string): number | null => {
    if (v[k] === null || v[k] === undefined) return null;
    const x = finite(v[k]);
    if (x === null) throw bad(`gradient-norm summary: ${k} is not a number`);
    return x;
  };
  return {
    n,
    mean_sq_norm: numOrNull('mean_sq_norm'),
    mean_grad_sq_norm: numOrNull('mean_grad_sq_norm'),
    trace_cov: numOrNull('trace_cov'),
    seconds: numOrNull('seconds'),
    backend: str(v.backend),
  };
}
