import * as tf from '@tensorflow/tfjs';
import { fromPerExample } from './contrib';
import type { ForwardHooks, LayerRule, Want, WeightResult } from './types';

function axesOf(v: unknown, rank: number): number[] {
  const list = Array.isArray(v) ? v.map(Number) : [v === undefined ? -1 : Number(v)];
  return list.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

/**
 * γ and β of an affine normalisation z = x̂·γ + β: per example, ∇γ = Σ x̂∘δ and ∇β = Σ δ over the
 * axes γ does not span (batch excluded) — cheap to materialise (PERFORMANCE-NOTES.md).
 */
function affineResults(xhat: tf.Tensor, delta: tf.Tensor, axes: number[], scale: boolean, center: boolean, r: (tf.Tensor | undefined)[], want: Want): WeightResult[] {
  const B = delta.shape[0];
  const others = delta.shape.map((_, i) => i).filter((i) => i !== 0 && !axes.includes(i));
  const reduce = (t: tf.Tensor) => (others.length ? tf.sum(t, others) : t).reshape([B, -1]);
  const out: WeightResult[] = [];
  let k = 0;
  if (scale) out.push(fromPerExample(reduce(tf.mul(xhat, delta)), r[k++], want));
  if (center) out.push(fromPerExample(reduce(delta), r[k++], want));
  return out;
}

function broadcastShape(shape: number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? d : 1));
}

/**
 * LayerNormalization: x̂ = (x − μ)/√(σ² + ε) with per-example moments over `axis` (as tfjs computes
 * it), z = x̂·γ + β.
 */
export function layerNormRule(config: Record<string, unknown>): LayerRule {
  const eps = Number(config.epsilon ?? 1e-3);
  const scale = config.scale !== false;
  const center = config.center !== false;
  return {
    forward([x], weights, hooks: ForwardHooks) {
      const axes = axesOf(config.axis, x.rank);
      const { mean, variance } = tf.moments(x, axes, true);
      const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
      hooks.save(xhat);
      const bshape = broadcastShape(x.shape, axes);
      return hooks.tap(applyAffine(xhat, weights, bshape, scale, center));
    },
    contributions([xhat], delta, _w, r, want) {
      return affineResults(xhat, delta, axesOf(config.axis, xhat.rank), scale, center, r, want);
    },
    describe: () => 'layer normalisation: materialised γ, β',
  };
}

/** z = x̂·γ + β with whichever of γ (scale) and β (center) the layer has, in Keras' weight order. */
function applyAffine(xhat: tf.Tensor, weights: tf.Tensor[], bshape: number[], scale: boolean, center: boolean): tf.Tensor {
  let z: tf.Tensor = xhat;
  let k = 0;
  if (scale) z = tf.mul(z, weights[k++].reshape(bshape));
  if (center) z = tf.add(z, weights[k++].reshape(bshape));
  return z;
}

/**
 * BatchNormalization in inference mode: x̂ = (x − moving mean)/√(moving variance + ε), z = x̂·γ + β.
 * Per-example gradients exist only in this mode (training-mode batch statistics couple the examples).
 */
export function batchNormRule(config: Record<string, unknown>, moving: { mean: tf.Tensor; variance: tf.Tensor }): LayerRule {
  const eps = Number(config.epsilon ?? 1e-3);
  const scale = config.scale !== false;
  const center = config.center !== false;
  return {
    forward([x], weights, hooks: ForwardHooks) {
      const axes = axesOf(config.axis, x.rank);
      const bshape = broadcastShape(x.shape, axes);
      const xhat = tf.mul(tf.sub(x, moving.mean.reshape(bshape)), tf.rsqrt(tf.add(moving.variance.reshape(bshape), eps)));
      hooks.save(xhat);
      return hooks.tap(applyAffine(xhat, weights, bshape, scale, center));
    },
    contributions([xhat], delta, _w, r, want) {
      return affineResults(xhat, delta, axesOf(config.axis, xhat.rank), scale, center, r, want);
    },
    describe: () => 'batch normalisation (inference): materialised γ, β',
  };
}
