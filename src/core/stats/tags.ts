/**
 * Which logged tag to treat as "the training loss" of a run (THEORY.md §5): a full-training-set
 * evaluation or an epoch mean is far less noisy than per-step minibatch losses, and all of them are
 * unbiased for E L(Φ) when logged before the update. An evaluation/validation loss is a different
 * quantity (the law is about the loss SGD minimises), so it is never picked silently.
 */
export type LossTagKind = 'train_step_loss' | 'train_epoch_loss' | 'full_train_loss' | 'eval_loss' | 'lr' | 'other';

export interface LossTagInfo {
  name: string;
  kind: LossTagKind;
  count: number;
  /** Optional finer class from the run reader: `full_dataset` ranks a train_epoch_loss as full_train_loss. */
  basis?: 'minibatch' | 'epoch_mean' | 'full_dataset';
}

export interface LossTagChoice {
  tag: string | null;
  kind: LossTagKind | null;
  reason: string;
}

const RANK: Partial<Record<LossTagKind, number>> = { full_train_loss: 0, train_epoch_loss: 1, train_step_loss: 2 };
const DESCRIBE: Partial<Record<LossTagKind, string>> = {
  full_train_loss: 'full-training-set loss',
  train_epoch_loss: 'epoch-mean training loss',
  train_step_loss: 'per-step minibatch training loss',
  eval_loss: 'evaluation loss',
};

function effectiveKind(t: LossTagInfo): LossTagKind {
  return t.kind === 'train_epoch_loss' && t.basis === 'full_dataset' ? 'full_train_loss' : t.kind;
}

export function chooseLossTag(tags: LossTagInfo[], requested?: string): LossTagChoice {
  if (requested !== undefined) {
    const t = tags.find((x) => x.name === requested);
    if (!t) return { tag: null, kind: null, reason: `the requested tag "${requested}" is not in this run (tags: ${tags.map((x) => x.name).join(', ') || 'none'})` };
    const k = effectiveKind(t);
    const warn = k === 'eval_loss' ? ' — note: it looks like an evaluation loss, not the training loss the law is about' : '';
    return { tag: t.name, kind: k, reason: `requested tag "${t.name}"${warn}` };
  }
  const training = tags.filter((t) => RANK[effectiveKind(t)] !== undefined && t.count > 0);
  if (training.length === 0) {
    const evals = tags.filter((t) => t.kind === 'eval_loss' && t.count > 0).map((t) => t.name);
    if (evals.length) {
      return {
        tag: null,
        kind: null,
        reason: `no training loss logged; only evaluation losses (${evals.join(', ')}), which measure a different quantity — choose one explicitly to use it anyway`,
      };
    }
    return { tag: null, kind: null, reason: 'no loss tag found' };
  }
  // Best kind first, then the most values (finer resolution), then the name for determinism.
  training.sort((a, b) => (RANK[effectiveKind(a)] as number) - (RANK[effectiveKind(b)] as number) || b.count - a.count || a.name.localeCompare(b.name));
  const best = training[0];
  const k = effectiveKind(best);
  const others = training.filter((t) => effectiveKind(t) !== k).map((t) => `${DESCRIBE[effectiveKind(t)]} "${t.name}"`);
  const reason = others.length
    ? `${DESCRIBE[k]} "${best.name}" preferred over ${others.join(', ')} (less noise for the same expected loss)`
    : training.length === 1
      ? `${DESCRIBE[k]} "${best.name}" (the only training loss logged)`
      : `${DESCRIBE[k]} "${best.name}" (the one with most values among ${training.map((t) => `"${t.name}"`).join(', ')})`;
  return { tag: best.name, kind: k, reason };
}
