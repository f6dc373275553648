import { availableParallelism } from 'node:os';
import { CancelSource, type CancelToken, type ProgressFn } from '../cancel';
import { openTrainingArrays } from '../data/open';
import { NpyWriter } from '../data/npy';
import { runInWorker } from '../worker/host';
import { runInThisThread } from '../worker/in-thread';
import { resolveEngine, type GradNormJobResult, type GradNormRequest, type ModelFacts } from './job';
import { finishStats } from './engine';
import { mergePartials, type GradStats } from './stats';

export interface GradNormRunOptions extends Omit<GradNormRequest, 'range' | 'streamNorms'> {
  /**
   * Worker threads: a number (0 = run in this thread), or `auto` (default). The ONNX engine runs one
   * worker whatever the number (its session is multi-threaded: see `threads`).
   */
  workers?: number | 'auto';
  /** Write every example's ‖g_b‖² as a float64 `.npy` here, in input order. */
  perExamplePath?: string;
  token?: CancelToken;
  onProgress?: ProgressFn;
}

export interface GradNormRun extends GradStats {
  workers: number;
  modelFacts: ModelFacts;
  /** Model and data loading time in the slowest worker (not part of `seconds`). */
  loadSeconds: number;
}

/** Below this many examples one worker is faster than paying a second start-up (tfjs + wasm + model). */
export const PARALLEL_MIN_EXAMPLES = 8192;

export function autoWorkers(n: number): number {
  return n < PARALLEL_MIN_EXAMPLES ? 1 : Math.max(1, Math.min(availableParallelism(), 4));
}

/** Contiguous ranges aligned to the chunk size, so every worker runs full chunks but the last. */
export function splitRanges(n: number, parts: number, chunk: number): [number, number][] {
  const chunks = Math.ceil(n / chunk);
  const k = Math.max(1, Math.min(parts, chunks));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) {
    const a = Math.floor((chunks * i) / k) * chunk;
    const b = Math.min(n, Math.floor((chunks * (i + 1)) / k) * chunk);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/**
 * Per-example gradient statistics of a training set, split over worker threads (one tfjs instance
 * each: the wasm backend is single-threaded in Node, PERFORMANCE-NOTES.md pitfall 4). Each worker
 * loads the model and reads only its own range of rows; partial sums are merged exactly. `seconds` is
 * the compute phase (the slowest worker's engine time), without start-up and loading.
 */
export async function runGradNorms(opts: GradNormRunOptions): Promise<GradNormRun> {
  const arrays = openTrainingArrays(opts.data);
  const n = arrays.inputs.n;
  arrays.close();
  const chunk = opts.chunkSize ?? 256;
  const topK = opts.topK ?? 20;
  const { engine, note } = resolveEngine(opts.engine);
  const onnx = engine !== 'naive';
  const auto = opts.workers === undefined || opts.workers === 'auto';
  // ONNX Runtime threads inside one session; the TF.js per-example loop (single-threaded wasm) splits examples over workers.
  const wanted = onnx ? (opts.workers === 0 ? 0 : 1) : auto ? autoWorkers(n) : (opts.workers as number);
  const threads = opts.threads ?? Math.max(1, Math.min(availableParallelism(), 8));
  const ranges = splitRanges(n, Math.max(1, wanted), chunk);
  const writer = opts.perExamplePath ? new NpyWriter(opts.perExamplePath, n) : undefined;
  const done = ranges.map(() => 0);
  // One worker failing (or the caller cancelling) stops the others.
  const stop = new CancelSource();
  const sub = opts.token?.onCancellationRequested?.(() => stop.cancel());
  const poll = opts.token && !opts.token.onCancellationRequested ? setInterval(() => opts.token!.isCancellationRequested && stop.cancel(), 50) : undefined;
  if (opts.token?.isCancellationRequested) stop.cancel();
  try {
    const jobs = ranges.map((range, i) => {
      const request: GradNormRequest = {
        model: opts.model,
        data: opts.data,
        loss: opts.loss,
        backend: opts.backend,
        engine,
        threads,
        provider: opts.provider,
        runtime: opts.runtime,
        semantics: opts.semantics,
        labelSmoothing: opts.labelSmoothing,
        frozen: opts.frozen,
        range,
        // The ONNX engine picks its batch from the model's sizes unless one is given.
        chunkSize: onnx ? opts.chunkSize : chunk,
        topK,
        diagonal: opts.diagonal,
        streamNorms: writer !== undefined,
      };
      const run = wanted === 0 ? runInThisThread : runInWorker;
      return run(
        { kind: 'gradnorms', request },
        {
          token: stop.token,
          onEvent: (ev) => writer?.write(ev.start, ev.sqNorms),
          onProgress: (p) => {
            done[i] = (p.fraction ?? 0) * (range[1] - range[0]);
            opts.onProgress?.({ fraction: done.reduce((a, b) => a + b, 0) / n, message: `${Math.round(done.reduce((a, b) => a + b, 0))}/${n} examples` });
          },
        },
      ).catch((e: unknown) => {
        stop.cancel();
        throw e;
      });
    });
    const parts: GradNormJobResult[] = await Promise.all(jobs);
    const merged = mergePartials(
      parts.map((p) => p.partial),
      topK,
    );
    const seconds = Math.max(...parts.map((p) => p.seconds));
    const stats = finishStats(parts, merged, seconds);
    if (note) stats.notes.unshift(note);
    return { ...stats, workers: wanted === 0 ? 0 : ranges.length, loadSeconds: Math.max(...parts.map((p) => p.loadSeconds)), modelFacts: parts[0].modelFacts };
  } finally {
    sub?.dispose();
    if (poll) clearInterval(poll);
    writer?.close();
  }
}
