/**
 * Which units get the finite-η prediction (issue 20; THEORY.md §4, §6) and with which dynamics. The
 * second-moment model of §4 is for SGD (heavy ball, Nesterov) with independent minibatches: i.i.d.
 * indices, or B distinct examples drawn afresh each step. Adam's preconditioner moves with the noise
 * and random reshuffling correlates the noise within an epoch (§3): neither has a finite-η model here,
 * and the result says so (`unsupported`) rather than drawing a curve for the wrong dynamics.
 */
import { finiteEtaPrediction } from '../finite-eta';
import type { SgdDynamics, SubspaceCurvature } from '../finite-eta/types';
import type { FiniteEta } from '../result/schema';
import { optimizerFamily, type TrainingSetup } from '../theory/setup';

/** Hessian directions k by default (`--eigenpairs`, `heatcap.finiteEta.directions`). */
export const DEFAULT_DIRECTIONS = 10;

/** What the pipeline hands `analyzeUnit`: the curvature to predict from, or the block saying why there is none. */
export type FiniteEtaSource = { curvature: SubspaceCurvature } | { block: FiniteEta };

/** A finite-η block without numbers: the status and the reason. */
export function blockWithoutCurve(status: Exclude<FiniteEta['status'], 'ok'>, message: string, directions: number): FiniteEta {
  return {
    status,
    message,
    parameters: null,
    directions,
    method: null,
    hvp: null,
    eigenvalues: [],
    limits: { deterministic: null, mean_square: null },
    form: null,
    curve: null,
    cost_gradient_passes: null,
    seconds: null,
    notes: [],
  };
}

/** The SGD dynamics of this setup, or the `unsupported`/`skipped` block when the model does not cover it. */
export function finiteEtaDynamics(setup: TrainingSetup, directions: number): { dynamics: SgdDynamics } | { block: FiniteEta } {
  const fam = optimizerFamily(setup.optimizer);
  const unsupported = (why: string) => ({ block: blockWithoutCurve('unsupported', why, directions) });
  if (fam.family !== 'sgd') {
    return unsupported(`optimizer ${setup.optimizer}: the finite-η model is for SGD (with or without momentum); an adaptive optimiser's preconditioner moves with the gradient noise, so only the small-η slope is predicted`);
  }
  if (setup.sampling === 'reshuffle') {
    return unsupported('random reshuffling: the gradient noise is anti-correlated within an epoch (THEORY.md §3); the second-moment model assumes independent minibatches (i.i.d. or distinct examples drawn afresh each step)');
  }
  if (setup.has_batchnorm && setup.weight_decay > 0) {
    return unsupported('scale-invariant (BatchNorm) weights under weight decay have no stationary point to expand around (THEORY.md §2)');
  }
  const B = setup.batch_size;
  if (B === null || !(B >= 1)) return { block: blockWithoutCurve('skipped', 'the batch size is not stated anywhere (e.g. --batch-size): the noise of a minibatch is unknown', directions) };
  return {
    dynamics: {
      batchSize: B,
      sampling: setup.sampling === 'without_replacement' ? 'without_replacement' : 'with_replacement',
      datasetSize: setup.dataset_size,
      momentum: setup.momentum,
      dampening: setup.dampening,
      nesterov: setup.nesterov || fam.nesterov,
      // Coupled λ adds λI to H and to every A_b. A decoupled decay (SGDW) is the same step without momentum
      // and is treated as coupled with it (it then skips the momentum buffer: a small difference in the dynamics).
      weightDecay: setup.weight_decay,
    },
  };
}

/** The finite-η block for a unit: the prediction from `source`, at least over the unit's own learning rates. */
export function finiteEtaFor(source: FiniteEtaSource, setup: TrainingSetup, lrs: number[], directions: number): FiniteEta {
  if ('block' in source) return source.block;
  const d = finiteEtaDynamics(setup, directions);
  if ('block' in d) return d.block;
  return finiteEtaPrediction(source.curvature, d.dynamics, { lrs, lossIncludesPenalty: setup.loss_includes_penalty });
}

/** The limit the rest of the result uses as `stability_lr`: mean-square when known, else deterministic. */
export function stabilityFromFiniteEta(fe: FiniteEta | null | undefined): { lr: number; kind: 'mean_square' | 'deterministic' } | null {
  if (!fe) return null;
  const ms = fe.limits.mean_square;
  if (ms !== null && Number.isFinite(ms) && ms > 0) return { lr: ms, kind: 'mean_square' };
  const det = fe.limits.deterministic;
  if (det !== null && Number.isFinite(det) && det > 0) return { lr: det, kind: 'deterministic' };
  return null;
}
