/**
 * The ONNX engine's chunk loop: build (and cache) the gradient program for the chunk size, run it on
 * each chunk of examples in ONNX Runtime, and accumulate the same partial statistics as every engine
 * (src/core/gradnorm/stats.ts). The last chunk is padded to the program's batch size with example
 * weights 0, so one program serves every chunk.
 */
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { HeatcapError } from '../errors';
import type { ConstTensor } from '../graph/types';
import type { PartialResult } from '../gradnorm/engine';
import { addExamples, emptyPartial, type ParamDescription } from '../gradnorm/stats';
import type { EngineProblem } from './problem';
import { probeValues } from './probe';
import { buildProgram, NeedsLoop, type Program, type ValueInfo } from './program';
import { createSession, type RuntimeChoice, type RuntimeInfo } from './runtime';

export interface OnnxGradOptions {
  /** `onnx` (vectorised program; the exact loop where an op needs it, with a note) or `onnx-loop`. */
  engine?: 'onnx' | 'onnx-loop';
  chunkSize?: number;
  topK?: number;
  diagonal?: boolean;
  range?: [number, number];
  threads: number;
  provider?: 'cpu' | 'cuda';
  /** ONNX Runtime build: native (onnxruntime-node), wasm (onnxruntime-web) or auto (native, else wasm). */
  runtime?: RuntimeChoice;
  token?: CancelToken;
  onProgress?: ProgressFn;
  onNorms?: (start: number, sqNorms: Float64Array) => void;
}

export interface OnnxPartialResult extends PartialResult {
  runtime: RuntimeInfo;
  program: { mode: Program['mode']; B: number; nodes: number };
  /** The first (warm-up) run, not part of `seconds`. */
  warmSeconds: number;
}

/** A token id outside the embedding table: an error naming the data file and the example, before ORT sees it. */
export function checkTokenId(problem: EngineProblem, v: number, example: number): void {
  const t = problem.tokenIds;
  if (t && (v < 0 || v >= t.vocab)) throw new HeatcapError(problem.inputs.file, `example ${example}: token id ${v} is outside the embedding table's 0..${t.vocab - 1} (${t.where})`);
}

function readInputs(problem: EngineProblem, start: number, count: number, B: number): ConstTensor {
  const rs = problem.inputs.rowSize;
  const rowShape = problem.inputs.rowShape;
  const f = new Float32Array(B * rs);
  problem.inputs.readRows(start, count, f);
  for (let i = 0; i < count * rs; i++) {
    if (!Number.isFinite(f[i])) throw new HeatcapError(problem.inputs.file, `example ${start + Math.floor(i / rs)}: input value ${f[i]} is not finite`);
  }
  // Padding rows repeat the first example (weight 0: they change no statistic).
  for (let b = count; b < B; b++) f.copyWithin(b * rs, 0, rs);
  const dims = [B, ...rowShape];
  const dtype = problem.graph.input.dtype;
  if (dtype === 'int64' || dtype === 'int32') {
    const ids = dtype === 'int64' ? new BigInt64Array(f.length) : new Int32Array(f.length);
    for (let i = 0; i < f.length; i++) {
      const v = f[i];
      if (!Number.isInteger(v)) throw new HeatcapError(problem.inputs.file, `example ${start + Math.floor(i / rs)}: ${v} is not an integer token id (the model's input is ${dtype})`);
      checkTokenId(problem, v, start + Math.floor(i / rs));
      ids[i] = (dtype === 'int64' ? BigInt(v) : v) as never;
    }
    return { dims, dtype, data: ids };
  }
  return { dims, dtype: 'float32', data: f };
}

export function describeParams(problem: EngineProblem): ParamDescription[] {
  let offset = 0;
  return problem.graph.params.map((p) => {
    const size = p.tensor.dims.reduce((a, b) => a * b, 1);
    const d = { name: p.name, shape: p.tensor.dims, size, offset };
    offset += size;
    return d;
  });
}

/** Memory the program's intermediates may take (default 2 GiB; HEATCAP_ENGINE_MEMORY_MB overrides). */
export function memoryBudgetBytes(): number {
  const mb = Number(process.env.HEATCAP_ENGINE_MEMORY_MB);
  return (Number.isFinite(mb) && mb > 0 ? mb : 2048) * 2 ** 20;
}

/**
 * Bytes per example the program holds: every forward value that scales with the batch, about three
 * times over (the value, its cotangent, and the per-example forms built from them).
 */
function bytesPerExample(values: Map<string, ValueInfo>, B: number): number {
  let total = 0;
  for (const v of values.values()) {
    if (v.dims[0] !== B) continue;
    const width = v.dtype === 'float64' || v.dtype === 'int64' ? 8 : 4;
    total += (v.dims.reduce((a, b) => a * b, 1) / B) * width;
  }
  return 3 * total;
}

/** The batch an automatic batch size is probed at, and the most it grows to. */
const AUTO_FIRST_BATCH = 256;
const AUTO_MAX_BATCH = 4096;
/** Intermediates an automatic batch may hold (small models: one chunk for the whole set; fewer, larger runs). */
const AUTO_BATCH_BYTES = 256 * 2 ** 20;

/**
 * Builds the program for batch size B: vectorised where every weight has a per-example rule, else the
 * loop. With `autoFor` (the examples to cover; no batch size given) the batch grows from B up to
 * AUTO_MAX_BATCH while its intermediates stay under AUTO_BATCH_BYTES: small models pay ORT's per-node
 * and per-run costs once per thousands of examples rather than per 256 (measured on the digits MLP:
 * 1.7× less time in one chunk of 1797 than in chunks of 256).
 */
async function programFor(problem: EngineProblem, B: number, opts: OnnxGradOptions, notes: string[], autoFor?: number): Promise<Program> {
  const loop = async (why?: string) => {
    if (why) notes.push(`vectorised program not applicable (${why}): used the exact per-example loop (B = 1)`);
    const x1 = readInputs(problem, 0, 1, 1);
    return buildProgram({ graph: problem.graph, head: problem.head, values: await probeValues(problem.graph, x1, opts), B: 1, mode: 'loop', diagonal: opts.diagonal === true, penaltyGrads: problem.penaltyGrads });
  };
  if (opts.engine === 'onnx-loop') return loop();
  let x = readInputs(problem, 0, Math.min(B, problem.n), B);
  let values = await probeValues(problem.graph, x, opts);
  const perExample = bytesPerExample(values, B);
  const fit = Math.max(1, Math.floor(memoryBudgetBytes() / Math.max(1, perExample)));
  const grown = autoFor ? Math.min(autoFor, AUTO_MAX_BATCH, fit, Math.floor(AUTO_BATCH_BYTES / Math.max(1, perExample))) : B;
  if (grown > B) {
    B = grown;
    x = readInputs(problem, 0, Math.min(B, problem.n), B);
    values = await probeValues(problem.graph, x, opts);
  } else if (fit < B) {
    // A smaller batch whose intermediates fit; the statistics do not depend on it.
    const smaller = 2 ** Math.floor(Math.log2(fit));
    notes.push(`batch size ${smaller} instead of ${B}: the program's intermediates take ≈ ${(perExample / 2 ** 20).toFixed(1)} MiB per example and the memory budget is ${(memoryBudgetBytes() / 2 ** 20).toFixed(0)} MiB (HEATCAP_ENGINE_MEMORY_MB)`);
    B = smaller;
    x = readInputs(problem, 0, Math.min(B, problem.n), B);
    values = await probeValues(problem.graph, x, opts);
  }
  // At batch size 1 too, to see which axis carries the batch in every value (B = 1 would not tell).
  // A model exported with a fixed batch size cannot run at 1: then no check (as before it existed).
  const valuesAtOne = B > 1 ? await probeValues(problem.graph, readInputs(problem, 0, 1, 1), opts).catch(() => undefined) : undefined;
  try {
    return buildProgram({ graph: problem.graph, head: problem.head, values, B, mode: 'vectorized', diagonal: opts.diagonal === true, penaltyGrads: problem.penaltyGrads, valuesAtOne });
  } catch (e) {
    if (e instanceof NeedsLoop) return loop(e.message);
    throw e;
  }
}

export async function computeOnnxPartial(problem: EngineProblem, opts: OnnxGradOptions): Promise<OnnxPartialResult> {
  const [start, end] = opts.range ?? [0, problem.n];
  const topK = opts.topK ?? 20;
  const notes = [...problem.notes];
  const chunk = Math.max(1, Math.min(Math.floor(opts.chunkSize ?? AUTO_FIRST_BATCH), Math.max(1, end - start)));
  const program = await programFor(problem, chunk, opts, notes, opts.chunkSize === undefined ? end - start : undefined);
  const B = program.B;
  const { session, info, ort } = await createSession(program.bytes, { threads: opts.threads, provider: opts.provider, runtime: opts.runtime }, problem.graph.file);
  const params = describeParams(problem);
  const P = params.reduce((a, p) => a + p.size, 0);
  const partial = emptyPartial(P, params.length, opts.diagonal === true);
  const Tensor = ort.Tensor;
  const targetSize = problem.targets.size;
  const weights = new Float32Array(B);
  const feed = (s: number, count: number) => {
    const x = readInputs(problem, s, count, B);
    const y = new Float32Array(B * targetSize);
    y.set(problem.targets.read(s, count).subarray(0, count * targetSize));
    weights.fill(1, 0, count);
    weights.fill(0, count);
    return {
      [program.input]: new Tensor(x.dtype, x.data as Float32Array, x.dims),
      targets: new Tensor('float32', y, [B, ...problem.targetShape]),
      weights: new Tensor('float32', weights, [B]),
    };
  };
  // ORT plans its memory on the first run (≈10–15 ms for a small program): done here, before the clock
  // starts, so `seconds` is the steady-state cost the benchmarks compare.
  const warm = performance.now();
  await session.run(feed(start, Math.min(B, end - start)));
  const warmSeconds = (performance.now() - warm) / 1000;
  const t0 = performance.now();
  try {
    for (let s = start; s < end; s += B) {
      throwIfCancelled(opts.token);
      const count = Math.min(B, end - s);
      let res: Record<string, import('onnxruntime-node').Tensor>;
      try {
        res = await session.run(feed(s, count));
      } catch (e) {
        throw new HeatcapError(problem.graph.file, `ONNX Runtime failed on examples ${s}–${s + count - 1}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
      }
      const lossData = res[program.outputs.loss].data as Float64Array;
      const losses = new Float64Array(count);
      for (let b = 0; b < count; b++) losses[b] = lossData[b] + problem.penaltyValue;
      const perWeightSq = program.outputs.sq.map((n) => (res[n].data as Float32Array).subarray(0, count));
      const norms = new Float64Array(count);
      addExamples(partial, s, losses, perWeightSq, topK, norms);
      params.forEach((p, i) => {
        const sum = res[program.outputs.sum[i]].data as Float32Array;
        for (let k = 0; k < p.size; k++) partial.hSum[p.offset + k] += sum[k];
        if (partial.hSqSum && program.outputs.sumSq) {
          const sq = res[program.outputs.sumSq[i]].data as Float32Array;
          for (let k = 0; k < p.size; k++) partial.hSqSum[p.offset + k] += sq[k];
        }
      });
      opts.onNorms?.(s, norms);
      opts.onProgress?.({ fraction: (s + count - start) / Math.max(1, end - start), message: `${s + count - start}/${end - start} examples` });
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await session.release();
  }
  const penaltyGrad = new Float64Array(P);
  problem.penaltyGrads.forEach((r, i) => r && penaltyGrad.set(r, params[i].offset));
  notes.push(`per-example forms: ${params.map((p, i) => `${p.name}: ${program.forms[i]}`).join('; ')}`);
  if (info.fallback) notes.push(info.fallback);
  notes.push(`ran on ${info.runtime} (${info.provider}, ${info.threads} thread${info.threads === 1 ? '' : 's'}), gradient program of ${program.nodeCount} nodes at batch ${B}`);
  return {
    partial,
    penaltyGrad,
    params,
    engine: program.mode === 'loop' ? 'onnx-loop' : 'onnx',
    backend: `onnxruntime-${info.provider}`,
    notes,
    seconds: (performance.now() - t0) / 1000,
    runtime: info,
    program: { mode: program.mode, B, nodes: program.nodeCount },
    warmSeconds,
  };
}
