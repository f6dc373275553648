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

export function isLrKey(key: string): boolean {
  return LR_NAMES.has(normalizeKey(key));
}

export function isBatchSizeKey(key: string): boolean {
  return BATCH_SIZE_NAMES.has(normalizeKey(key));
}

export function isMomentumKey(key: string): boolean {
  return MOMENTUM_NAMES.has(normalizeKey(key));
}

/** A learning rate worth a lens: a finite positive number (η = 0 or η < 0 is not a training setting). */
export function isPlausibleLr(x: number): boolean {
  return Number.isFinite(x) && x > 0;
}
