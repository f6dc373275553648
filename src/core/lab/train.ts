import { mkdir } from 'node:fs/promises';
import type { CancelToken } from '../cancel';
import { CancelledError } from '../errors';
import type { LabSetup } from './config';
import { RunLogger, type LogMarks, type RunLogDirs } from './logs';
import type { LabModel } from './model';
import { sgdStep } from './optimizer';
import { LabRng, runSeed } from './rng';
import { BatchSampler } from './sampler';
import { readRunState, saveDoneState, saveRunState, type RunStateHeader } from './state';

export interface RunSpec {
  logs: RunLogDirs;
  /** The resumable state of the run (removed by the sweep once every run is done). */
  stateFile: string;
  lr: number;
  setup: LabSetup;
  hparams: Record<string, string | number | boolean>;
}

export interface TrainOptions {
  token?: CancelToken;
  /** Called about every `progressSeconds` with the updates done so far. */
  onProgress?: (step: number, total: number) => void;
  /** Continue from the run's saved state when there is one (else start afresh). */
  resume?: boolean;
  /** Save the state (and flush the logs) at most this often (default 2 s of wall time). */
  saveEverySeconds?: number;
  /** Stop (as if cancelled, state saved) once this many updates are done: tests of resumption. */
  stopAtStep?: number;
}

export interface RunOutcome {
  lr: number;
  steps: number;
  diverged: boolean;
  /** Full-training-set loss at the checkpoint (step 0) and after the last update. */
  checkpointLoss: number;
  finalLoss: number;
  /** Compute seconds of this run (across resumes) and updates per second. */
  seconds: number;
  stepsPerSecond: number;
  skipped: boolean;
}

/** Updates between checks of the clock, the cancel token and the state save. */
const CHUNK = 512;
/** A loss this many times the checkpoint's (or non-finite) means SGD diverged at this η. */
const DIVERGED_FACTOR = 1e6;

/**
 * One SGD run from the checkpoint at one η (THEORY.md §5's measurement): `burnIn` unlogged updates,
 * then every `fullLossEvery` updates the full-training-set loss L(w_t) (and η), and every `logEvery`
 * updates the mean of the last `logEvery` minibatch losses, each computed *before* its update so it is
 * unbiased for E L (the loss recomputed after the update would be biased by ≈ η‖ĝ‖², §5). A row at
 * step t describes w_t: `full_train_loss` = L(w_t), `train_loss` = mean of ℓ_{B_s}(w_s), s ∈ [t−K, t).
 * The run is deterministic given the setup and η; its state is saved every few seconds, so a run that
 * stops (cancel, crash) continues bit for bit where the state was saved.
 */
export async function trainRun(model: LabModel, initial: Float64Array, spec: RunSpec, opts: TrainOptions = {}): Promise<RunOutcome> {
  const { lr, setup, stateFile } = spec;
  const { batchSize: B, steps, burnIn, logEvery: K, fullLossEvery: F } = setup;
  await mkdir(spec.logs.tfevents, { recursive: true });
  await mkdir(spec.logs.csv, { recursive: true });
  const saved = opts.resume ? await readRunState(stateFile) : undefined;
  if (saved?.header.done) {
    const h = saved.header;
    return { lr, steps: h.step, diverged: h.diverged === true, checkpointLoss: h.checkpointLoss, finalLoss: NaN, seconds: h.seconds, stepsPerSecond: h.seconds > 0 ? h.step / h.seconds : 0, skipped: true };
  }
  const P = model.paramCount;
  if (initial.length !== P) throw new RangeError(`initial parameters have ${initial.length} values, the model ${P}`);
  if (saved && (saved.header.paramCount !== P || saved.header.n !== model.n || saved.header.lr !== lr)) {
    throw new RangeError(`the saved state ${stateFile} belongs to another model, data set or η`);
  }

  const seed = runSeed(setup.seed, lr);
  const rng = saved ? LabRng.fromState(saved.header.rng) : LabRng.seeded(seed);
  const sampler = new BatchSampler(setup.sampling, model.n, B, rng, saved ? { perm: saved.perm, cursor: saved.header.cursor } : undefined);
  const w = saved ? saved.w : Float64Array.from(initial);
  let velocity = saved ? saved.velocity : null;
  let t = saved ? saved.header.step : 0;
  let windowSum = saved ? saved.header.windowSum : 0;
  let windowCount = saved ? saved.header.windowCount : 0;
  let seconds = saved ? saved.header.seconds : 0;
  const checkpointLoss = saved ? saved.header.checkpointLoss : model.fullLoss(initial);
  const logger = saved ? await RunLogger.resume(spec.logs, saved.header.logs, t) : await RunLogger.create(spec.logs, spec.hparams);

  const header = (marks: LogMarks): RunStateHeader => ({
    step: t,
    done: false,
    lr,
    runSeed: seed,
    rng: rng.state(),
    cursor: sampler.state.cursor,
    windowSum,
    windowCount,
    checkpointLoss,
    logs: marks,
    seconds,
    paramCount: P,
    n: model.n,
    hasVelocity: velocity !== null,
  });
  const save = async () => saveRunState(stateFile, { header: header(await logger.flush()), w, velocity, perm: sampler.state.perm });

  const idx = new Int32Array(B);
  const grad = new Float64Array(P);
  const settings = { momentum: setup.momentum, dampening: setup.dampening, nesterov: setup.nesterov, weightDecay: setup.weightDecay };
  const saveEvery = (opts.saveEverySeconds ?? 2) * 1000;
  const limit = Math.min(steps, opts.stopAtStep ?? Infinity);
  const tooBig = DIVERGED_FACTOR * Math.max(Math.abs(checkpointLoss), 1);
  let lastSave = Date.now();
  let lastProgress = 0;
  let diverged = false;
  let lastFull = NaN;

  let closed = false;
  const stopHere = async (): Promise<never> => {
    await save();
    await logger.close();
    closed = true;
    throw new CancelledError();
  };
  try {
    while (t < limit && !diverged) {
      const end = Math.min(limit, t + CHUNK);
      const t0 = performance.now();
      for (; t < end; t++) {
        if (t >= burnIn && (t - burnIn) % F === 0) {
          lastFull = model.fullLoss(w);
          logger.log(t, windowCount === K ? { train_loss: windowSum / K, full_train_loss: lastFull, lr } : { full_train_loss: lastFull, lr });
          if (windowCount === K) windowSum = windowCount = 0;
          if (!(Math.abs(lastFull) < tooBig)) {
            diverged = true;
            break;
          }
        }
        if (windowCount === K) {
          logger.log(t, { train_loss: windowSum / K });
          windowSum = windowCount = 0;
        }
        sampler.next(idx);
        const loss = model.batchLossGrad(w, idx, grad);
        if (!(Math.abs(loss) < tooBig)) {
          logger.log(t, { train_loss: loss });
          diverged = true;
          break;
        }
        if (t >= burnIn) {
          windowSum += loss;
          windowCount++;
        }
        velocity = sgdStep(w, grad, lr, settings, velocity);
      }
      seconds += (performance.now() - t0) / 1000;
      const now = Date.now();
      if (opts.onProgress && now - lastProgress > 250) {
        lastProgress = now;
        opts.onProgress(t, steps);
      }
      if (opts.token?.isCancellationRequested) await stopHere();
      if (now - lastSave > saveEvery && t < limit) {
        await save();
        lastSave = Date.now();
      }
    }

    if (t < steps && !diverged) await stopHere();
    if (!diverged) {
      // The last row: L(w_T) and the last full window, at step T (when T is on the logging grid).
      const atGrid = (steps - burnIn) % F === 0;
      if (atGrid) lastFull = model.fullLoss(w);
      const last = { ...(windowCount === K ? { train_loss: windowSum / K } : {}), ...(atGrid ? { full_train_loss: lastFull, lr } : {}) };
      if (Object.keys(last).length) logger.log(t, last);
    }
    const marks = await logger.close();
    closed = true;
    await saveDoneState(stateFile, { ...header(marks), diverged });
    opts.onProgress?.(t, steps);
  } finally {
    // An exception from the model or the disk: release the event file (the state on disk stays valid).
    if (!closed) await logger.close().catch(() => undefined);
  }
  return { lr, steps: t, diverged, checkpointLoss, finalLoss: lastFull, seconds, stepsPerSecond: seconds > 0 ? t / seconds : 0, skipped: false };
}
