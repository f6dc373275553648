import type * as tf from '@tensorflow/tfjs';
import type { GradNormSummary } from '../result/schema';
import type { GradStats } from './stats';

/** The result schema's `gradnorms` block (snake_case; non-finite numbers cannot occur in these sums). */
export function toGradNormSummary(stats: GradStats, model: string, data: string): GradNormSummary {
  return {
    n: stats.n,
    mean_loss: stats.meanLoss,
    mean_sq_norm: stats.meanSqNorm,
    mean_grad_sq_norm: stats.meanGradSqNorm,
    trace_cov: stats.traceCov,
    per_weight: stats.perWeight.map((w) => ({ name: w.name, mean_sq_norm: w.meanSqNorm, size: w.size })),
    top: stats.top.map((t) => ({ index: t.index, sq_norm: t.sqNorm })),
    histogram: { log10_edges: stats.histogram.log10Edges, counts: stats.histogram.counts, zeros: stats.histogram.zeros },
    backend: stats.backend,
    engine: stats.engine,
    seconds: stats.seconds,
    model,
    data,
  };
}

/** Facts about a model that change the prediction (THEORY.md §2): BatchNorm layers, weight penalties. */
export function modelFacts(model: tf.LayersModel): { hasBatchNorm: boolean; hasRegularizers: boolean } {
  let hasBatchNorm = false;
  let hasRegularizers = false;
  const visit = (layers: tf.layers.Layer[]) => {
    for (const l of layers) {
      const sub = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (Array.isArray(sub)) visit(sub);
      if (l.getClassName() === 'BatchNormalization') hasBatchNorm = true;
      const cfg = l.getConfig() as Record<string, unknown>;
      for (const [k, v] of Object.entries(cfg)) if (k.endsWith('Regularizer') && k !== 'activityRegularizer' && v) hasRegularizers = true;
    }
  };
  visit(model.layers);
  return { hasBatchNorm, hasRegularizers };
}
