import { mkdir, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { CancelSource, type CancelToken, type ProgressFn } from '../cancel';
import { openTrainingArrays } from '../data/open';
import { CancelledError, HeatcapError } from '../errors';
import type { BackendPref } from '../tf/backend';
import { runInWorker } from '../worker/host';
import { runInThisThread } from '../worker/in-thread';
import { setupProblem, type LabSetup } from './config';
import type { LabRunRequest, LabRunResult } from './job';
import { manifestPath, readLabManifest, writeManifest, type LabManifest, type ManifestRun } from './manifest';
import type { LabEngine } from './open';

export interface SweepOptions {
  /** The sweep folder (created). */
  out: string;
  name?: string;
  model: string;
  data: string;
  labels?: string;
  loss?: string;
  lrs: number[];
  setup: LabSetup;
  engine: LabEngine;
  backend: BackendPref;
  /** Worker threads: `auto` (one per core, at most one per η) or a number; 0 runs in this thread. */
  workers?: number | 'auto';
  /** Continue the runs of an existing sweep folder (its sweep.json must match). */
  resume?: boolean;
  toolVersion: string;
  token?: CancelToken;
  onProgress?: ProgressFn;
  onRunDone?: (r: LabRunResult) => void;
}

export interface SweepOutcome {
  dir: string;
  manifest: LabManifest;
  runs: LabRunResult[];
  /** Wall-clock seconds of the whole sweep (start-up and loading included). */
  wallSeconds: number;
  workers: number;
}

/** Folder names of one run's two copies, from η (`lr_0.01`: run readers also take η from the name). */
export function runFolders(lr: number): { tfevents: string; csv: string; state: string } {
  const name = `lr_${lr}`;
  return { tfevents: `tensorboard/${name}`, csv: `csv/${name}`, state: `.lab-state/${name}` };
}

const STATE_DIR = '.lab-state';

function checkLrs(lrs: number[]): void {
  if (lrs.length === 0) throw new HeatcapError(undefined, '--lrs needs at least one learning rate');
  for (const lr of lrs) if (!(lr > 0 && Number.isFinite(lr))) throw new HeatcapError(undefined, `learning rates must be positive numbers, got ${lr}`);
  if (new Set(lrs).size !== lrs.length) throw new HeatcapError(undefined, `--lrs lists a learning rate twice (${lrs.join(', ')})`);
}

function sameSetup(a: LabManifest, o: SweepOptions, dir: string): string | undefined {
  const s = o.setup;
  const pairs: [string, unknown, unknown][] = [
    ['batch_size', a.batch_size, s.batchSize],
    ['sampling', a.sampling, s.sampling],
    ['momentum', a.momentum, s.momentum],
    ['dampening', a.dampening, s.dampening],
    ['nesterov', a.nesterov, s.nesterov],
    ['weight_decay', a.weight_decay, s.weightDecay],
    ['seed', a.seed, s.seed],
    ['steps', a.steps, s.steps],
    ['burn_in', a.burn_in, s.burnIn],
    ['log_every', a.log_every, s.logEvery],
    ['full_loss_every', a.full_loss_every, s.fullLossEvery],
    ['checkpoint', resolve(dir, a.checkpoint), resolve(o.model)],
    ['lrs', a.runs.map((r) => r.lr).join(','), o.lrs.join(',')],
  ];
  const diff = pairs.find(([, x, y]) => x !== y);
  return diff ? `${diff[0]} is ${String(diff[1])} in sweep.json but ${String(diff[2])} now` : undefined;
}

/**
 * Trains the checkpoint at every η of the sweep (THEORY.md §5: runs started at the optimum, whose
 * full-training-set loss is L*), one run per worker thread at a time (the wasm backend and the fast
 * path are single-threaded, PERFORMANCE-NOTES.md pitfall 4), and writes `sweep.json` before the runs
 * (complete: false) and after them (complete: true, with timing). Cancelling stops every worker; the runs
 * keep their last saved state (a few seconds old at most) and `resume` continues them.
 */
export async function runSweep(o: SweepOptions): Promise<SweepOutcome> {
  const t0 = performance.now();
  const dir = resolve(o.out);
  checkLrs(o.lrs);
  const problem = setupProblem(o.setup);
  if (problem) throw new HeatcapError(undefined, problem);
  const existing = await readLabManifest(dir);
  if (existing && !o.resume) throw new HeatcapError(join(dir, 'sweep.json'), 'a sweep is already here: continue it with --resume, or choose another --out');
  if (!existing && !o.resume && (await stat(dir).then((s) => !s.isDirectory(), () => false))) throw new HeatcapError(dir, 'exists and is not a folder');
  if (existing) {
    const why = sameSetup(existing, o, dir);
    if (why) throw new HeatcapError(join(dir, 'sweep.json'), `cannot resume with a different setup: ${why}`);
    if (existing.complete) throw new HeatcapError(join(dir, 'sweep.json'), 'this sweep is already complete: nothing to resume');
  }

  // The data's size goes into the manifest from the start (a live sweep is analysable), and a missing
  // or malformed file is reported here, once, before any worker starts.
  const arrays = openTrainingArrays({ data: resolve(o.data), ...(o.labels ? { labels: resolve(o.labels) } : {}) });
  const datasetSize = arrays.inputs.n;
  arrays.close();
  if (o.setup.batchSize > datasetSize) throw new HeatcapError(resolve(o.data), `has ${datasetSize} examples, fewer than the batch size ${o.setup.batchSize}`);

  const runs: ManifestRun[] = o.lrs.map((lr) => ({ path: runFolders(lr).tfevents, lr, csv: runFolders(lr).csv }));
  const manifest: LabManifest = {
    name: o.name ?? existing?.name ?? basename(dir),
    tool_version: o.toolVersion,
    complete: false,
    checkpoint: manifestPath(dir, o.model),
    data: manifestPath(dir, o.data),
    ...(o.labels ? { labels: manifestPath(dir, o.labels) } : {}),
    ...(o.loss ? { loss: o.loss } : {}),
    started_at_checkpoint: true,
    batch_size: o.setup.batchSize,
    sampling: o.setup.sampling,
    momentum: o.setup.momentum,
    dampening: o.setup.dampening,
    nesterov: o.setup.nesterov,
    weight_decay: o.setup.weightDecay,
    seed: o.setup.seed,
    steps: o.setup.steps,
    burn_in: o.setup.burnIn,
    log_every: o.setup.logEvery,
    full_loss_every: o.setup.fullLossEvery,
    dataset_size: datasetSize,
    engine_requested: o.engine,
    backend: o.backend,
    runs,
  };
  await mkdir(dir, { recursive: true });
  await writeManifest(dir, manifest);

  const wanted = o.workers === undefined || o.workers === 'auto' ? Math.min(availableParallelism(), o.lrs.length) : o.workers;
  const slots = Math.max(1, Math.min(wanted, o.lrs.length));
  const stop = new CancelSource();
  const sub = o.token?.onCancellationRequested?.(() => stop.cancel());
  const poll = o.token && !o.token.onCancellationRequested ? setInterval(() => o.token?.isCancellationRequested && stop.cancel(), 50) : undefined;
  if (o.token?.isCancellationRequested) stop.cancel();
  const done = o.lrs.map(() => 0);
  const total = o.lrs.length * o.setup.steps;
  const results: (LabRunResult | undefined)[] = o.lrs.map(() => undefined);
  const report = (message: string) => o.onProgress?.({ fraction: done.reduce((a, b) => a + b, 0) / total, message });
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < o.lrs.length && failure === undefined && !stop.token.isCancellationRequested) {
      const i = next++;
      const lr = o.lrs[i];
      const f = runFolders(lr);
      const request: LabRunRequest = {
        model: resolve(o.model),
        data: { data: resolve(o.data), ...(o.labels ? { labels: resolve(o.labels) } : {}) },
        loss: o.loss,
        engine: o.engine,
        backend: o.backend,
        lr,
        setup: o.setup,
        logs: { tfevents: join(dir, f.tfevents), csv: join(dir, f.csv) },
        stateFile: join(dir, f.state),
        resume: o.resume === true,
        toolVersion: o.toolVersion,
      };
      const run = wanted === 0 ? runInThisThread : runInWorker;
      try {
        const r = await run(
          { kind: 'lab', request },
          {
            token: stop.token,
            onEvent: (ev) => {
              done[i] = ev.step;
              report(`η = ${lr}: ${ev.step}/${o.setup.steps} steps`);
            },
          },
        );
        done[i] = o.setup.steps;
        results[i] = r;
        report(`η = ${lr}: done (${Math.round(r.stepsPerSecond)} steps/s)`);
        o.onRunDone?.(r);
      } catch (e) {
        if (failure === undefined && !(e instanceof CancelledError)) failure = e;
        stop.cancel();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: slots }, worker));
  } finally {
    sub?.dispose();
    if (poll) clearInterval(poll);
  }
  if (failure !== undefined) throw failure;
  if (stop.token.isCancellationRequested || results.some((r) => r === undefined)) throw new CancelledError();

  const finished = results as LabRunResult[];
  const first = finished[0];
  finished.forEach((r, i) => {
    runs[i] = { ...runs[i], steps_done: r.steps, seconds: round(r.seconds, 3), steps_per_second: Math.round(r.stepsPerSecond), ...(r.diverged ? { diverged: true } : {}) };
  });
  const complete: LabManifest = {
    ...manifest,
    complete: true,
    loss: manifest.loss ?? first.lossName,
    checkpoint_loss: first.checkpointLoss,
    engine: first.engine,
    runs,
  };
  await writeManifest(dir, complete);
  await rm(join(dir, STATE_DIR), { recursive: true, force: true });
  return { dir, manifest: complete, runs: finished, wallSeconds: (performance.now() - t0) / 1000, workers: wanted === 0 ? 0 : slots };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
