/**
 * The ONNX engine (src/core/engine/) side by side with ONNX Runtime's forward pass, PyTorch
 * (bench/torch_norms.py: Goodfellow matmuls and functorch vmap(grad)), in one run, for 1 thread (every process pinned with `taskset -c 0`, OPENBLAS_NUM_THREADS =
 * OMP_NUM_THREADS = 1, torch.set_num_threads(1), ORT intraOpNumThreads 1) and 2 threads (`taskset -c 0,1`,
 * = 2). Models:
 *  - MLP 784-512-256-10 (ReLU, CE), B = 256, 2560 random examples; exported from torch (and the same
 *    architecture as a TF.js LayersModel, random weights, for ONNX vs model.json);
 *  - a CNN (28×28×1, conv 16, pool, conv 32, pool, dense 10), NCHW in torch, 512 examples;
 *  - issue 14's fixtures resnet_tiny and transformer_tiny (256 examples each, their own weights and losses);
 *  - the digits MLP 64-32-10 (examples/digits, 1797 examples): its model.json, and the same weights
 *    exported to ONNX by torch (no L2 penalty there: ONNX has no regularisers).
 * Our side is timed in-process: program and session built once, then session.run over pre-built batch
 * feeds (outputs copied back included); median of 5 interleaved repetitions (engine, forward, engine, …).
 * The engine's norms on the first batch are checked against torch's (vmap) before anything is reported.
 *
 *   npx tsx bench/run.ts onnx          (or npx tsx bench/onnx.ts)
 *   HEATCAP_BENCH_ONNX_PROFILE=1 …     also writes ORT profiles of the 1-thread MLP/CNN programs to .bench-out/
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../src/core/data/npy';
import type { ConstTensor } from '../src/core/graph/types';
import { openEngineProblem, type EngineProblem } from '../src/core/engine/problem';
import { probeValues } from '../src/core/engine/probe';
import { buildProgram, type Program } from '../src/core/engine/program';
import { buildModel } from '../src/core/engine/onnx-encode';
import { encodeModel } from '../src/core/onnx/proto';
import { createSession, ort } from '../src/core/engine/runtime';
import { mulberry32 } from '../src/core/random';

const REPO = join(__dirname, '..');
const PY = '/usr/bin/python3';
const HELPER = join(__dirname, 'torch_norms.py');
const FIX = join(REPO, 'test/fixtures/onnx');
const DIGITS = join(REPO, 'examples/digits');
const B = 256;
const REPS = 5;
/** [ONNX case, model.json case, label] for issue 14's "ONNX vs the same architecture as a LayersModel". */
const PAIRS: [string, string, string][] = [
  ['mlp', 'mlp_tfjs', 'MLP 784-512-256-10 (different random weights, same shapes)'],
  ['cnn', 'cnn_tfjs', 'CNN 28×28×1 (different random weights, same shapes)'],
  ['digits_onnx', 'digits', 'digits MLP (same weights; the model.json adds its L2 penalty)'],
];

interface ModelCase {
  key: string;
  label: string;
  model: string;
  x: string;
  y: string;
  loss?: string;
  labelSmoothing?: number;
  /** Batches timed (of B); the loop's subset in examples. */
  batches: number;
  /** Passes over the batches per timed repetition (sub-millisecond programs: enough work per sample). */
  passes?: number;
  loopExamples: number;
  /** Key of the torch timing/norms to compare with (same weights), if any. */
  torch?: string;
  /** Batch size (default B): the whole-set rows use the engine's automatic batch (all 1797 in one run). */
  batch?: number;
  /** Timed at 1 thread only (keeps the whole bench near 3 minutes on a shared machine). */
  oneThread?: boolean;
}

interface ChildModel {
  engineMs: number;
  forwardMs: number;
  engineCpuMs: number;
  forwardCpuMs: number;
  loopMsPerExample: number;
  nodes: number;
  forwardNodes: number;
  forms: string[];
  norms0: number[];
  /** The same program on onnxruntime-web's WebAssembly build (the fallback runtime). */
  wasm?: { ms: number; cpuMs: number; threads: number } | { note: string };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ------------------------------------------------------------------------------------- child side

function feedsFor(problem: EngineProblem, program: { input: string }, B: number, batches: number, withTargets: boolean) {
  const Tensor = ort().Tensor;
  const rs = problem.inputs.rowSize;
  const out: Record<string, import('onnxruntime-node').Tensor>[] = [];
  const ts = problem.targets.size;
  for (let k = 0; k < batches; k++) {
    const s = (k * B) % problem.n;
    const count = Math.min(B, problem.n - s);
    const f = new Float32Array(B * rs);
    problem.inputs.readRows(s, count, f);
    for (let b = count; b < B; b++) f.copyWithin(b * rs, 0, rs);
    const dims = [B, ...problem.inputs.rowShape];
    const dtype = problem.graph.input.dtype;
    const x =
      dtype === 'int64'
        ? new Tensor('int64', BigInt64Array.from(f, (v) => BigInt(v)), dims)
        : dtype === 'int32'
          ? new Tensor('int32', Int32Array.from(f), dims)
          : new Tensor('float32', f, dims);
    const feed: Record<string, import('onnxruntime-node').Tensor> = { [program.input]: x };
    if (withTargets) {
      const y = new Float32Array(B * ts);
      y.set(problem.targets.read(s, count).subarray(0, count * ts));
      const w = new Float32Array(B);
      w.fill(1, 0, count);
      feed.targets = new Tensor('float32', y, [B, ...problem.targetShape]);
      feed.weights = new Tensor('float32', w, [B]);
    }
    out.push(feed);
  }
  return out;
}

function inputTensor(problem: EngineProblem, Bn: number): ConstTensor {
  const f = new Float32Array(Bn * problem.inputs.rowSize);
  problem.inputs.readRows(0, Math.min(Bn, problem.n), f);
  const dims = [Bn, ...problem.inputs.rowShape];
  const dtype = problem.graph.input.dtype;
  if (dtype === 'int64') return { dims, dtype, data: BigInt64Array.from(f, (v) => BigInt(v)) };
  if (dtype === 'int32') return { dims, dtype, data: Int32Array.from(f) };
  return { dims, dtype: 'float32', data: f };
}

async function childModel(c: ModelCase, threads: number, profileDir?: string): Promise<ChildModel> {
  const problem = await openEngineProblem({ model: c.model, data: { data: c.x, labels: c.y }, loss: c.loss, labelSmoothing: c.labelSmoothing });
  try {
    const Bn = Math.min(c.batch ?? B, problem.n);
    const graph = problem.graph;
    // (a) the gradient program, exactly as computeOnnxPartial builds it.
    const values = await probeValues(graph, inputTensor(problem, Bn));
    const program: Program = buildProgram({ graph, head: problem.head, values, B: Bn, mode: 'vectorized', diagonal: false, penaltyGrads: problem.penaltyGrads });
    const { session } = await createSession(program.bytes, { threads }, graph.file);
    // (b) the model's own forward graph (its output, softmax included where the model has one).
    const fwdBytes = encodeModel(
      buildModel({
        opset: graph.opset,
        name: 'forward',
        nodes: graph.nodes,
        initializers: [...graph.params.map((p) => ({ name: p.name, tensor: p.tensor })), ...graph.constants],
        inputs: [{ name: graph.input.name, dtype: graph.input.dtype, shape: [Bn, ...problem.inputs.rowShape] }],
        outputs: [{ name: graph.output.name }],
      }),
    );
    const { session: fwd } = await createSession(fwdBytes, { threads }, graph.file);
    const feeds = feedsFor(problem, program, Bn, c.batches, true);
    const fwdFeeds = feeds.map((f) => ({ [program.input]: f[program.input] }));
    // Correctness: norms of the first batch (sum over parameters of sq/<i>).
    const r0 = await session.run(feeds[0]);
    const norms0 = new Array<number>(Bn).fill(0);
    for (const name of program.outputs.sq) {
      const d = r0[name].data as Float32Array;
      for (let b = 0; b < Bn; b++) norms0[b] += d[b];
    }
    const time = async (s: import('onnxruntime-node').InferenceSession, fs: typeof feeds) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const f of fs) await s.run(f);
      const cpu = process.cpuUsage(c0);
      return { wall: (performance.now() - t0) / fs.length, cpu: (cpu.user + cpu.system) / 1000 / fs.length };
    };
    await time(session, feeds.slice(0, 2));
    await time(fwd, fwdFeeds.slice(0, 2));
    const e: { wall: number; cpu: number }[] = [];
    const f: { wall: number; cpu: number }[] = [];
    const passes = c.passes ?? 1;
    const many = <T>(xs: T[]) => Array.from({ length: passes }, () => xs).flat();
    for (let r = 0; r < REPS; r++) {
      e.push(await time(session, many(feeds)));
      f.push(await time(fwd, many(fwdFeeds)));
    }
    await session.release();
    await fwd.release();
    // (c) the same program and feeds on the WebAssembly runtime (onnxruntime-web).
    const wasm = await wasmTiming(program.bytes, feeds, threads, graph.file).catch((e: Error) => ({ note: e.message.split('\n')[0] }));
    // (f) the exact per-example loop: the same program at B = 1, one run per example.
    const values1 = await probeValues(graph, inputTensor(problem, 1));
    const loopProgram = buildProgram({ graph, head: problem.head, values: values1, B: 1, mode: 'loop', diagonal: false, penaltyGrads: problem.penaltyGrads });
    const { session: loop } = await createSession(loopProgram.bytes, { threads }, graph.file);
    const loopFeeds = feedsFor(problem, loopProgram, 1, c.loopExamples, true);
    await time(loop, loopFeeds.slice(0, 4));
    const l: number[] = [];
    for (let r = 0; r < 3; r++) l.push((await time(loop, loopFeeds)).wall);
    await loop.release();
    if (profileDir) await profile(program, fwdBytes, feeds[0], fwdFeeds[0], threads, join(profileDir, c.key));
    return {
      engineMs: median(e.map((t) => t.wall)),
      forwardMs: median(f.map((t) => t.wall)),
      engineCpuMs: median(e.map((t) => t.cpu)),
      forwardCpuMs: median(f.map((t) => t.cpu)),
      loopMsPerExample: median(l),
      nodes: program.nodeCount,
      forwardNodes: graph.nodes.length,
      forms: program.forms,
      norms0,
      wasm,
    };
  } finally {
    problem.close();
  }
}

/** The gradient program on onnxruntime-web (wasm, threads as asked where its build runs threads): median of 3 passes over the feeds after 2 warm-up runs. */
async function wasmTiming(bytes: Uint8Array, feeds: Record<string, import('onnxruntime-node').Tensor>[], threads: number, file: string) {
  const { session, info } = await createSession(bytes, { threads, runtime: 'wasm' }, file);
  try {
    for (const f of feeds.slice(0, 2)) await session.run(f);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < 3; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const f of feeds) await session.run(f);
      const c = process.cpuUsage(c0);
      wall.push((performance.now() - t0) / feeds.length);
      cpu.push((c.user + c.system) / 1000 / feeds.length);
    }
    return { ms: median(wall), cpuMs: median(cpu), threads: info.threads };
  } finally {
    await session.release();
  }
}

/** ORT's own per-node profile of the gradient and forward programs (JSON traces), 20 runs each. */
async function profile(program: Program, fwdBytes: Uint8Array, feed: Record<string, import('onnxruntime-node').Tensor>, fwdFeed: Record<string, import('onnxruntime-node').Tensor>, threads: number, prefix: string) {
  const o = ort();
  for (const [tag, bytes, fd] of [
    ['engine', program.bytes, feed],
    ['forward', fwdBytes, fwdFeed],
  ] as const) {
    const s = await o.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: `${prefix}-${tag}` });
    for (let i = 0; i < 20; i++) await s.run(fd);
    s.endProfiling();
    await s.release();
  }
}

/** The engine program of one case, with its session and batch feeds (for interleaved comparisons). */
async function engineOf(c: ModelCase, threads: number) {
  const problem = await openEngineProblem({ model: c.model, data: { data: c.x, labels: c.y }, loss: c.loss, labelSmoothing: c.labelSmoothing });
  const Bn = Math.min(B, problem.n);
  const values = await probeValues(problem.graph, inputTensor(problem, Bn));
  const program = buildProgram({ graph: problem.graph, head: problem.head, values, B: Bn, mode: 'vectorized', diagonal: false, penaltyGrads: problem.penaltyGrads });
  const { session } = await createSession(program.bytes, { threads }, problem.graph.file);
  const feeds = feedsFor(problem, program, Bn, c.batches, true);
  problem.close();
  return { session, feeds: Array.from({ length: c.passes ?? 1 }, () => feeds).flat() };
}

/** Two cases' engine programs timed alternately (A B A B …) in this process: median wall and CPU ms per batch. */
async function pairTiming(a: ModelCase, b: ModelCase, threads: number) {
  const sides = [await engineOf(a, threads), await engineOf(b, threads)];
  const times = sides.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let r = -1; r < 2 * REPS + 1; r++) {
    for (let k = 0; k < 2; k++) {
      const { session, feeds } = sides[k];
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const f of feeds) await session.run(f);
      const cpu = process.cpuUsage(c0);
      if (r < 0) continue; // warm-up round
      times[k].wall.push((performance.now() - t0) / feeds.length);
      times[k].cpu.push((cpu.user + cpu.system) / 1000 / feeds.length);
    }
  }
  for (const s of sides) await s.session.release();
  return times.map((t) => ({ wall: median(t.wall), cpu: median(t.cpu) }));
}

async function child(dir: string, threads: number): Promise<void> {
  const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as ModelCase[];
  const out: Record<string, ChildModel> = {};
  const profileDir = process.env.HEATCAP_BENCH_ONNX_PROFILE === '1' && threads === 1 ? join(REPO, '.bench-out', 'onnx-profile') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  for (const c of cases) {
    if (c.oneThread && threads !== 1) continue;
    const t0 = performance.now();
    out[c.key] = await childModel(c, threads, ['mlp', 'cnn', 'digits', 'transformer_tiny'].includes(c.key) ? profileDir : undefined);
    process.stderr.write(`[onnx bench] ${threads} thread(s) ${c.key}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  // Issue 14's comparison (ONNX vs model.json of one architecture), interleaved so load hits both alike.
  const pairs: Record<string, { wall: number; cpu: number }[]> = {};
  if (threads === 1) {
    for (const [a, b] of PAIRS) {
      const ca = cases.find((c) => c.key === a);
      const cb = cases.find((c) => c.key === b);
      if (ca && cb && ca.model.endsWith('.onnx') && !cb.model.endsWith('.onnx')) pairs[`${a}|${b}`] = await pairTiming(ca, cb, threads);
    }
  }
  process.stdout.write(`\n@@RESULT@@${JSON.stringify({ models: out, pairs })}\n`);
}

// ------------------------------------------------------------------------------------ parent side

function randn(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}
function labels(n: number, k: number, seed: number): Int32Array {
  const r = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * k));
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

function machineLine(torch: string): string {
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
  const blas = (sh('update-alternatives', ['--display', 'libblas.so.3-x86_64-linux-gnu']).match(/currently points to (\S+)/) ?? [])[1] ?? 'unknown';
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  return `Machine: ${cpu}, ${os.cpus().length} cores, Node ${process.version}, onnxruntime-node ${ortVersion} (and onnxruntime-web of the same release for the wasm column), torch ${torch}, libblas.so.3 → ${blas}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} at the start (the cores are shared).`;
}

function runPinned(cpus: string, threads: number, cmd: string, args: string[]) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const r = spawnSync('taskset', ['-c', cpus, cmd, ...args], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (process.env.HEATCAP_BENCH_ONNX_VERBOSE === '1') process.stderr.write(r.stderr ?? '');
  return r;
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-onnx-'));
  try {
    // Data and the TF.js LayersModels ("ONNX vs model.json").
    const { buildSequential } = await import('../src/core/model/build');
    const { saveLayersModel } = await import('../src/core/model/load');
    const { initBackend } = await import('../src/core/tf/backend');
    await initBackend('cpu');
    writeNpy(join(dir, 'mlp_x.npy'), randn(2560 * 784, 11), [2560, 784]);
    writeNpy(join(dir, 'mlp_y.npy'), labels(2560, 10, 12), [2560]);
    writeNpy(join(dir, 'cnn_x.npy'), randn(512 * 784, 13), [512, 1, 28, 28]);
    writeNpy(join(dir, 'cnn_y.npy'), labels(512, 10, 14), [512]);
    const mlpJson = await saveLayersModel(
      buildSequential([784], [
        { type: 'dense', units: 512, activation: 'relu' },
        { type: 'dense', units: 256, activation: 'relu' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ], 1),
      join(dir, 'mlp_tfjs'),
      { loss: 'sparse_categorical_crossentropy' },
    );
    const cnnJson = await saveLayersModel(
      buildSequential([28, 28, 1], [
        { type: 'conv2d', filters: 16, kernelSize: 3, activation: 'relu' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ], 1),
      join(dir, 'cnn_tfjs'),
      { loss: 'sparse_categorical_crossentropy' },
    );
    // torch exports of the same architectures (and the digits weights) to ONNX.
    const prep = spawnSync(PY, [HELPER, 'prepare', dir], { encoding: 'utf8' });
    let torchVersion = 'not installed';
    let torchOk = false;
    try {
      const j = JSON.parse(prep.stdout.trim().split('\n').pop() ?? '{}') as { torch?: string; error?: string };
      if (j.torch) {
        torchVersion = j.torch;
        torchOk = true;
      }
    } catch {
      /* not installed / failed: the torch columns say so */
    }
    const torchWhy = torchOk ? '' : existsSync(PY) ? (prep.stdout + prep.stderr).includes('not installed') ? 'not installed' : 'failed' : 'not installed';
    const fixtureLoss = (n: string) => JSON.parse(readFileSync(join(FIX, n, 'oracle.json'), 'utf8')) as { loss: string; label_smoothing?: number };
    const data = (n: string) => ({ x: join(dir, `${n}_x.npy`), y: join(dir, `${n}_y.npy`) });
    const digitsData = { x: join(DIGITS, 'data/x.npy'), y: join(DIGITS, 'data/y.npy') };
    const cases: ModelCase[] = [
      torchOk
        ? { key: 'mlp', label: 'MLP 784-512-256-10 (torch → ONNX)', model: join(dir, 'mlp.onnx'), ...data('mlp'), loss: 'cross_entropy', batches: 10, loopExamples: 16, torch: 'mlp' }
        : { key: 'mlp', label: 'MLP 784-512-256-10 (model.json)', model: mlpJson, ...data('mlp'), batches: 10, loopExamples: 16 },
      { key: 'mlp_tfjs', label: 'MLP 784-512-256-10 (TF.js model.json, softmax output)', model: mlpJson, ...data('mlp'), batches: 10, loopExamples: 16, oneThread: true },
      torchOk
        ? { key: 'cnn', label: 'CNN 28×28×1 (torch NCHW → ONNX)', model: join(dir, 'cnn.onnx'), ...data('cnn'), loss: 'cross_entropy', batches: 2, loopExamples: 16, torch: 'cnn' }
        : { key: 'cnn', label: 'CNN 28×28×1 (model.json)', model: cnnJson, ...data('cnn'), batches: 2, loopExamples: 16 },
      { key: 'cnn_tfjs', label: 'CNN 28×28×1 (TF.js model.json, NHWC)', model: cnnJson, ...data('cnn'), batches: 2, loopExamples: 16, oneThread: true },
      ...(['resnet_tiny', 'transformer_tiny'] as const).map((n) => ({
        key: n,
        label: `${n} (fixture model.onnx)`,
        model: join(FIX, n, 'model.onnx'),
        x: join(FIX, n, 'x.npy'),
        y: join(FIX, n, 'y.npy'),
        loss: fixtureLoss(n).loss,
        labelSmoothing: fixtureLoss(n).label_smoothing,
        batches: 1,
        passes: 3,
        loopExamples: 32,
        torch: torchOk ? n : undefined,
      })),
      { key: 'digits', label: 'digits MLP 64-32-10 (model.json, L2 penalty)', model: join(DIGITS, 'checkpoints/mlp/model.json'), ...digitsData, batches: 8, passes: 20, loopExamples: 200 },
      { key: 'digits_all', label: 'digits MLP 64-32-10 (model.json), all 1797 in one run (the engine\'s automatic batch)', model: join(DIGITS, 'checkpoints/mlp/model.json'), ...digitsData, batch: 1797, batches: 1, passes: 20, loopExamples: 20 },
      ...(torchOk ? [{ key: 'digits_onnx', label: 'digits MLP 64-32-10 (same weights, torch → ONNX)', model: join(dir, 'digits.onnx'), ...digitsData, loss: 'cross_entropy', batches: 8, passes: 20, loopExamples: 200, torch: 'digits' }] : []),
    ];
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));

    const results: Record<number, { ours: Record<string, ChildModel>; torch?: { models: Record<string, { vmap_ms: number; vmap_cpu_ms: number; goodfellow_ms?: number; goodfellow_cpu_ms?: number; goodfellow_vs_vmap_max_rel?: number }> }; torchErr?: string }> = {};
    let pairTimes: Record<string, { wall: number; cpu: number }[]> = {};
    for (const threads of [1, 2]) {
      const cpus = threads === 1 ? '0' : '0,1';
      const node = runPinned(cpus, threads, process.execPath, ['--require', require.resolve('tsx/cjs'), __filename, 'child', dir, String(threads)]);
      const m = /@@RESULT@@(.*)/.exec(node.stdout ?? '');
      if (node.status !== 0 || !m) throw new Error(`bench/onnx.ts child (${threads} threads) failed: ${node.stderr?.slice(-2000)}`);
      const parsed = JSON.parse(m[1]) as { models: Record<string, ChildModel>; pairs: Record<string, { wall: number; cpu: number }[]> };
      results[threads] = { ours: parsed.models };
      if (threads === 1) pairTimes = parsed.pairs;
      if (torchOk) {
        const py = runPinned(cpus, threads, PY, [HELPER, 'time', dir, String(threads), ...(threads === 1 ? ['check'] : [])]);
        try {
          results[threads].torch = JSON.parse(py.stdout.trim().split('\n').pop() ?? '');
        } catch {
          results[threads].torchErr = (py.stderr ?? '').trim().split('\n').pop();
        }
      }
    }

    // Correctness: the engine's float32 norms vs torch's float64 norms (same weights, first batch).
    // Per-example tolerance 1e-4 as in test/unit/engine/oracle.test.ts (transformer_tiny: 5e-4, the float32
    // forward's own precision under label smoothing, documented there).
    const checks: string[] = [];
    for (const c of cases) {
      if (!c.torch) continue;
      const f = join(dir, `${c.torch}_torch_sq.npy`);
      if (!existsSync(f)) {
        checks.push(`${c.key}: no torch norms`);
        continue;
      }
      const want = readNpy(f).data as Float64Array;
      const got = results[1].ours[c.key].norms0;
      const mean = want.reduce((x, y) => x + y, 0) / want.length;
      const gotMean = got.reduce((x, y) => x + y, 0) / got.length;
      let worst = 0;
      for (let b = 0; b < want.length; b++) if (want[b] > 1e-6 * mean) worst = Math.max(worst, Math.abs(got[b] - want[b]) / want[b]);
      const tol = c.key === 'transformer_tiny' ? 5e-4 : 1e-4;
      checks.push(`${c.key} ${worst < tol && Math.abs(gotMean - mean) < 1e-4 * mean ? '✓' : '✗'} per example ${worst.toExponential(1)} (tol ${tol.toExponential(0)}), mean ${(Math.abs(gotMean - mean) / mean).toExponential(1)}`);
    }

    const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
    const wc = (w: number | undefined, c: number | undefined) => `${f1(w)} (${f1(c)})`;
    const rq = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : 'n/a');
    const rows: string[] = [];
    for (const c of cases) {
      for (const threads of [1, 2]) {
        const o = results[threads].ours[c.key];
        if (!o) continue;
        const t = c.torch ? results[threads].torch?.models[c.torch] : undefined;
        const missing = torchWhy || 'failed';
        const gf = c.key === 'mlp' ? (t ? wc(t.goodfellow_ms, t.goodfellow_cpu_ms) : missing) : '–';
        const vm = c.torch ? (t ? wc(t.vmap_ms, t.vmap_cpu_ms) : missing) : '–';
        const bestW = t ? Math.min(t.vmap_ms, t.goodfellow_ms ?? Infinity) : NaN;
        const bestC = t ? Math.min(t.vmap_cpu_ms, t.goodfellow_cpu_ms ?? Infinity) : NaN;
        const wasm = !o.wasm ? '–' : 'note' in o.wasm ? `failed: ${o.wasm.note}` : `${wc(o.wasm.ms, o.wasm.cpuMs)} ${rq(o.wasm.ms, o.engineMs)}${o.wasm.threads !== threads ? ` (${o.wasm.threads} thread)` : ''}`;
        rows.push(
          `| ${c.label} | ${threads} | ${wc(o.engineMs, o.engineCpuMs)} | ${wc(o.forwardMs, o.forwardCpuMs)} | ${rq(o.engineMs, o.forwardMs)} (${rq(o.engineCpuMs, o.forwardCpuMs)}) | ${gf} | ${vm} | ${t ? `${rq(o.engineMs, bestW)} (${rq(o.engineCpuMs, bestC)})` : '–'} | ${wasm} | ${f1(o.loopMsPerExample)} (${((o.loopMsPerExample * (c.batch ?? B)) / o.engineMs).toFixed((o.loopMsPerExample * (c.batch ?? B)) / o.engineMs < 10 ? 1 : 0)}×) |`,
        );
      }
    }
    const r1 = results[1].ours;
    const r2 = results[2].ours;
    const whole = (th: number, o: ChildModel | undefined) =>
      o ? `${th} thread${th > 1 ? 's' : ''}: engine ${o.engineMs.toFixed(2)} ms (${o.engineCpuMs.toFixed(2)} CPU), forward ${o.forwardMs.toFixed(2)} ms → ${(o.engineMs / o.forwardMs).toFixed(1)}× forward wall, ${(o.engineCpuMs / o.forwardCpuMs).toFixed(1)}× CPU` : '';
    const wholeLine = r1.digits_all ? [`- the same, all 1797 examples in one run (what \`heatcap gradnorms\` does by default): ${whole(1, r1.digits_all)}; ${whole(2, r2.digits_all)}.`] : [];
    const digitsLines = (['digits', 'digits_onnx'] as const)
      .filter((k) => r1[k])
      .map((k) => {
        const per = (o: ChildModel, th: number) => {
          const wholeEngine = (o.engineMs * 1797) / B;
          const wholeLoop = o.loopMsPerExample * 1797;
          const vsLoop = wholeLoop / wholeEngine;
          const vsFwd = o.engineMs / o.forwardMs;
          const vsFwdCpu = o.engineCpuMs / o.forwardCpuMs;
          return `${th} thread${th > 1 ? 's' : ''}: engine ${wholeEngine.toFixed(1)} ms for all 1797, forward ${((o.forwardMs * 1797) / B).toFixed(1)} ms, loop ${wholeLoop.toFixed(0)} ms → ${vsLoop.toFixed(0)}× faster than the loop (target ≥ 30×: ${vsLoop >= 30 ? 'met' : 'missed'}); ${vsFwd.toFixed(1)}× forward wall, ${vsFwdCpu.toFixed(1)}× CPU (target ≤ 3×: ${vsFwd <= 3 && vsFwdCpu <= 3 ? 'met' : 'missed'}, wall and CPU)`;
        };
        return `- ${cases.find((c) => c.key === k)!.label}: ${per(r1[k], 1)}; ${per(r2[k], 2)}.`;
      });
    const onnxVsTfjs = PAIRS.filter(([a, b]) => pairTimes[`${a}|${b}`]).map(([a, b, name]) => {
      const [pa, pb] = pairTimes[`${a}|${b}`];
      const q = pa.cpu / pb.cpu;
      return `- ${name}: ONNX ${f1(pa.wall)} (${f1(pa.cpu)}) vs model.json ${f1(pb.wall)} (${f1(pb.cpu)}) ms/batch → ONNX ÷ model.json ${(pa.wall / pb.wall).toFixed(2)} wall, ${q.toFixed(2)} CPU (target ≤ 1.3: ${q <= 1.3 && pa.wall / pb.wall <= 1.3 ? 'met' : 'missed'})`;
    });
    const formsLines = cases.filter((c) => ['mlp', 'cnn', 'resnet_tiny', 'transformer_tiny', 'digits'].includes(c.key)).map((c) => `- ${c.key}: program ${r1[c.key].nodes} nodes (forward ${r1[c.key].forwardNodes}); ${[...new Set(r1[c.key].forms)].join('; ')}`);
    const gfCheck = results[1].torch?.models.mlp?.goodfellow_vs_vmap_max_rel;
    return [
      '## ONNX engine vs ORT forward vs PyTorch',
      '',
      machineLine(torchVersion),
      '',
      'Each time: ms per batch of 256, wall clock, and in parentheses the CPU ms of the whole process (all its threads) over the same runs. The machine was shared: where wall ≫ CPU at 1 thread, the process waited for the core; the 1-thread CPU figures are the load-independent ones. Ratios: wall (CPU).',
      '',
      `| model | threads | engine ms/batch | forward ms/batch | engine/forward | torch Goodfellow | torch vmap(grad) | engine/torch (best torch) | engine on wasm (onnxruntime-web), wasm ÷ native | onnx-loop ms/example (loop ÷ engine) |`,
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Median of ${REPS} repetitions over the model's batches (MLP 10, CNN 2, fixtures 1 batch × 3 passes, digits 8 incl. the padded last one × 20 passes); engine and forward interleaved. Engine = norms + summed gradients (default outputs), one session.run per batch, ORT intraOpNumThreads = threads (inter-op 1); forward = the model's own graph (the EngineGraph's nodes, its output) in ORT at the same batch. 1 thread: every process under \`taskset -c 0\`, OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = 1, torch.set_num_threads(1); 2 threads: \`taskset -c 0,1\`, = 2. torch: float32; Goodfellow = explicit matmuls + autograd to the pre-activations (norms + summed grads); vmap(grad) = functorch over the batch, norms + summed grads, median of 5 over 2 batches (CNN, digits) or 1 (fixtures; MLP: 3 repetitions, no warm-up, as it materialises 256 × 535k gradients). The TF.js model.json rows ran at 1 thread only. Engine on wasm: the same program and batch feeds in onnxruntime-web's WebAssembly build (the runtime of the universal package and the fallback where no native binary loads), numThreads = threads, median of 3 passes after 2 warm-up runs; measured, not a target. onnx-loop: the engine's exact B = 1 program, one run per example, on a subset (${cases.map((c) => `${c.key} ${c.loopExamples}`).join(', ')}).`,
      '',
      `Correctness (1-thread run, first batch): engine float32 norms vs torch float64 norms, same weights: ${checks.join('; ') || 'torch not available'}${gfCheck !== undefined ? `. torch float32 Goodfellow vs vmap: ${gfCheck.toExponential(1)}` : ''}.`,
      '',
      'Issue 15/19 targets, digits MLP (whole set, 256 per batch):',
      ...digitsLines,
      ...wholeLine,
      '',
      `Issue 14: the same architecture as ONNX vs as a TF.js LayersModel through the engine, 1 thread, the two programs timed alternately in one process (median of ${2 * REPS + 1} rounds):`,
      ...onnxVsTfjs,
      '',
      'Per-example forms chosen:',
      ...formsLines,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv[2] === 'child') {
    child(process.argv[3], Number(process.argv[4])).catch((e) => {
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
