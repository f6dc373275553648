/**
 * The sweep lab's speed (issue #8): one SGD step of the digits checkpoints (B = 8) with the float64
 * Dense fast path and with TensorFlow.js on wasm, side by side in one process (interleaved rounds, the
 * median kept, since the machine is shared); a whole logged run on one worker; and the wall time of
 * a 4 η × 100k-step sweep on every core. Run: `npx tsx bench/lab.ts` (or `npm run bench -- lab`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabSetup } from '../src/core/lab/config';
import type { LabModel } from '../src/core/lab/model';
import { openLab, type LabEngine } from '../src/core/lab/open';
import { sgdStep } from '../src/core/lab/optimizer';
import { LabRng } from '../src/core/lab/rng';
import { BatchSampler } from '../src/core/lab/sampler';
import { runSweep } from '../src/core/lab/sweep';
import { trainRun } from '../src/core/lab/train';

const root = join(__dirname, '..', 'examples', 'digits');
const data = { data: join(root, 'data', 'x.npy'), labels: join(root, 'data', 'y.npy') };
const checkpoint = (name: string) => join(root, 'checkpoints', name, 'model.json');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Seconds per plain SGD step (sample, loss and gradient, update), no logging. */
function stepSeconds(model: LabModel, w0: Float64Array, steps: number): number {
  const w = Float64Array.from(w0);
  const grad = new Float64Array(w.length);
  const idx = new Int32Array(8);
  const sampler = new BatchSampler('with_replacement', model.n, 8, LabRng.seeded(1));
  const t0 = performance.now();
  for (let t = 0; t < steps; t++) {
    sampler.next(idx);
    model.batchLossGrad(w, idx, grad);
    sgdStep(w, grad, 0.005, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 }, null);
  }
  return (performance.now() - t0) / 1000 / steps;
}

function fullLossSeconds(model: LabModel, w: Float64Array, reps: number): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) model.fullLoss(w);
  return (performance.now() - t0) / 1000 / reps;
}

const fmtRate = (perSecond: number) => (perSecond >= 1000 ? `${Math.round(perSecond).toLocaleString('en-US')}` : perSecond.toPrecision(3));

export async function run(): Promise<string> {
  const lines: string[] = [];
  lines.push('## Sweep lab (`heatcap sweep`)', '');
  lines.push(`Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores (shared with other jobs: compare rows of one run), Node ${process.version}.`, '');
  lines.push('One SGD step on the digits checkpoints (N = 1797, B = 8: sample, minibatch loss and gradient, update), median of 5 interleaved rounds in one thread:', '');
  lines.push('| model | params | engine | steps/s | µs/step | full-set loss (ms) |', '|---|---|---|---|---|---|');
  for (const name of ['softmax', 'mlp']) {
    const engines: LabEngine[] = ['dense-f64', 'tfjs'];
    const labs = [];
    for (const engine of engines) labs.push(await openLab({ model: checkpoint(name), data, engine, backend: 'wasm', batchSize: 8 }));
    const per: number[][] = engines.map(() => []);
    for (let round = 0; round < 5; round++) {
      labs.forEach((lab, i) => per[i].push(stepSeconds(lab.model, lab.initial, lab.model.engine === 'tfjs' ? 300 : 20000)));
    }
    labs.forEach((lab, i) => {
      const s = median(per[i]);
      const full = fullLossSeconds(lab.model, lab.initial, lab.model.engine === 'tfjs' ? 3 : 20);
      const label = lab.model.engine === 'tfjs' ? 'tfjs (wasm)' : 'dense-f64 (pure JS, float64)';
      lines.push(`| ${name} | ${lab.model.paramCount} | ${label} | ${fmtRate(1 / s)} | ${(s * 1e6).toFixed(1)} | ${(full * 1000).toFixed(2)} |`);
    });
    const ratio = median(per[1]) / median(per[0]);
    lines.push(`| ${name} | | fast path speed-up | ×${ratio.toFixed(0)} | | |`);
    labs.forEach((l) => l.model.dispose());
  }

  // A whole logged run (what `heatcap sweep` does per η): full-set loss and windowed minibatch loss every 100 steps.
  const tmp = mkdtempSync(join(tmpdir(), 'heatcap-bench-lab-'));
  try {
    lines.push('', 'A logged run on one worker (softmax, B = 8, `full_train_loss` and `train_loss` every 100 steps, event file + CSV):', '');
    lines.push('| engine | steps | steps/s |', '|---|---|---|');
    const setup = (steps: number): LabSetup => ({ batchSize: 8, sampling: 'with_replacement', momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, seed: 1, steps, burnIn: 0, logEvery: 100, fullLossEvery: 100 });
    for (const [engine, steps] of [['dense-f64', 100000], ['tfjs', 2000]] as [LabEngine, number][]) {
      const lab = await openLab({ model: checkpoint('softmax'), data, engine, backend: 'wasm', batchSize: 8 });
      const dir = join(tmp, `run-${engine}`);
      const r = await trainRun(lab.model, lab.initial, { logs: { tfevents: join(dir, 'tb'), csv: join(dir, 'csv') }, stateFile: join(dir, 'state'), lr: 0.005, setup: setup(steps), hparams: {} });
      lines.push(`| ${engine === 'tfjs' ? 'tfjs (wasm)' : 'dense-f64'} | ${steps.toLocaleString('en-US')} | ${fmtRate(r.stepsPerSecond)} |`);
      lab.model.dispose();
    }

    const t0 = performance.now();
    const sweep = await runSweep({
      out: join(tmp, 'sweep'),
      model: checkpoint('softmax'),
      data: data.data,
      labels: data.labels,
      lrs: [0.0025, 0.005, 0.01, 0.02],
      setup: setup(100000),
      engine: 'auto',
      backend: 'wasm',
      toolVersion: 'bench',
    });
    const wall = (performance.now() - t0) / 1000;
    lines.push('', `Sweep of 4 η × 100,000 steps (softmax, B = 8, logging every 100 steps) with \`heatcap sweep\`'s defaults: ${sweep.workers} worker threads, engine ${sweep.manifest.engine}, **${wall.toFixed(1)} s** wall time (worker start-up and loading included; per run ${sweep.runs.map((r) => fmtRate(r.stepsPerSecond)).join(', ')} steps/s).`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return lines.join('\n');
}

if (require.main === module) {
  run().then((md) => console.log(md), (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
