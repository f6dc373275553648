/**
 * Which names mean "learning rate", "batch size" and "momentum". One table for every language, so a
 * YAML key, a Python keyword and a shell option are judged alike. Names are compared after
 * normalisation: lower case, `-` → `_`, leading dashes and `+`/`~` (Hydra) removed, and only the last
 * segment of a dotted path (`optimizer.lr` → `lr`).
 *
 * The learning-rate list is deliberately closed: `lr_decay`, `min_lr`, `warmup_lr`, `lr_scheduler` are
 * not the η the heat capacity multiplies, and a lens on them would mislead.
 */

const LR_NAMES = new Set([
  'lr',
  'learning_rate',
  'learningrate',
  'base_lr',
  'max_lr',
  'peak_lr',
  'init_lr',
  'initial_lr',
  'initial_learning_rate',
]);

const BATCH_SIZE_NAMES = new Set([
  'batch_size',
  'batchsize',
  'bs',
  'train_batch_size',
  'per_device_train_batch_size',
  'train_micro_batch_size_per_gpu',
  'micro_batch_size',
]);

const MOMENTUM_NAMES = new Set(['momentum']);

/** `--Learning-Rate` → `learning_rate`; `optimizer.lr` → `lr`; `+trainer.lr` → `lr`. */
export function normalizeKey(key: string): string {
  const bare = key.replace(/^[-+~]+/, '').toLowerCase().replace(/-/g, '_');
  const dot = bare.lastIndexOf('.');
  return dot >= 0 ? bare.slice(dot + 1) : bare;
}

export type KeyKind = 'lr' | 'batchSize' | 'momentum';

/** Names repeat a lot in a file (`x`, `self`, `args`): classify each distinct one once. */
const memo = new Map<string, KeyKind | null>();
const MEMO_LIMIT = 10_000;

export function classifyKey(key: string): KeyKind | undefined {
  let kind = memo.get(key);
  if (kind === undefined) {
    const n = normalizeKey(key);
    kind = LR_NAMES.has(n) ? 'lr' : BATCH_SIZE_NAMES.has(n) ? 'batchSize' : MOMENTUM_NAMES.has(n) ? 'momentum' : null;
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, kind);
  }
  return kind ?? undefined;
}

export function isLrKey(key: string): boolean {
  return classifyKey(key) === 'lr';
}

export function isBatchSizeKey(key: string): boolean {
  return classifyKey(key) === 'batchSize';
}

export function isMomentumKey(key: string): boolean {
  return classifyKey(key) === 'momentum';
}

/** A learning rate worth a lens: a finite positive number (η = 0 or η < 0 is not a training setting). */
export function isPlausibleLr(x: number): boolean {
  return Number.isFinite(x) && x > 0;
}
