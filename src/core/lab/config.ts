import type { Sampling } from '../runs/model';
import type { SgdSettings } from './optimizer';

/** The training setup shared by every run of a sweep (everything but η). */
export interface LabSetup extends SgdSettings {
  batchSize: number;
  sampling: Sampling;
  /** Sweep seed; each run's stream is derived from it and its η (rng.ts). */
  seed: number;
  /** Total SGD updates per run, burn-in included. */
  steps: number;
  /** Updates before anything is logged. */
  burnIn: number;
  /** `train_loss` (mean minibatch loss over the last `logEvery` updates) every this many updates. */
  logEvery: number;
  /** `full_train_loss` (and `lr`) every this many updates. */
  fullLossEvery: number;
}

export const SAMPLINGS: readonly Sampling[] = ['with_replacement', 'without_replacement', 'reshuffle'];

/** Returns the first problem with a setup, in words naming the flag, or undefined when it is valid. */
export function setupProblem(s: LabSetup): string | undefined {
  const int = (x: number, min: number) => Number.isInteger(x) && x >= min;
  if (!int(s.batchSize, 1)) return `batch size must be an integer ≥ 1, got ${s.batchSize}`;
  if (!SAMPLINGS.includes(s.sampling)) return `sampling must be one of ${SAMPLINGS.join(', ')}, got '${s.sampling}'`;
  if (!(s.momentum >= 0 && s.momentum < 1)) return `momentum must be in [0, 1), got ${s.momentum}`;
  if (!(s.dampening >= 0 && s.dampening <= 1)) return `dampening must be in [0, 1], got ${s.dampening}`;
  if (s.nesterov && (s.momentum === 0 || s.dampening !== 0)) return 'Nesterov momentum needs momentum > 0 and dampening 0 (as torch.optim.SGD)';
  if (!(s.weightDecay >= 0 && Number.isFinite(s.weightDecay))) return `weight decay must be ≥ 0, got ${s.weightDecay}`;
  if (!Number.isInteger(s.seed)) return `seed must be an integer, got ${s.seed}`;
  if (!int(s.steps, 1)) return `steps must be an integer ≥ 1, got ${s.steps}`;
  if (!int(s.burnIn, 0) || s.burnIn >= s.steps) return `burn-in must be an integer in [0, steps), got ${s.burnIn}`;
  if (!int(s.logEvery, 1)) return `log-every must be an integer ≥ 1, got ${s.logEvery}`;
  if (!int(s.fullLossEvery, 1)) return `full-loss-every must be an integer ≥ 1, got ${s.fullLossEvery}`;
  return undefined;
}

/**
 * The setup as run hyperparameters (tfevents hparams session and `hparams.yaml`), with the names the
 * run readers look for (src/core/runs/hparams.ts), so any reader sees η, B, sampling and momentum.
 */
export function runHparams(s: LabSetup, lr: number, extra: { loss: string; datasetSize: number; toolVersion: string }): Record<string, string | number | boolean> {
  return {
    lr,
    batch_size: s.batchSize,
    sampling: s.sampling,
    optimizer: 'sgd',
    momentum: s.momentum,
    dampening: s.dampening,
    nesterov: s.nesterov,
    weight_decay: s.weightDecay,
    seed: s.seed,
    steps: s.steps,
    burn_in: s.burnIn,
    log_every: s.logEvery,
    full_loss_every: s.fullLossEvery,
    dataset_size: extra.datasetSize,
    loss: extra.loss,
    started_at_checkpoint: true,
    tool: `heatcap sweep ${extra.toolVersion}`,
  };
}
