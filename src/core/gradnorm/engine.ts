import * as tf from '@tensorflow/tfjs';
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { HeatcapError } from '../errors';
import { paramCount } from '../model/params';
import { currentBackend } from '../tf/backend';
import { layerGraph } from './layer-graph';
import { naiveChunk, type ChunkResult } from './naive';
import { penaltyOf } from './penalty';
import type { GradProblem } from './problem';
import { addExamples, emptyPartial, finalize, type EngineName, type GradStats, type ParamDescription, type PartialStats } from './stats';

/**
 * Options of the TensorFlow.js engine: the exact per-example loop (naive.ts), the fallback for a
 * model.json whose graph the ONNX engine cannot express (and `--engine naive`).
 */
export interface GradOptions {
  /** Examples per chunk (default 256): read, checked and reported together. */
  chunkSize?: number;
  /** How many largest-norm examples to keep (default 20). */
  topK?: number;
  /** Also accumulate E_b g_b,i² per parameter (THEORY.md §2, Adam). Default false. */
  diagonal?: boolean;
  /** Only examples [start, end) (a worker's share). Default: all. */
  range?: [number, number];
  token?: CancelToken;
  onProgress?: ProgressFn;
  /** Receives every example's ‖g_b‖², chunk by chunk, in input order within the range. */
  onNorms?: (start: number, sqNorms: Float64Array) => void;
}

/** A range's result before merging: what a worker sends back. */
export interface PartialResult {
  partial: PartialStats;
  /** The penalty gradient r (flattened parameter order), needed by finalize. */
  penaltyGrad: Float64Array;
  params: ParamDescription[];
  engine: EngineName;
  backend: string;
  notes: string[];
  seconds: number;
}

function isMissingKernel(e: unknown): boolean {
  return e instanceof Error && /kernel .*not registered|not registered for backend|not yet implemented/i.test(e.message);
}

function checkFinite(x: Float32Array, count: number, start: number, rowSize: number, file: string): void {
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(x[i])) throw new HeatcapError(file, `example ${start + Math.floor(i / rowSize)}: input value ${x[i]} is not finite`);
  }
}

/** Token ids fed to an Embedding must be integers in [0, inputDim) (tfjs' gather would throw or read garbage). */
function checkIds(x: Float32Array, count: number, start: number, rowSize: number, file: string, e: { layer: string; inputDim: number }): void {
  for (let i = 0; i < count; i++) {
    const v = x[i];
    if (!(Number.isInteger(v) && v >= 0 && v < e.inputDim)) {
      throw new HeatcapError(file, `example ${start + Math.floor(i / rowSize)}: token id ${v} is outside embedding '${e.layer}' (0..${e.inputDim - 1})`);
    }
  }
}

export function describeParams(problem: GradProblem): ParamDescription[] {
  return problem.params.map(({ name, shape, size, offset }) => ({ name, shape, size, offset }));
}

/**
 * Per-example gradient statistics over a range of the training set, chunk by chunk (memory bounded
 * independently of N). Yields to the event loop between chunks so cancellation and progress messages
 * get through when it runs inside a worker.
 */
export async function computePartial(problem: GradProblem, opts: GradOptions = {}): Promise<PartialResult> {
  const [start, end] = opts.range ?? [0, problem.n];
  const chunk = Math.max(1, Math.floor(opts.chunkSize ?? 256));
  const topK = opts.topK ?? 20;
  const want = { sum: true, sumSq: opts.diagonal === true };
  const { idInputs } = layerGraph(problem.model);
  const notes = [...problem.notes];
  const penalty = penaltyOf(problem.model, problem.params);
  if (penalty > 0) notes.push(`weight penalties included in every ℓ_b (R(Φ) = ${penalty.toPrecision(6)})`);
  const P = paramCount(problem.params);
  const partial = emptyPartial(P, problem.params.length, want.sumSq);
  const x = new Float32Array(chunk * problem.inputs.rowSize);
  const originalBackend = tf.getBackend();
  let ranOn = currentBackend();
  const t0 = performance.now();
  try {
    for (let s = start; s < end; s += chunk) {
      throwIfCancelled(opts.token);
      const B = Math.min(chunk, end - s);
      problem.inputs.readRows(s, B, x);
      checkFinite(x, B * problem.inputs.rowSize, s, problem.inputs.rowSize, problem.inputs.file);
      for (const e of idInputs) checkIds(x, B * problem.inputs.rowSize, s, problem.inputs.rowSize, problem.inputs.file, e);
      const y = problem.targets.read(s, B);
      let res: ChunkResult;
      try {
        res = naiveChunk(problem, x, y, B, want);
      } catch (e) {
        if (!isMissingKernel(e) || currentBackend() === 'cpu') throw e;
        // wasm lacks some gradient kernels (Conv2DBackpropFilter, UnsortedSegmentSum; PERFORMANCE-NOTES.md).
        notes.push(`the ${currentBackend()} backend lacks a kernel this model needs (${(e as Error).message.split('\n')[0]}): continued on the cpu backend`);
        await tf.setBackend('cpu');
        ranOn = 'cpu';
        res = naiveChunk(problem, x, y, B, want);
      }
      const norms = new Float64Array(B);
      addExamples(partial, s, res.losses, res.perWeightSq, topK, norms);
      problem.params.forEach((p, i) => {
        const sum = res.sums[i];
        const sumSq = res.sumSqs[i];
        if (sum) for (let k = 0; k < p.size; k++) partial.hSum[p.offset + k] += sum[k];
        if (sumSq && partial.hSqSum) for (let k = 0; k < p.size; k++) partial.hSqSum[p.offset + k] += sumSq[k];
      });
      opts.onNorms?.(s, norms);
      opts.onProgress?.({ fraction: (s + B - start) / Math.max(1, end - start), message: `${s + B - start}/${end - start} examples` });
      // Let queued messages (cancel, progress) through between chunks.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    // A fallback to cpu is for this computation only.
    if (tf.getBackend() !== originalBackend) await tf.setBackend(originalBackend);
  }
  // g_b from the loop already includes the penalty gradient r, so finalize must not add it again.
  const engine: EngineName = 'naive';
  return { partial, penaltyGrad: new Float64Array(P), params: describeParams(problem), engine, backend: ranOn, notes, seconds: (performance.now() - t0) / 1000 };
}

/** Finalises one or several partial results (same problem, disjoint ranges) into the statistics. */
export function finishStats(parts: PartialResult[], merged: PartialStats, seconds: number): GradStats {
  const p0 = parts[0];
  const notes = [...new Set(parts.flatMap((p) => p.notes))];
  return finalize(merged, p0.penaltyGrad, p0.params, { backend: p0.backend, engine: p0.engine, seconds, notes });
}

/** Per-example gradient statistics of the whole training set, in this thread. */
export async function computeGradStats(problem: GradProblem, opts: GradOptions = {}): Promise<GradStats> {
  const r = await computePartial(problem, opts);
  return finishStats([r], r.partial, r.seconds);
}
