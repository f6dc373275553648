/**
 * The training setup a prediction depends on (THEORY.md §2: batch size, sampling scheme, momentum
 * convention, optimiser, weight decay), assembled from a run's hyperparameters and overridable by flags
 * or settings. Every field records where it came from; defaults are named as defaults.
 */
import type { RunHparams, Sampling, Sourced } from '../runs/model';
import type { ResultWarning } from '../result/schema';

export interface TrainingSetup {
  /** Minibatch size B; null when no source states it (then no slope can be predicted). */
  batch_size: number | null;
  /** β of heavy-ball / Nesterov momentum (PyTorch convention: v ← βv + (1−d)g, w ← w − ηv). */
  momentum: number;
  dampening: number;
  nesterov: boolean;
  sampling: Sampling;
  /** Lower-case family: `sgd`, `adam`, `adamw`, `rmsprop`; anything else has no prediction. */
  optimizer: string;
  weight_decay: number;
  /** coupled: λw added to the gradient (PyTorch SGD/Adam weight_decay, L2 regulariser); decoupled: AdamW. */
  weight_decay_mode?: 'coupled' | 'decoupled';
  /** Whether the logged loss includes the ½λ‖w‖² penalty (Keras regularisers: yes; PyTorch weight_decay: no). */
  loss_includes_penalty: boolean;
  dataset_size: number | null;
  adam?: { beta1: number; beta2: number; eps: number };
  /** Scale-invariant (BatchNorm-like) weights present: with weight decay there is no finite slope. */
  has_batchnorm?: boolean;
  /** Learning rates of interest (the sweep's, or a schedule's plateaus): stability checks, reshuffle curve. */
  lrs?: number[];
  /** Where each field came from, e.g. `hparams.yaml: batch_size`, `flag --batch-size`, `default`. */
  sources: Record<string, string>;
}

/** Values given by a flag or a setting, each with its source. */
export type SetupOverrides = Partial<{
  batch_size: Sourced<number>;
  momentum: Sourced<number>;
  dampening: Sourced<number>;
  nesterov: Sourced<boolean>;
  sampling: Sourced<Sampling>;
  optimizer: Sourced<string>;
  weight_decay: Sourced<number>;
  weight_decay_mode: Sourced<'coupled' | 'decoupled'>;
  loss_includes_penalty: Sourced<boolean>;
  dataset_size: Sourced<number>;
  adam: Sourced<{ beta1: number; beta2: number; eps: number }>;
  has_batchnorm: Sourced<boolean>;
  lrs: Sourced<number[]>;
}>;

/** `torch.optim.SGD`, `keras.optimizers.Adam`, `AdamW`, `SGDW`… → family name. */
export function optimizerFamily(name: string): { family: string; nesterov: boolean } {
  const s = name.toLowerCase().replace(/^.*[.:]/, '');
  if (s.includes('nadam')) return { family: 'nadam', nesterov: false };
  if (s.includes('adamw')) return { family: 'adamw', nesterov: false };
  if (s.includes('adam')) return { family: 'adam', nesterov: false };
  if (s.includes('rmsprop')) return { family: 'rmsprop', nesterov: false };
  if (s.includes('nesterov') || s === 'nag') return { family: 'sgd', nesterov: true };
  if (s === 'sgd' || s.startsWith('sgd')) return { family: 'sgd', nesterov: false };
  return { family: s, nesterov: false };
}

function rawNumber(h: RunHparams, keys: string[]): Sourced<number> | undefined {
  for (const k of keys) {
    const hit = Object.entries(h.raw).find(([name]) => name.toLowerCase() === k);
    if (hit && typeof hit[1].value === 'number' && Number.isFinite(hit[1].value)) return { value: hit[1].value, source: hit[1].source };
  }
  return undefined;
}

/**
 * The setup from a run's hyperparameters with flag/setting overrides on top. Never invents B or N:
 * they stay null when unstated. Other unstated values take documented defaults, each reported.
 */
export function setupFromHparams(h: RunHparams, overrides: SetupOverrides = {}): { setup: TrainingSetup; warnings: ResultWarning[] } {
  const sources: Record<string, string> = {};
  const warnings: ResultWarning[] = [];
  function pick<T>(key: keyof SetupOverrides & string, fromRun: Sourced<T> | undefined, fallback: { value: T; source: string } | undefined): T | undefined {
    const o = overrides[key] as Sourced<T> | undefined;
    const chosen = o ?? fromRun ?? fallback;
    if (chosen) sources[key] = chosen.source;
    return chosen?.value;
  }
  const optName = pick('optimizer', h.optimizer, { value: 'sgd', source: 'default: sgd (no optimizer stated)' }) as string;
  const fam = optimizerFamily(optName);
  const batch = pick<number>('batch_size', h.batch_size, undefined);
  const momentum = pick('momentum', h.momentum, { value: 0, source: 'default: 0' }) as number;
  const dampening = pick('dampening', h.dampening, { value: 0, source: 'default: 0' }) as number;
  const nesterov = pick('nesterov', h.nesterov, { value: fam.nesterov, source: fam.nesterov ? `optimizer name "${optName}"` : 'default: false' }) as boolean;
  const sampling = pick<Sampling>('sampling', h.sampling, {
    value: 'reshuffle',
    source: 'default: reshuffle (Keras fit and PyTorch DataLoader(shuffle=True) reshuffle every epoch)',
  }) as Sampling;
  if (!overrides.sampling && !h.sampling) {
    warnings.push({ code: 'sampling_assumed', severity: 'warning', message: 'No source states how minibatches were drawn; assuming random reshuffling each epoch (the Keras and PyTorch default). Set the sampling if the run drew examples independently (with replacement, or fresh augmentation).' });
  }
  const wd = pick('weight_decay', h.weight_decay, { value: 0, source: 'default: 0' }) as number;
  const mode = pick<'coupled' | 'decoupled'>('weight_decay_mode', undefined, {
    value: fam.family === 'adamw' ? 'decoupled' : 'coupled',
    source: fam.family === 'adamw' ? 'AdamW decouples weight decay' : 'default: coupled (added to the gradient)',
  });
  const includes = pick('loss_includes_penalty', undefined, { value: false, source: 'default: the logged loss excludes the penalty (PyTorch weight_decay)' }) as boolean;
  if (wd > 0 && !overrides.loss_includes_penalty) {
    warnings.push({ code: 'penalty_assumed_excluded', severity: 'info', message: 'Assuming the logged loss does not include the weight-decay penalty (true for PyTorch weight_decay; Keras regularisers do include it).' });
  }
  const n = pick<number>('dataset_size', h.dataset_size, undefined);
  let adam: TrainingSetup['adam'];
  if (fam.family === 'adam' || fam.family === 'adamw' || fam.family === 'rmsprop') {
    const b1 = rawNumber(h, ['beta1', 'beta_1', 'adam_beta1']);
    const b2 = rawNumber(h, ['beta2', 'beta_2', 'adam_beta2', 'rho', 'alpha']);
    const eps = rawNumber(h, ['eps', 'epsilon', 'adam_epsilon']);
    adam = pick('adam', undefined, {
      value: { beta1: b1?.value ?? 0.9, beta2: b2?.value ?? (fam.family === 'rmsprop' ? 0.99 : 0.999), eps: eps?.value ?? 1e-8 },
      source: eps ? `${eps.source}` : 'default: β1 0.9, β2 0.999 (RMSprop ρ 0.99), ε 1e-8 (PyTorch)',
    });
  }
  const hasBn = pick<boolean>('has_batchnorm', undefined, undefined);
  const lrs = pick<number[]>('lrs', undefined, undefined);
  return {
    setup: {
      batch_size: batch ?? null,
      momentum,
      dampening,
      nesterov,
      sampling,
      optimizer: fam.family,
      weight_decay: wd,
      weight_decay_mode: mode,
      loss_includes_penalty: includes,
      dataset_size: n ?? null,
      adam,
      has_batchnorm: hasBn,
      lrs,
      sources,
    },
    warnings,
  };
}
