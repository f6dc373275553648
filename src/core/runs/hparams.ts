import type { ParamSource, ParamValue } from '../logs/types';
import { parseNumberCell } from '../logs/numbers';
import type { RunHparams, Sampling, ScalarSeries, Sourced } from './model';
import { emptyHparams } from './model';
import { pickLrTag } from './tags';
import { maxOf, minOf } from '../stats/extent';

/**
 * Resolves a run's hyperparameters from every place that states them, keeping where each came from.
 * Order of trust: the log format's own record (hparams plugin, MLflow params, trainer state), then
 * config files beside the logs, then a logged learning-rate series, then the directory name. A value
 * is never invented: a field nobody states stays absent.
 */

type Field = 'lr' | 'batch_size' | 'momentum' | 'dampening' | 'nesterov' | 'optimizer' | 'weight_decay' | 'dataset_size';

/** Key aliases, matched case-insensitively against a key, its last two segments, or its last segment. */
export const HPARAM_ALIASES: Record<Field, string[]> = {
  // `lr0`: YOLO's initial learning rate (hyp.yaml, args.yaml); its schedule is the logged `x/lr0` / `lr/pg0`.
  lr: ['lr', 'learning_rate', 'learningrate', 'base_lr', 'initial_lr', 'init_lr', 'eta', 'optimizer.lr', 'optimizer.learning_rate', 'lr0'],
  batch_size: ['batch_size', 'batchsize', 'bs', 'train_batch_size', 'per_device_train_batch_size', 'minibatch_size', 'mini_batch_size', 'batch'],
  momentum: ['momentum', 'sgd_momentum'],
  dampening: ['dampening'],
  nesterov: ['nesterov', 'use_nesterov'],
  optimizer: ['optimizer', 'optim', 'optimizer_name', 'optimizer_type', 'opt', 'optimizer._target_', 'optimizer.class_path', 'optimizer.name', 'optimizer.type', 'optim._target_', 'optim.name'],
  weight_decay: ['weight_decay', 'weightdecay', 'wd'],
  dataset_size: ['dataset_size', 'n_train', 'num_train', 'train_size', 'num_train_examples', 'num_train_samples', 'n_train_samples', 'train_samples', 'num_examples', 'n_examples', 'n_samples'],
};
const SAMPLING_KEYS = ['sampling', 'sampler', 'sampling_scheme'];

/** Nested keys under these parents describe something else (a scheduler's lr, a warmup's factor, …). */
const FOREIGN_PARENTS = new Set(['scheduler', 'lr_scheduler', 'sched', 'warmup', 'swa', 'ema', 'lr_finder', 'tuner']);

interface Candidate {
  source: ParamSource;
  key: string;
  value: ParamValue;
  /** 0 for a top-level key, more for deeper ones: shallower wins within one source. */
  depth: number;
}

function segments(key: string): string[] {
  return key.toLowerCase().split(/[./]/);
}

function matches(key: string, aliases: string[]): boolean {
  const segs = segments(key);
  if (segs.slice(0, -1).some((s) => FOREIGN_PARENTS.has(s))) return false;
  const full = segs.join('.');
  const lastTwo = segs.slice(-2).join('.');
  const last = segs[segs.length - 1];
  return aliases.includes(full) || aliases.includes(lastTwo) || aliases.includes(last);
}

function candidates(sources: ParamSource[], aliases: string[]): Candidate[] {
  const out: Candidate[] = [];
  for (const source of sources) {
    for (const [key, value] of Object.entries(source.values)) {
      if (matches(key, aliases)) out.push({ source, key, value, depth: segments(key).length - 1 });
    }
  }
  return out;
}

function num(v: ParamValue): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const x = parseNumberCell(v.trim());
    return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
  }
  return undefined;
}

function bool(v: ParamValue): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  const t = v.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  return undefined;
}

/** `torch.optim.SGD` → `sgd`; `SGD (Parameter Group 0 …)` → `sgd`; `adamw_torch` stays. */
export function optimizerFamily(v: ParamValue): string | undefined {
  if (typeof v !== 'string') return undefined;
  const first = v.trim().split(/[\s(<{[]/)[0];
  const last = first.split('.').pop() ?? '';
  const m = /^[A-Za-z][A-Za-z0-9_]*/.exec(last);
  return m ? m[0].toLowerCase() : undefined;
}

const COERCE: Record<Field, (v: ParamValue) => number | boolean | string | undefined> = {
  lr: (v) => {
    const x = num(v);
    return x !== undefined && x > 0 ? x : undefined;
  },
  batch_size: (v) => {
    const x = num(v);
    return x !== undefined && Number.isInteger(x) && x >= 1 ? x : undefined;
  },
  momentum: (v) => {
    const x = num(v);
    return x !== undefined && x >= 0 && x < 1 ? x : undefined;
  },
  dampening: (v) => {
    const x = num(v);
    return x !== undefined && x >= 0 && x <= 1 ? x : undefined;
  },
  nesterov: bool,
  optimizer: optimizerFamily,
  weight_decay: (v) => {
    const x = num(v);
    return x !== undefined && x >= 0 ? x : undefined;
  },
  dataset_size: (v) => {
    const x = num(v);
    return x !== undefined && Number.isInteger(x) && x >= 1 ? x : undefined;
  },
};

function describe(c: Candidate): string {
  return `${c.source.label}: ${c.key}`;
}

export interface HparamInputs {
  /** Sources in order of trust (format's own first, then side files). */
  sources: ParamSource[];
  /**
   * Keys the user reads as η (`--lr-key`, the `heatcap.lrKeys` setting), in order of preference: tried
   * before the built-in aliases, each in every source before the next key.
   */
  lrKeys?: readonly string[];
  scalars: Record<string, ScalarSeries>;
  /** Directory or file names on the run's path, nearest first, for the last-resort name parse. */
  names: string[];
}

export interface ResolvedHparams {
  hparams: RunHparams;
  lrTag?: string;
  /** Conflicts and ambiguities worth telling the user. */
  notes: string[];
}

/** `lr_0.01`, `lr=1e-3`, `lr0.1`, `eta-0.05`, `learning_rate_3e-4` inside a name. */
const LR_IN_NAME = /(?:^|[^a-z0-9])(?:lr|eta|learning[_-]?rate)[_=:-]?((?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)(?![\d.]|e[-+]?\d)/i;
/** `bs_32`, `bs=128`, `batch_size64`, `batch-8`. */
const BS_IN_NAME = /(?:^|[^a-z0-9])(?:bs|batch[_-]?size|batchsize|batch)[_=:-]?(\d+)(?![\d.])/i;

export function parseLrFromName(name: string): number | undefined {
  const m = LR_IN_NAME.exec(name);
  if (!m) return undefined;
  const x = Number(m[1]);
  return Number.isFinite(x) && x > 0 ? x : undefined;
}

export function parseBatchSizeFromName(name: string): number | undefined {
  const m = BS_IN_NAME.exec(name);
  if (!m) return undefined;
  const x = Number(m[1]);
  return Number.isInteger(x) && x >= 1 ? x : undefined;
}

/** Two η values that are not the same number written differently (1e-2 vs 0.01 vs 0.0100000001). */
const disagree = (a: number, b: number) => Math.abs(a - b) > 1e-6 * Math.max(Math.abs(a), Math.abs(b));

export function resolveHparams(inputs: HparamInputs): ResolvedHparams {
  const h: RunHparams = emptyHparams();
  h.raw = Object.create(null);
  const notes: string[] = [];
  for (const s of inputs.sources) {
    for (const [k, v] of Object.entries(s.values)) if (!(k in h.raw)) h.raw[k] = { value: v, source: s.label };
  }

  const set = <F extends Field>(field: F, value: NonNullable<RunHparams[F]> extends Sourced<infer T> ? T : never, source: string): void => {
    (h as unknown as Record<string, Sourced<unknown>>)[field] = { value, source };
  };

  const userLr = inputs.lrKeys?.length ? userLrCandidate(inputs.sources, inputs.lrKeys) : undefined;
  if (userLr) h.lr = userLr;

  for (const field of Object.keys(HPARAM_ALIASES) as Field[]) {
    if (field === 'lr' && userLr) continue;
    const cands = candidates(inputs.sources, HPARAM_ALIASES[field])
      .map((c) => ({ ...c, coerced: COERCE[field](c.value) }))
      .filter((c) => c.coerced !== undefined);
    if (cands.length === 0) continue;
    // Best: earliest source, then shallowest key within it.
    const bySource = cands.filter((c) => c.source === cands[0].source);
    const minDepth = Math.min(...bySource.map((c) => c.depth));
    const top = bySource.filter((c) => c.depth === minDepth);
    const chosen = top[0];
    if (top.some((c) => c.coerced !== chosen.coerced)) {
      notes.push(`${field}: ${chosen.source.label} states several values (${top.map((c) => `${c.key}=${String(c.value)}`).join(', ')}); using ${chosen.key}`);
    }
    const conflict = cands.find((c) => c.source !== chosen.source && c.coerced !== chosen.coerced);
    if (conflict) notes.push(`${field}: ${describe(chosen)} = ${String(chosen.coerced)}, but ${describe(conflict)} = ${String(conflict.coerced)}; using the first`);
    set(field, chosen.coerced as never, describe(chosen));
  }

  resolveSampling(inputs.sources, h);

  // A logged learning-rate series: a schedule, or the only statement of a constant η.
  const lrTag = pickLrTag(inputs.scalars);
  if (lrTag) {
    const s = inputs.scalars[lrTag];
    const finite = s.values.filter((v) => Number.isFinite(v));
    const last = finite[finite.length - 1];
    if (last !== undefined && last > 0) {
      const lo = minOf(finite);
      const hi = maxOf(finite);
      const constant = hi - lo <= 1e-12 * Math.abs(hi);
      if (!h.lr) h.lr = { value: last, source: constant ? `logged series '${lrTag}' (constant)` : `logged series '${lrTag}' (last value; varies from ${lo} to ${hi})` };
      // A constant logged η that is not the stated one: one of them is wrong (a schedule differs by design).
      else if (constant && disagree(h.lr.value, last)) notes.push(`lr: ${h.lr.source} = ${h.lr.value}, but the logged series '${lrTag}' is ${last} throughout; the list shows the first, the analysis uses the logged value over its converged-loss window`);
    }
  }

  // Last resort: the run's own or a parent directory's name (a name that disagrees with a stated η is said).
  const named = inputs.names.map((name) => ({ name, lr: parseLrFromName(name) })).find((n) => n.lr !== undefined);
  if (named && !h.lr) h.lr = { value: named.lr!, source: `directory name '${named.name}'` };
  else if (named && h.lr && disagree(h.lr.value, named.lr!)) notes.push(`lr: ${h.lr.source} = ${h.lr.value}, but the directory name '${named.name}' says ${named.lr}; using the first`);
  for (const name of inputs.names) {
    if (!h.batch_size) {
      const bs = parseBatchSizeFromName(name);
      if (bs !== undefined) h.batch_size = { value: bs, source: `directory name '${name}'` };
    }
  }
  return { hparams: h, lrTag, notes };
}

/**
 * The first user key (in the user's order) that some source states a usable η for, sources in order of
 * trust, the shallowest key first within a source. A user key matches a key equal to it or ending in it
 * (`my_lr` matches `train.my_lr`), case-insensitively, unless what comes before it names a scheduler.
 */
function userLrCandidate(sources: ParamSource[], lrKeys: readonly string[]): Sourced<number> | undefined {
  for (const userKey of lrKeys) {
    const want = segments(userKey.trim());
    if (want.length === 0 || want.every((w) => w === '')) continue;
    for (const source of sources) {
      const hits = Object.entries(source.values)
        .map(([key, value]) => ({ key, value, segs: segments(key) }))
        .filter(({ segs }) => {
          const prefix = segs.length - want.length;
          return prefix >= 0 && want.every((w, i) => segs[prefix + i] === w) && !segs.slice(0, prefix).some((s) => FOREIGN_PARENTS.has(s));
        })
        .map((c) => ({ ...c, lr: COERCE.lr(c.value) as number | undefined }))
        .filter((c) => c.lr !== undefined)
        .sort((a, b) => a.segs.length - b.segs.length);
      if (hits.length) return { value: hits[0].lr as number, source: `${source.label}: ${hits[0].key} (user lr key)` };
    }
  }
  return undefined;
}

/** Sampling: an explicit `sampling`/`sampler` word first, then `replacement: true`, then `shuffle: true`. */
function resolveSampling(sources: ParamSource[], h: RunHparams): void {
  const rules: ((last: string, value: ParamValue) => Sampling | undefined)[] = [
    (last, value) => (SAMPLING_KEYS.includes(last) && typeof value === 'string' ? samplingFromWord(value) : undefined),
    (last, value) => (last === 'replacement' && bool(value) === true ? 'with_replacement' : undefined),
    (last, value) => (last === 'shuffle' && bool(value) === true ? 'reshuffle' : undefined),
  ];
  for (const rule of rules) {
    for (const source of sources) {
      for (const [key, value] of Object.entries(source.values)) {
        const s = rule(segments(key).pop() ?? '', value);
        if (s) {
          h.sampling = { value: s, source: `${source.label}: ${key}` };
          return;
        }
      }
    }
  }
}

function samplingFromWord(w: string): Sampling | undefined {
  const t = w.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (/^(with_replacement|replacement|iid|i\.i\.d\.|randomwithreplacement|random_with_replacement)$/.test(t)) return 'with_replacement';
  if (/^(without_replacement|no_replacement|random_without_replacement)$/.test(t)) return 'without_replacement';
  if (/^(reshuffle|reshuffling|random_reshuffling|shuffle|shuffled|epoch|epochs|random|randomsampler|random_sampler)$/.test(t)) return 'reshuffle';
  return undefined;
}
