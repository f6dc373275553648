/**
 * Gradient-noise scalars in training logs: which logged tags carry the McCandlish et al. (2018, app. A)
 * two-batch-size measurements, or quantities derived from them, and what each one allows.
 *
 * With ‖G_B‖² the squared L2 norm of the gradient of the *mean* loss over a minibatch of B examples,
 * E‖G_B‖² = ‖G‖² + tr Σ/B (i.i.d. examples). Two batch sizes B_small < B_big separate the two terms:
 *   tr Σ ≈ (‖G_small‖² − ‖G_big‖²)/(1/B_small − 1/B_big),  ‖G‖² ≈ (B_big‖G_big‖² − B_small‖G_small‖²)/(B_big − B_small),
 * both unbiased per step, so their means over the stationary tail are unbiased too.
 *
 * Our own naming convention (what heatcap_torch.noise.log_gradient_noise returns; any logger):
 *   gradient_noise/sq_norm_small   ‖G_small‖² (per-rank or per-microbatch gradients: the mean of their squared norms)
 *   gradient_noise/sq_norm_big     ‖G_big‖²   (the all-reduced / accumulated gradient)
 *   gradient_noise/b_small         B_small, examples per small gradient
 *   gradient_noise/b_big           B_big, examples in the big gradient
 *   gradient_noise/trace_cov       that step's unbiased estimate of tr Σ
 *   gradient_noise/grad_sq_norm    that step's unbiased estimate of ‖G‖²
 *   gradient_noise/b_simple        trace_cov / grad_sq_norm (informational: a ratio of noisy numbers)
 * Any prefix before `gradient_noise/` is accepted (`train/gradient_noise/…`), and `gns/` or `noise/` for
 * `gradient_noise/`; a `.` or `_` may stand for the `/`.
 *
 * Other tools' names (see the README section "Gradient noise logged during training"):
 *   - B_simple only (a ratio, in examples; tr Σ cannot be recovered from it alone): EleutherAI gpt-neox
 *     `train/noise_scale` (ratio of EMAs, β = 0.99, B_big = n_batches sequential batches); k-diffusion
 *     `gradient_noise_scale` (ratio of EMAs, β = 0.9998, per-device vs global batch).
 *   - The norm of the full minibatch gradient at one batch size (not squared): Hugging Face Trainer
 *     `grad_norm` (trainer_state.json log_history, before clipping), Lightning `grad_2.0_norm_total`
 *     (lightning.pytorch.utilities.grad_norm), Composer `grad_l2_norm/step` (GradMonitor) and
 *     `l2_norm/grad/global` (OptimizerMonitor), Megatron-LM `grad-norm`. E‖G_B‖² = ‖G‖² + tr Σ/B mixes both
 *     terms: B·E‖G_B‖² is an upper bound on tr Σ, exact only when ‖G‖² ≪ tr Σ/B. With B_simple logged too,
 *     tr Σ = B·E‖G_B‖²·B_simple/(B + B_simple).
 */
import type { Run, ScalarSeries } from '../runs/model';

export type NoiseTagKind =
  | 'sq_small'
  | 'sq_big'
  | 'norm_small'
  | 'norm_big'
  | 'b_small'
  | 'b_big'
  | 'trace_cov'
  | 'grad_sq_norm'
  | 'b_simple'
  | 'grad_norm';

const NS = '(?:^|.*[/._-])(?:gradient_noise|gradient-noise|gradientnoise|gns|noise)[/._-]';
const ANY = '(?:^|.*[/._-])';

/** Patterns on the lower-cased tag, in priority order within each kind. */
const PATTERNS: [NoiseTagKind, RegExp][] = [
  ['sq_small', new RegExp(`${NS}(?:sq_norm_small|sq_norm_small_batch|grad_sq_norm_small)$`)],
  ['sq_small', new RegExp(`${ANY}(?:sq_norm_small_batch|grad_sq_norm_small|grad_sq_norm_b_small)$`)],
  ['sq_big', new RegExp(`${NS}(?:sq_norm_big|sq_norm_large|sq_norm_large_batch|grad_sq_norm_big)$`)],
  ['sq_big', new RegExp(`${ANY}(?:sq_norm_large_batch|grad_sq_norm_big|grad_sq_norm_large|grad_sq_norm_b_big)$`)],
  ['norm_small', new RegExp(`${NS}(?:norm_small|grad_norm_small)$`)],
  ['norm_small', new RegExp(`${ANY}grad_norm_small$`)],
  ['norm_big', new RegExp(`${NS}(?:norm_big|norm_large|grad_norm_big)$`)],
  ['norm_big', new RegExp(`${ANY}(?:grad_norm_big|grad_norm_large)$`)],
  ['b_small', new RegExp(`${NS}(?:b_small|batch_size_small|n_small_batch)$`)],
  ['b_big', new RegExp(`${NS}(?:b_big|b_large|batch_size_big|batch_size_large|n_large_batch)$`)],
  ['trace_cov', new RegExp(`${NS}(?:trace_cov|tr_cov|tr_sigma|trace_sigma)$`)],
  ['trace_cov', new RegExp(`${ANY}(?:trace_cov|tr_sigma|trace_sigma)$`)],
  ['grad_sq_norm', new RegExp(`${NS}(?:grad_sq_norm|true_grad_sq_norm|g_sq_norm)$`)],
  ['b_simple', new RegExp(`${NS}(?:b_simple|noise_scale|simple_noise_scale)$`)],
  // Bare `noise_scale` is too common a name (diffusion noise levels): only gpt-neox's `train/noise_scale`.
  ['b_simple', /^(?:.*\/)?train\/noise_scale$/],
  ['b_simple', new RegExp(`${ANY}(?:b_simple|gradient_noise_scale|simple_noise_scale)$`)],
  ['grad_norm', /^(?:.*[/._-])?(?:grad_norm|grad-norm|gradient_norm|grad_norm_total|grad_2\.0_norm_total|grad_l2_norm\/step|l2_norm\/grad\/global)$/],
];

/** The kind of a logged scalar tag, or null when it is no gradient-noise quantity we read. */
export function noiseTagKind(tag: string): NoiseTagKind | null {
  const t = tag.trim().toLowerCase();
  for (const [kind, re] of PATTERNS) if (re.test(t)) return kind;
  return null;
}

/** The first tag of each kind a run logs (tag order: shortest name first, so `gradient_noise/x` beats `eval/gradient_noise/x`). */
export function noiseTagsOf(run: Run): Partial<Record<NoiseTagKind, string>> {
  const out: Partial<Record<NoiseTagKind, string>> = {};
  const names = Object.keys(run.scalars).sort((a, b) => a.length - b.length || a.localeCompare(b));
  for (const name of names) {
    if (/(^|[/_.-])(eval|val|valid|validation|test)([/_.-]|$)/i.test(name)) continue;
    const kind = noiseTagKind(name);
    if (kind && !out[kind] && run.scalars[name].values.length > 0) out[kind] = name;
  }
  return out;
}

/** Hyperparameter keys read as B_small / B_big when no tag logs them, in order of preference. */
// Not per_device_train_batch_size / train_micro_batch_size_per_gpu: with gradient accumulation the per-rank
// gradient covers several micro-batches, so B_small must be stated, not guessed.
export const B_SMALL_KEYS = ['gradient_noise_b_small', 'gns_b_small', 'b_small', 'batch_size_small', 'n_small_batch'];
export const B_BIG_KEYS = ['gradient_noise_b_big', 'gns_b_big', 'b_big', 'b_large', 'batch_size_big', 'batch_size_large', 'n_large_batch'];

/** A batch size that a tag logs: its last finite value (batch sizes are constant over a run). */
export function loggedConstant(s: ScalarSeries | undefined): number | undefined {
  if (!s) return undefined;
  for (let i = s.values.length - 1; i >= 0; i--) if (Number.isFinite(s.values[i])) return s.values[i];
  return undefined;
}

/** A positive number from the run's hyperparameters under the first of `keys` present (case-insensitive). */
export function hparamNumber(run: Run, keys: string[]): { value: number; source: string } | undefined {
  const lower = new Map(Object.entries(run.hparams.raw).map(([k, v]) => [k.toLowerCase().replace(/^.*[/.]/, ''), { key: k, v }]));
  for (const k of keys) {
    const hit = lower.get(k);
    if (!hit) continue;
    const x = typeof hit.v.value === 'number' ? hit.v.value : typeof hit.v.value === 'string' ? Number(hit.v.value) : NaN;
    if (Number.isFinite(x) && x > 0) return { value: x, source: `${hit.v.source}: ${hit.key}` };
  }
  return undefined;
}
