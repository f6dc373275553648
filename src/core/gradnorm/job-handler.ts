import { initBackend } from '../tf/backend';
import type { JobHandler } from '../worker/job-context';
import { computePartial } from './engine';
import { openGradProblem } from './problem';

/**
 * The `gradnorms` worker job: initialise the backend in this thread, load model and data, and compute
 * one range's partial statistics, streaming per-example norms back when asked.
 */
export const runGradNormJob: JobHandler<'gradnorms'> = async (req, ctx) => {
  const backendInfo = await initBackend(req.backend);
  const t0 = performance.now();
  const problem = await openGradProblem({ model: req.model, data: req.data, loss: req.loss });
  try {
    const loadSeconds = (performance.now() - t0) / 1000;
    const partial = await computePartial(problem, {
      engine: req.engine,
      chunkSize: req.chunkSize,
      topK: req.topK,
      diagonal: req.diagonal,
      range: req.range,
      token: ctx.token,
      onProgress: ctx.progress,
      onNorms: req.streamNorms ? (start, sqNorms) => ctx.emit({ start, sqNorms }, [sqNorms.buffer as ArrayBuffer]) : undefined,
    });
    if (backendInfo.note) partial.notes.unshift(`backend: ${backendInfo.note}`);
    return { ...partial, backendInfo, loadSeconds, n: problem.n };
  } finally {
    problem.close();
  }
};
