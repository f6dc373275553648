import type * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../errors';

/** An L1/L2 weight penalty R(w) = l1·Σ|w| + l2·Σw² (tfjs `L1L2`, Keras `L1`, `L2`, `L1L2`). */
export interface L1L2 {
  l1: number;
  l2: number;
}

/** The config key holding the regulariser of a weight, from the weight's last name part. */
function configKey(weightName: string): string {
  const last = weightName.split('/').pop() ?? weightName;
  // Keras names: kernel, bias, embeddings, gamma, beta, depthwise_kernel, …; strip tfjs "_1" suffixes.
  const base = last.replace(/_\d+$/, '').replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return `${base}Regularizer`;
}

/**
 * The L1/L2 penalty on one trainable weight of a layer, read from the layer's config. The per-example
 * loss includes it (THEORY.md notation: ℓ_b includes any regulariser the optimiser steps on), so its
 * gradient r = l1·sign(w) + 2·l2·w is part of every g_b. Unknown regularisers are an error.
 */
export function weightPenalty(layer: tf.layers.Layer, weightName: string): L1L2 | undefined {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const reg = cfg[configKey(weightName)] as { className?: string; config?: Record<string, unknown> } | null | undefined;
  if (!reg) return undefined;
  if (reg.className !== 'L1L2') {
    throw new HeatcapError(undefined, `layer '${layer.name}': regulariser ${String(reg.className)} is not supported (only L1, L2, L1L2)`);
  }
  const l1 = Number(reg.config?.l1 ?? 0);
  const l2 = Number(reg.config?.l2 ?? 0);
  if (!Number.isFinite(l1) || !Number.isFinite(l2)) throw new HeatcapError(undefined, `layer '${layer.name}': regulariser has non-finite factors`);
  return l1 === 0 && l2 === 0 ? undefined : { l1, l2 };
}

/** R(w) = l1·Σ|w| + l2·Σw², accumulated in float64. */
export function penaltyValue(p: L1L2, w: ArrayLike<number>): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < w.length; i++) {
    s1 += Math.abs(w[i]);
    s2 += w[i] * w[i];
  }
  return p.l1 * s1 + p.l2 * s2;
}
