import type { Run, ScalarSeries, TagSummary } from './model';

/**
 * Which logged tag is a training loss, an evaluation loss or a learning rate, judged from its name (and
 * whether the run's steps are epochs), so the stats can pick the converged-loss tag.
 */
export type TagKind = 'train_step_loss' | 'train_epoch_loss' | 'eval_loss' | 'lr' | 'other';

/**
 * What a loss value averages over: one minibatch (or a short window of them), a whole epoch, or the whole
 * training set evaluated at fixed weights (`full_train_loss`: the least noisy estimate of L(η),
 * THEORY.md §5). `full_dataset` tags are classed `train_epoch_loss`, the low-noise training kind.
 */
export type LossBasis = 'minibatch' | 'epoch_mean' | 'full_dataset';

export interface TagClass {
  tag: string;
  kind: TagKind;
  basis?: LossBasis;
  count: number;
}

const EVAL_TOKENS = new Set(['eval', 'evaluation', 'val', 'valid', 'validation', 'test', 'dev', 'holdout']);
const EPOCH_TOKENS = new Set(['epoch', 'epochs']);
const FULL_TOKENS = new Set(['full', 'fullbatch', 'full_train', 'fulltrain']);
/** Loss-like names that are not losses: AMP loss scaling, loss weights, run summaries, hparam metrics. */
const NOT_LOSS_TOKENS = new Set(['scale', 'scaler', 'scaling', 'weight', 'weights', 'coef', 'summary', 'hparam', 'hparams']);

function tokens(tag: string): string[] {
  return tag
    .toLowerCase()
    .split(/[/_\-.\s:]+/)
    .filter((t) => t !== '');
}

/**
 * True for learning-rate tags: `lr`, `learning_rate`, `train/lr`, Keras `epoch_learning_rate`, Lightning
 * `lr-SGD`, `lr-SGD/pg1`, YOLOv5 `x/lr0`, Ultralytics `lr/pg0`.
 */
export function isLrTag(tag: string): boolean {
  const t = tag.toLowerCase();
  if (/(^|\/)(lr|learning[_-]?rate|learningrate|(epoch|batch|train)_(lr|learning_rate))$/.test(t)) return true;
  if (LR_GROUP.test(t)) return true;
  // Lightning's LearningRateMonitor: `lr-<Optimizer>[-<name>]`, with `/pg<i>` per parameter group;
  // it also logs `lr-<Optimizer>-momentum`, which is not a learning rate.
  return /^lr-[^/]+(\/pg\d+)?$/.test(t) && !/momentum|beta|weight_decay/.test(t);
}

export function classifyTag(tag: string, ctx: { stepUnit?: 'step' | 'epoch' } = {}): { kind: TagKind; basis?: LossBasis } {
  if (isLrTag(tag)) return { kind: 'lr' };
  const toks = tokens(tag);
  const hasLoss = toks.some((t) => t.endsWith('loss'));
  if (!hasLoss || toks.some((t) => NOT_LOSS_TOKENS.has(t))) return { kind: 'other' };
  if (toks.some((t) => EVAL_TOKENS.has(t) || /^(val|eval|valid|test)loss$/.test(t))) return { kind: 'eval_loss' };
  if (toks.some((t) => FULL_TOKENS.has(t))) return { kind: 'train_epoch_loss', basis: 'full_dataset' };
  if (toks.some((t) => EPOCH_TOKENS.has(t)) || ctx.stepUnit === 'epoch') return { kind: 'train_epoch_loss', basis: 'epoch_mean' };
  return { kind: 'train_step_loss', basis: 'minibatch' };
}

const KIND_ORDER: TagKind[] = ['train_epoch_loss', 'train_step_loss', 'eval_loss', 'lr', 'other'];
const BASIS_ORDER: (LossBasis | undefined)[] = ['full_dataset', 'epoch_mean', 'minibatch', undefined];

/**
 * Every tag of a run with its class, ordered for choosing a converged-training-loss tag: training epoch
 * or full-dataset losses first, then per-step training losses, evaluation losses, learning rates, the rest;
 * within a kind, full-dataset before epoch means, then the tag with more points.
 */
export function classifyTags(run: Pick<Run, 'scalars'> & { stepUnit?: 'step' | 'epoch' }): TagClass[] {
  const out: TagClass[] = Object.keys(run.scalars).map((tag) => ({ tag, ...classifyTag(tag, { stepUnit: run.stepUnit }), count: run.scalars[tag].steps.length }));
  return out.sort(
    (a, b) =>
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
      BASIS_ORDER.indexOf(a.basis) - BASIS_ORDER.indexOf(b.basis) ||
      b.count - a.count ||
      (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0),
  );
}

/**
 * The tag holding the run's learning-rate series, if any: plain `lr` / `learning_rate` before Lightning's
 * `lr-<Optimizer>` (first parameter group first), before anything else that reads as a learning rate.
 */
export function pickLrTag(scalars: Record<string, ScalarSeries>): string | undefined {
  const rank = (t: string): number => {
    const l = t.toLowerCase();
    if (l === 'lr' || l === 'learning_rate') return 0;
    if (/^lr-[^/]+$/.test(l)) return 1;
    if (/^lr-[^/]+\/pg\d+$/.test(l) || LR_GROUP.test(l)) return 2;
    return 3;
  };
  const lrTags = Object.keys(scalars).filter((t) => isLrTag(t) && scalars[t].steps.length > 0);
  lrTags.sort((a, b) => rank(a) - rank(b) || groupIndex(a) - groupIndex(b) || (a < b ? -1 : a > b ? 1 : 0));
  return lrTags[0];
}

/** Per-parameter-group learning rates: YOLOv5 `x/lr0`, Ultralytics `lr/pg0`. */
const LR_GROUP = /^(x\/lr\d+|lr\/pg\d+)$/;

/** The parameter group a learning-rate tag names (`…/pg2`, `x/lr2` → 2), else −1. */
function groupIndex(tag: string): number {
  const m = /(?:\/pg|^x\/lr)(\d+)$/i.exec(tag);
  return m ? Number(m[1]) : -1;
}

/**
 * The learning-rate tags of every parameter group of the same optimizer as `tag`, in group order
 * (Lightning `lr-SGD/pg0`, `lr-SGD/pg1`, …; YOLOv5 `x/lr0`, …; Ultralytics `lr/pg0`, …), or just `[tag]`.
 */
export function lrGroupTags(scalars: Record<string, ScalarSeries>, tag: string): string[] {
  const m = /^(.*?)(\/pg|^x\/lr)(\d+)$/i.exec(tag);
  if (!m) return [tag];
  const family = (t: string): string | undefined => {
    const x = /^(.*?)(\/pg|^x\/lr)(\d+)$/i.exec(t);
    return x ? `${x[1]}|${x[2]}`.toLowerCase() : undefined;
  };
  const want = family(tag);
  return Object.keys(scalars)
    .filter((t) => family(t) === want && scalars[t].steps.length > 0)
    .sort((a, b) => groupIndex(a) - groupIndex(b));
}

function finiteOrNull(x: number | undefined): number | null {
  return x !== undefined && Number.isFinite(x) ? x : null;
}

/** The CLI's per-tag summary (`heatcap runs --json`): count, first/last step, last value (null if not finite). */
export function summarizeTags(run: Pick<Run, 'scalars'>): Record<string, TagSummary> {
  const out: Record<string, TagSummary> = Object.create(null);
  for (const [tag, s] of Object.entries(run.scalars)) {
    const n = s.steps.length;
    out[tag] = {
      count: n,
      first_step: n ? finiteOrNull(s.steps[0]) : null,
      last_step: n ? finiteOrNull(s.steps[n - 1]) : null,
      last_value: n ? finiteOrNull(s.values[n - 1]) : null,
    };
  }
  return out;
}
