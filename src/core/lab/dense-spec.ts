import * as tf from '@tensorflow/tfjs';
import type { LossSpec } from '../gradnorm/loss';
import { layerGraph, type AnyLayer } from '../gradnorm/layer-graph';
import { weightPenalty } from '../gradnorm/regularizers';
import type { ParamInfo } from '../model/params';
import { DENSE_ACTIVATIONS, type DenseActivation, type DenseLayerSpec, type DenseNetSpec, type PenaltySpec } from './dense-f64';

/** Layers that pass their input through unchanged in inference mode (the lab trains without dropout). */
const IDENTITY_LAYERS = new Set(['Dropout', 'GaussianDropout', 'AlphaDropout', 'GaussianNoise']);

/**
 * Describes a model for the float64 fast path (dense-f64.ts), or says why it cannot take it: the model
 * must be a chain from a flat input (one example = one vector) through Dense layers with activations the
 * fast path implements (plus Activation layers and dropout-like layers, identities in inference mode),
 * with every Dense weight trainable and any regulariser an L1/L2 (read exactly as the gradient engine
 * reads it, gradnorm/regularizers.ts).
 */
export function denseNetSpec(model: tf.LayersModel, params: ParamInfo[], loss: LossSpec): DenseNetSpec | { reason: string } {
  const inShape = model.inputs[0].shape;
  if (inShape.length !== 2 || inShape[1] === null) return { reason: `input shape (${inShape.join(', ')}) is not a flat vector per example` };
  const plan = layerGraph(model);
  if (plan.irregular.length) return { reason: plan.irregular[0] };
  const layers: DenseLayerSpec[] = [];
  const penalties: PenaltySpec[] = [];
  let current = plan.inputId;
  let width = inShape[1];
  const byVariable = new Map(params.map((p) => [p.variable, p]));
  for (const step of plan.steps) {
    const layer: AnyLayer = step.layer;
    const cls = layer.getClassName();
    if (step.inputIds.length !== 1 || step.inputIds[0] !== current || step.outputIds.length !== 1) return { reason: `layer '${layer.name}' is not part of a simple chain` };
    current = step.outputIds[0];
    if (IDENTITY_LAYERS.has(cls)) continue;
    const cfg = layer.getConfig() as Record<string, unknown>;
    const act = String(cfg.activation ?? 'linear') as DenseActivation;
    if (!DENSE_ACTIVATIONS.includes(act)) return { reason: `layer '${layer.name}' uses activation '${act}'` };
    if (cls === 'Activation') {
      if (layers.length === 0) return { reason: `Activation '${layer.name}' before any Dense layer` };
      const last = layers[layers.length - 1];
      if (last.activation !== 'linear') return { reason: `Activation '${layer.name}' follows a non-linear activation` };
      last.activation = act;
      continue;
    }
    if (cls !== 'Dense') return { reason: `${cls} '${layer.name}'` };
    if (layer.nonTrainableWeights.length > 0) return { reason: `Dense '${layer.name}' has frozen weights` };
    const [kernel, bias] = layer.trainableWeights.map((w) => byVariable.get(w));
    const units = Number(cfg.units);
    if (!kernel || kernel.shape.join() !== `${width},${units}`) return { reason: `Dense '${layer.name}' kernel is not [${width}, ${units}]` };
    if (cfg.useBias !== false && (!bias || bias.size !== units)) return { reason: `Dense '${layer.name}' bias is missing` };
    layers.push({ inDim: width, outDim: units, kernelOffset: kernel.offset, biasOffset: bias ? bias.offset : -1, activation: act });
    for (const p of [kernel, bias]) {
      if (!p) continue;
      const pen = weightPenalty(layer, p.name);
      if (pen) penalties.push({ offset: p.offset, size: p.size, l1: pen.l1, l2: pen.l2 });
    }
    width = units;
  }
  if (current !== plan.outputId || layers.length === 0) return { reason: 'the chain does not end at the model output' };
  return { layers, penalties, loss: { kind: loss.kind, fromLogits: loss.fromLogits }, paramCount: params.reduce((a, p) => a + p.size, 0) };
}
