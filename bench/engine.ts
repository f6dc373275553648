/**
 * Gradient-engine benchmark (issue #3 performance, issue #10 scale), measured side by side in one
 * process so that machine load affects every column alike:
 *  1. one batch of 256 on the wasm backend, MLP 784-512-256-10 and a small CNN (28×28×1, two conv
 *     layers): forward pass alone, tf.variableGrads forward+backward, the vectorised engine (norms
 *     only / norms + ḡ / + diagonal second moment) and the naive per-example loop;
 *  2. N examples through 1 and 2 worker threads (the wasm backend is single-threaded in Node);
 *  3. peak RSS of a child process computing all norms of N = 10⁵ and N = 10⁶ examples (streamed to
 *     an .npy), to show memory does not grow with N.
 *
 *   npx tsx bench/engine.ts                        full sizes
 *   HEATCAP_BENCH_ENGINE_QUICK=1 npx tsx bench/engine.ts   small sizes for a quick look
 */
import { spawnSync } from 'node:child_process';
import { peakRssMiB } from './_peakRss';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeNpy } from '../src/core/data/npy';
import { naiveChunk } from '../src/core/gradnorm/naive';
import { penaltiesOf } from '../src/core/gradnorm/penalty';
import { buildPlan } from '../src/core/gradnorm/plan';
import { perExampleLoss } from '../src/core/gradnorm/loss';
import { openGradProblem, type GradProblem } from '../src/core/gradnorm/problem';
import { runGradNorms } from '../src/core/gradnorm/run';
import { vectorizedChunk } from '../src/core/gradnorm/vectorized';
import { buildSequential, type LayerSpec } from '../src/core/model/build';
import { saveLayersModel, type LoadedModel } from '../src/core/model/load';
import { MemorySource } from '../src/core/data/source';
import { initBackend } from '../src/core/tf/backend';
import { mulberry32 } from '../src/core/random';

const quick = process.env.HEATCAP_BENCH_ENGINE_QUICK === '1';
const B = 256;

const rng = mulberry32;
const randn = (n: number, seed: number) => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
};
const labels = (n: number, k: number, seed: number) => {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * k));
};

const MLP: LayerSpec[] = [
  { type: 'dense', units: 512, activation: 'relu' },
  { type: 'dense', units: 256, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'softmax' },
];
const CNN: LayerSpec[] = [
  { type: 'conv2d', filters: 16, kernelSize: 3, activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 10, activation: 'softmax' },
];

function loaded(model: tf.LayersModel): LoadedModel {
  return { model, file: 'bench', trainingConfig: { loss: 'sparse_categorical_crossentropy' }, manifest: { file: 'bench', modelTopology: {}, groups: [], totalElements: 0 } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times several methods in interleaved rounds (A B C A B C …) and returns each one's median (ms). */
function interleaved(methods: Record<string, () => void>, rounds: number): Record<string, number> {
  const times: Record<string, number[]> = {};
  for (const [k, f] of Object.entries(methods)) {
    f();
    f();
    times[k] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const [k, f] of Object.entries(methods)) {
      const t0 = performance.now();
      f();
      times[k].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

async function problemFor(specs: LayerSpec[], shape: number[]): Promise<{ problem: GradProblem; x: Float32Array; y: Float32Array }> {
  const size = shape.reduce((a, b) => a * b, 1);
  const model = buildSequential(shape, specs, 1);
  const x = randn(B * size, 2);
  const inputs = new MemorySource('x', x, B, shape, false);
  const lab = new MemorySource('y', Float64Array.from(labels(B, 10, 3)), B, [], true);
  const problem = await openGradProblem({ model: loaded(model), data: { inputs, labels: lab, close: () => {} } });
  return { problem, x, y: problem.targets.read(0, B) };
}

const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1) : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(1)}×` : 'n/a');

async function perBatch(): Promise<string> {
  const rounds = quick ? 3 : 9;
  const naiveExamples = quick ? 8 : 32;
  const rows: string[] = [];
  const notes: string[] = [];
  for (const [name, specs, shape] of [
    ['MLP 784-512-256-10', MLP, [784]],
    ['CNN 28×28×1, conv 3×3×16, pool, conv 3×3×32, pool, dense 10', CNN, [28, 28, 1]],
  ] as const) {
    await initBackend('wasm');
    const { problem, x, y } = await problemFor(specs as LayerSpec[], shape as unknown as number[]);
    const plan = buildPlan(problem.model, problem.params);
    const pen = penaltiesOf(plan, problem.params);
    const xT = tf.tensor(x, [B, ...problem.inputs.rowShape]);
    const yT = tf.tensor(y, [B, 10]);
    const vars = problem.params.map((p) => p.variable.read() as tf.Variable);
    const methods: Record<string, () => void> = {
      forward: () => tf.tidy(() => void (problem.model.predict(xT) as tf.Tensor).dataSync()),
      normsOnly: () => void vectorizedChunk(problem, plan, pen, x, y, B, { sum: false, sumSq: false }),
      engine: () => void vectorizedChunk(problem, plan, pen, x, y, B, { sum: true, sumSq: false }),
      diagonal: () => void vectorizedChunk(problem, plan, pen, x, y, B, { sum: true, sumSq: true }),
    };
    let vgNote = '';
    try {
      tf.tidy(() => tf.variableGrads(() => tf.sum(perExampleLoss(problem.loss, yT, problem.model.apply(xT) as tf.Tensor)) as tf.Scalar, vars));
      methods.variableGrads = () =>
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => tf.sum(perExampleLoss(problem.loss, yT, problem.model.apply(xT) as tf.Tensor)) as tf.Scalar, vars);
          Object.values(grads).forEach((g) => g.dataSync());
        });
    } catch (e) {
      vgNote = (e as Error).message.split('\n')[0];
    }
    const t = interleaved(methods, rounds);
    // The naive loop is timed on a subset and scaled to 256 examples (it is linear in the count).
    let naive = NaN;
    let naiveOn = 'wasm';
    const runNaive = () => {
      const t0 = performance.now();
      naiveChunk(problem, x, y, naiveExamples, { sum: true, sumSq: false });
      return ((performance.now() - t0) * B) / naiveExamples;
    };
    try {
      runNaive();
      naive = median([runNaive(), runNaive(), runNaive()]);
    } catch {
      // wasm has no Conv2DBackpropFilter: the engine's naive fallback runs on cpu, and so does this.
      await initBackend('cpu');
      naiveOn = 'cpu';
      runNaive();
      naive = median([runNaive(), runNaive(), runNaive()]);
    }
    tf.dispose([xT, yT]);
    pen.dispose();
    rows.push(
      `| ${name} | ${fmt(t.forward)} | ${fmt(t.variableGrads ?? NaN)} | ${fmt(t.normsOnly)} | ${fmt(t.engine)} | ${fmt(t.diagonal)} | ${fmt(naive)}${naiveOn === 'cpu' ? ' (cpu)' : ''} | ${ratio(t.normsOnly, t.forward)} | ${ratio(t.engine, t.forward)} | ${ratio(naive, t.engine)} |`,
    );
    // How each layer's norms were formed in the timed passes (rules' own descriptions).
    notes.push(`${name}, engine per layer: ${plan.steps.filter((s) => s.trainable).map((s) => `${s.layer.name}: ${s.trainable!.rule.describe()}`).join('; ')}.`);
    if (vgNote) notes.push(`${name}: tf.variableGrads fails on wasm (${vgNote}).`);
    if (naiveOn === 'cpu') notes.push(`${name}: the naive loop cannot run on wasm (no Conv2DBackpropFilter kernel); like the engine's own fallback it ran on the cpu backend, so its column is a cpu time.`);
    problem.model.dispose();
  }
  return [
    `### One batch of ${B} on the wasm backend (median of ${rounds} interleaved rounds, ms)`,
    '',
    '| model | forward alone | tf.variableGrads | engine: norms only | engine: norms + ḡ (default) | + diagonal E g² | naive loop | norms only ÷ forward | engine ÷ forward | naive ÷ engine |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `"forward alone" is model.predict; the engine columns are one vectorised pass (one batched forward, one backward to the layer outputs, then the per-layer rules). The naive loop was timed on ${naiveExamples} examples and scaled to ${B}.`,
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
}

async function workers(): Promise<string> {
  const N = quick ? 4096 : 16384;
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-engine-'));
  try {
    await initBackend('cpu');
    const model = await saveLayersModel(buildSequential([784], MLP, 1), join(dir, 'mlp'), { loss: 'sparse_categorical_crossentropy' });
    writeNpy(join(dir, 'x.npy'), randn(N * 784, 5), [N, 784]);
    writeNpy(join(dir, 'y.npy'), labels(N, 10, 6), [N]);
    const rows: string[] = [];
    const base = { model, data: { data: join(dir, 'x.npy'), labels: join(dir, 'y.npy') }, backend: 'wasm' as const, engine: 'vectorized' as const };
    const res: Record<number, { seconds: number; wall: number; cpu: number }> = {};
    for (const w of [1, 2, 1, 2]) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = await runGradNorms({ ...base, workers: w });
      const wall = (performance.now() - t0) / 1000;
      // process.cpuUsage counts every thread of this process, the workers included.
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      // Keep the better of two runs of each (the machine is shared).
      if (!res[w] || r.seconds < res[w].seconds) res[w] = { seconds: r.seconds, wall, cpu };
    }
    for (const w of [1, 2]) {
      rows.push(`| ${w} | ${res[w].seconds.toFixed(2)} | ${res[w].wall.toFixed(2)} | ${res[w].cpu.toFixed(2)} | ${(res[w].cpu / res[w].wall).toFixed(2)} | ${Math.round(N / res[w].seconds)} | ${(res[1].seconds / res[w].seconds).toFixed(2)}× |`);
    }
    return [
      `### ${N} examples, MLP 784-512-256-10, wasm, 1 vs 2 worker threads (best of 2 runs each)`,
      '',
      '| workers | engine seconds | wall seconds (with start-up and loading) | CPU seconds, all threads | cores busy (CPU ÷ wall) | examples/s | speed-up |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Load average at the end of this section: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores (other processes compete for the same cores).`,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child mode: compute all norms of one data file in this thread and report peak RSS. */
async function memoryChild(model: string, x: string, y: string, out: string): Promise<void> {
  const r = await runGradNorms({ model, data: { data: x, labels: y }, backend: 'wasm', engine: 'vectorized', workers: 0, chunkSize: 1024, perExamplePath: out });
  process.stdout.write(JSON.stringify({ n: r.n, seconds: r.seconds, maxRssMB: peakRssMiB() }));
}

async function memory(): Promise<string> {
  const sizes = quick ? [10000, 100000] : [100000, 300000, 1000000];
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-engine-mem-'));
  try {
    await initBackend('cpu');
    const specs: LayerSpec[] = [
      { type: 'dense', units: 64, activation: 'relu' },
      { type: 'dense', units: 10, activation: 'softmax' },
    ];
    const model = await saveLayersModel(buildSequential([32], specs, 1), join(dir, 'm'), { loss: 'sparse_categorical_crossentropy' });
    const rows: string[] = [];
    for (const n of sizes) {
      const x = join(dir, `x${n}.npy`);
      const y = join(dir, `y${n}.npy`);
      // Written in slices so the parent does not hold the whole array either.
      const xs = new Float32Array(n * 32);
      const r = rng(n);
      for (let i = 0; i < xs.length; i++) xs[i] = r() * 2 - 1;
      writeNpy(x, xs, [n, 32]);
      writeNpy(y, labels(n, 10, 7), [n]);
      const child = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), __filename, 'memory-child', model, x, y, join(dir, `norms${n}.npy`)], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`);
      const j = JSON.parse(child.stdout.trim().split('\n').pop()!);
      rows.push(`| ${n.toLocaleString('en-US')} | ${(n * 32 * 4 / 2 ** 20).toFixed(0)} | ${j.maxRssMB.toFixed(0)} | ${j.seconds.toFixed(1)} | ${Math.round(n / j.seconds)} |`);
      rmSync(x);
    }
    return [
      '### Memory with N: all norms of an MLP 32-64-10 streamed to an .npy, one thread, wasm',
      '',
      '| N | input .npy (MiB) | peak RSS of the process (MiB) | engine seconds | examples/s |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      'Rows are read from disk chunk by chunk and norms are written to the output file as they come: nothing is held per example. What remains is the runtime (Node, tfjs, the wasm heap) plus per-chunk garbage that the collector reclaims lazily; it levels off after a few hundred chunks, so the peak RSS stops growing with N.',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<string> {
  const machine = `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}${quick ? ' (quick sizes)' : ''}`;
  const parts = ['## Gradient engine', '', machine, '', await perBatch(), '', await workers(), '', await memory()];
  return parts.join('\n');
}

if (require.main === module) {
  if (process.argv[2] === 'memory-child') {
    const [, , , model, x, y, out] = process.argv;
    memoryChild(model, x, y, out).catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
  } else {
    run().then(
      (md) => console.log(md),
      (e) => {
        console.error(e);
        process.exitCode = 1;
      },
    );
  }
}
