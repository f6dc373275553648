/**
 * The `gradnorms` worker job on the ONNX engine: open any supported model file as an engine graph, build
 * its gradient program and run it over one range of examples in ONNX Runtime (this worker thread's
 * session.run blocks only this thread). TF.js' exact per-example loop (src/core/gradnorm/job-handler.ts)
 * is the fallback for model.json files the engine graph cannot express, with a note.
 */
import { isHeatcapError } from '../errors';
import type { GradNormJobResult, GradNormRequest } from '../gradnorm/job';
import type { JobContext } from '../worker/job-context';
import { computeOnnxPartial } from './compute';
import { openEngineProblem } from './problem';

export async function runOnnxGradNormJob(req: GradNormRequest, ctx: JobContext<'gradnorms'>): Promise<GradNormJobResult> {
  const t0 = performance.now();
  const problem = await openEngineProblem({ model: req.model, data: req.data, loss: req.loss, labelSmoothing: req.labelSmoothing, semantics: req.semantics, frozen: req.frozen });
  try {
    const loadSeconds = (performance.now() - t0) / 1000;
    const r = await computeOnnxPartial(problem, {
      engine: req.engine === 'onnx-loop' ? 'onnx-loop' : 'onnx',
      chunkSize: req.chunkSize,
      topK: req.topK,
      diagonal: req.diagonal,
      range: req.range,
      threads: req.threads ?? 1,
      provider: req.provider,
      runtime: req.runtime,
      token: ctx.token,
      onProgress: ctx.progress,
      onNorms: req.streamNorms ? (start, sqNorms) => ctx.emit({ start, sqNorms }, [sqNorms.buffer as ArrayBuffer]) : undefined,
    });
    // Building the program, creating the session and its warm-up run count as loading, not as `seconds`.
    const setup = (performance.now() - t0) / 1000 - r.seconds;
    return { ...r, backendInfo: { name: 'cpu', note: `${r.runtime.runtime} (${r.runtime.provider}, ${r.runtime.threads} thread(s))` }, loadSeconds: Math.max(loadSeconds, setup), n: problem.n, modelFacts: problem.graph.facts };
  } finally {
    problem.close();
  }
}

/** Whether an `auto` request on a model.json may fall back to TF.js' per-example loop after this error. */
export function tfjsFallbackApplies(req: GradNormRequest, e: unknown): boolean {
  return req.engine === 'auto' && /\.json$/i.test(req.model) && isHeatcapError(e) && /not supported by the engine graph|has no gradient rule|ONNX Runtime rejected|could not be loaded on this platform/.test((e as Error).message);
}
