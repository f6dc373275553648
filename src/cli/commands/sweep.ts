import { relative, resolve } from 'node:path';
import { HeatcapError } from '../../core/errors';
import { SAMPLINGS, type LabSetup } from '../../core/lab/config';
import { readLabManifest, setupOfManifest } from '../../core/lab/manifest';
import { LAB_ENGINES, type LabEngine } from '../../core/lab/open';
import { runSweep, type SweepOutcome } from '../../core/lab/sweep';
import type { Sampling } from '../../core/runs/model';
import { BACKEND_PREFS, type BackendPref } from '../../core/tf/backend';
import { TOOL_VERSION } from '../../core/version';
import { numberFlag, parseCommandArgs, toJson } from '../args';
import { cancellableBySignals } from '../signals';
import type { CliCommand, CliIo } from '../command';

const usage = `usage: heatcap sweep --model <model.json | model.keras | model.h5> --data <x.npy> [--labels <y.npy>] --lrs η1,η2,… --steps N --out <dir> [options]

Trains the checkpoint with SGD at each learning rate, starting every run at the checkpoint, and writes
ordinary logs that 'heatcap analyze <dir>' (and TensorBoard) read: per run a TensorBoard event file
(tensorboard/lr_η/) and a Lightning-style metrics.csv + hparams.yaml (csv/lr_η/), and sweep.json naming
the checkpoint, data and setup. Logged: full_train_loss (the full-training-set loss) and lr every
--full-loss-every updates, train_loss (mean minibatch loss, each computed before its update) over every
--log-every updates. Runs use one worker thread each, as many at once as there are cores.

  --lrs η1,η2,…                learning rates (comma-separated)
  --steps N                    SGD updates per run, burn-in included
  --batch-size B               minibatch size (default 32)
  --sampling with_replacement|without_replacement|reshuffle   (default with_replacement)
  --momentum β --dampening d --nesterov --weight-decay λ      torch.optim.SGD conventions (default 0)
  --loss <name>                per-example loss when model.json records none
  --seed S                     seed of the sweep (default 0); each run's stream derives from S and η
  --burn-in M                  updates before logging starts (default 0)
  --log-every K                default: (steps − burn-in)/2000, at least 1
  --full-loss-every K          default: --log-every
  --engine auto|dense-f64|tfjs auto: the float64 fast path for Dense-only models, else TensorFlow.js
  --backend auto|wasm|node|cpu TensorFlow.js backend of the tfjs engine (default auto)
  --workers N|auto             worker threads (default auto: one per core, at most one per η; 0: this thread)
  --name <name>                sweep name (default: the folder name)
  --resume                     continue the stopped sweep in --out (its sweep.json supplies the setup)
  --json                       print the sweep manifest as JSON
`;

const ENGINES = LAB_ENGINES;
/** Without --ipc, a progress line on stderr at most this often (a long sweep is not silent). */
const PROGRESS_EVERY_MS = 10_000;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new HeatcapError(undefined, `--${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

function parseLrs(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((s) => {
    const x = Number(s.trim());
    if (s.trim() === '' || !(x > 0) || !Number.isFinite(x)) throw new HeatcapError(undefined, `--lrs expects positive numbers separated by commas, got '${s}'`);
    return x;
  });
}

export async function sweepOptionsFromArgs(argv: string[], cwd: string) {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      data: { type: 'string' },
      labels: { type: 'string' },
      loss: { type: 'string' },
      lrs: { type: 'string' },
      steps: { type: 'string' },
      'batch-size': { type: 'string' },
      sampling: { type: 'string' },
      momentum: { type: 'string' },
      dampening: { type: 'string' },
      nesterov: { type: 'boolean' },
      'weight-decay': { type: 'string' },
      seed: { type: 'string' },
      'burn-in': { type: 'string' },
      'log-every': { type: 'string' },
      'full-loss-every': { type: 'string' },
      engine: { type: 'string' },
      backend: { type: 'string' },
      workers: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    usage,
  );
  if (positionals.length) throw new HeatcapError(undefined, `unexpected argument '${positionals[0]}' (see 'heatcap sweep --help')`);
  if (!values.out) throw new HeatcapError(undefined, "--out <dir> is required (see 'heatcap sweep --help')");
  const out = resolve(cwd, values.out);
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  const resume = values.resume === true;
  const m = resume ? await readLabManifest(out) : undefined;
  if (resume && !m) throw new HeatcapError(out, "holds no sweep.json written by 'heatcap sweep': nothing to resume");
  const base: Partial<LabSetup> = m ? setupOfManifest(m) : {};
  const fromManifest = (p: string | undefined) => (p === undefined || !m ? undefined : resolve(out, p));

  const model = abs(values.model) ?? fromManifest(m?.checkpoint);
  const data = abs(values.data) ?? fromManifest(m?.data);
  const labels = abs(values.labels) ?? fromManifest(m?.labels);
  const lrs = parseLrs(values.lrs) ?? m?.runs.map((r) => r.lr);
  const steps = numberFlag('steps', values.steps, { min: 1, integer: true }) ?? base.steps;
  if (!model) throw new HeatcapError(undefined, '--model <model.json> is required');
  if (!data) throw new HeatcapError(undefined, '--data <file> is required');
  if (!lrs) throw new HeatcapError(undefined, '--lrs η1,η2,… is required');
  if (!steps) throw new HeatcapError(undefined, '--steps N is required');
  const burnIn = numberFlag('burn-in', values['burn-in'], { min: 0, integer: true }) ?? base.burnIn ?? 0;
  const logEvery = numberFlag('log-every', values['log-every'], { min: 1, integer: true }) ?? base.logEvery ?? Math.max(1, Math.round((steps - burnIn) / 2000));
  const setup: LabSetup = {
    batchSize: numberFlag('batch-size', values['batch-size'], { min: 1, integer: true }) ?? base.batchSize ?? 32,
    sampling: oneOf<Sampling>('sampling', values.sampling, SAMPLINGS) ?? base.sampling ?? 'with_replacement',
    momentum: numberFlag('momentum', values.momentum, { min: 0 }) ?? base.momentum ?? 0,
    dampening: numberFlag('dampening', values.dampening, { min: 0 }) ?? base.dampening ?? 0,
    nesterov: values.nesterov ?? base.nesterov ?? false,
    weightDecay: numberFlag('weight-decay', values['weight-decay'], { min: 0 }) ?? base.weightDecay ?? 0,
    seed: numberFlag('seed', values.seed, { integer: true }) ?? base.seed ?? 0,
    steps,
    burnIn,
    logEvery,
    fullLossEvery: numberFlag('full-loss-every', values['full-loss-every'], { min: 1, integer: true }) ?? base.fullLossEvery ?? logEvery,
  };
  const workersText = values.workers ?? 'auto';
  const workers = workersText === 'auto' ? ('auto' as const) : (numberFlag('workers', workersText, { min: 0, integer: true }) as number);
  return {
    out,
    name: values.name ?? m?.name,
    model,
    data,
    labels,
    loss: values.loss ?? m?.loss,
    lrs,
    setup,
    engine: (oneOf('engine', values.engine, ENGINES) ?? m?.engine_requested ?? 'auto') as LabEngine,
    backend: (oneOf('backend', values.backend, BACKEND_PREFS) ?? m?.backend ?? 'auto') as BackendPref,
    workers,
    resume,
    json: values.json === true,
  };
}

/** The finished sweep as a small table: η, updates, speed, L(w_T) − L*. */
export function formatSweep(s: SweepOutcome, cwd: string): string {
  const m = s.manifest;
  const lines = [
    `sweep "${m.name}": ${m.runs.length} runs × ${m.steps} steps, B = ${m.batch_size}, ${m.sampling}, engine ${m.engine}, ${s.workers} worker${s.workers === 1 ? '' : 's'}, ${s.wallSeconds.toFixed(1)} s`,
    `checkpoint loss L* = ${m.checkpoint_loss?.toPrecision(8)} (N = ${m.dataset_size})`,
    ...(s.runs[0]?.notes ?? []).map((n) => `  ${n}`),
    '',
    '  η            steps/s   last full loss − L*',
  ];
  for (const r of s.runs) {
    const gap = r.skipped ? '(already done)' : r.diverged ? 'diverged' : (r.finalLoss - r.checkpointLoss).toExponential(3);
    lines.push(`  ${String(r.lr).padEnd(12)} ${String(Math.round(r.stepsPerSecond)).padStart(8)}   ${gap}`);
  }
  const rel = relative(cwd, s.dir) || '.';
  lines.push('', `logs in ${rel}/ (tensorboard/, csv/, sweep.json); analyse with: heatcap analyze ${rel}`, '');
  return lines.join('\n');
}

export const sweepCommand: CliCommand = {
  name: 'sweep',
  summary: 'train a checkpoint with SGD at several η from the checkpoint, writing ordinary logs (the sweep lab)',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const o = await sweepOptionsFromArgs(argv, io.cwd);
    // `--ipc` is stripped by main.ts, which hands the reporter over as io.ipc.
    const ipc = io.ipc ?? null;
    let lastLine = Date.now();
    return cancellableBySignals(async (token) => {
      const outcome = await runSweep({
        ...o,
        toolVersion: TOOL_VERSION,
        token,
        onProgress: (p) => {
          if (ipc) ipc.progress({ fraction: p.fraction, message: p.message ?? '' });
          else if (!o.json && Date.now() - lastLine > PROGRESS_EVERY_MS) {
            lastLine = Date.now();
            io.err(`${Math.floor(100 * (p.fraction ?? 0))}%  ${p.message ?? ''}\n`);
          }
        },
        onRunDone: (r) => {
          if (!ipc && !o.json) io.err(`η = ${r.lr}: ${r.skipped ? 'already done' : `${r.steps} steps, ${Math.round(r.stepsPerSecond)} steps/s${r.diverged ? ', diverged' : ''}`}\n`);
          if (r.diverged) ipc?.warning(`the run at η = ${r.lr} diverged`);
        },
      });
      io.out(o.json ? toJson(outcome.manifest) : formatSweep(outcome, io.cwd));
      return 0;
    });
  },
};
