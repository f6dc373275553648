import * as tf from '@tensorflow/tfjs';
import type { ParamInfo } from '../model/params';
import { conv2dRule } from './rules/conv2d';
import { denseRule } from './rules/dense';
import { embeddingRule } from './rules/embedding';
import { batchNormRule, layerNormRule } from './rules/normalization';
import { poolShortcuts } from './pool-shortcuts';
import { fastMaxPool } from './rules/pooling';
import type { ForwardHooks, LayerRule } from './rules/types';

/** One application of a layer in the model graph. */
export interface PlanStep {
  layer: tf.layers.Layer;
  inputIds: number[];
  outputIds: number[];
  /** Set for layers with trainable weights; absent for layers applied as they are (Flatten, Dropout, …). */
  trainable?: {
    index: number;
    rule: LayerRule;
    /** Indices into the problem's params of the layer's trainable weights, in the layer's order. */
    params: number[];
    /** Whether an earlier trainable layer feeds this one (else ∂L/∂input is never needed). */
    inputNeedsGrad: boolean;
    /** Whether the only consumer, a max pool, hands back δ itself (relu′ folded into its routing). */
    dyIsDelta: boolean;
    /** The output rows and columns the only consumer (a max pool) reads, from the output's size. */
    readExtent?: (rows: number, cols: number) => [number, number];
  };
  /** A replacement with a faster backward on wasm, for layers without weights (max pooling). */
  fastApply?: (x: tf.Tensor, hold: <T extends tf.Tensor>(t: T) => T) => tf.Tensor;
}

/** The model as a list of steps the vectorised engine can run, or the reasons it cannot. */
export interface Plan {
  steps: PlanStep[];
  inputId: number;
  outputId: number;
  trainableCount: number;
  /** Embedding tables read straight from the model input: its values must be token ids below inputDim. */
  idInputs: { layer: string; inputDim: number }[];
  /** Why the vectorised engine cannot handle this model (empty when it can). */
  unsupported: string[];
}

type AnyLayer = tf.layers.Layer & { getClassName(): string };

/** Builds the vectorised rule of a layer with trainable weights, or says why there is none. */
function ruleFor(layer: AnyLayer): LayerRule | string {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  switch (cls) {
    case 'Dense':
      return denseRule(cfg);
    case 'Conv2D':
      if (cfg.dataFormat === 'channelsFirst') return `Conv2D '${layer.name}' uses channels_first`;
      return conv2dRule(cfg);
    case 'Embedding':
      if (cfg.maskZero === true) return `Embedding '${layer.name}' has mask_zero=True (masked losses are not supported)`;
      return embeddingRule(cfg, layer.name);
    case 'LayerNormalization':
      return layerNormRule(cfg);
    case 'BatchNormalization': {
      const [mean, variance] = layer.nonTrainableWeights.map((w) => w.read());
      if (!mean || !variance) return `BatchNormalization '${layer.name}' has no moving statistics`;
      return batchNormRule(cfg, { mean, variance });
    }
    default:
      return `${cls} '${layer.name}' has trainable weights and no vectorised rule`;
  }
}

/**
 * Walks the model's graph (Sequential or functional) in topological order. Layers with trainable
 * weights get their vectorised rule; a layer used twice (shared weights), a nested model with
 * trainable weights or a layer type without a rule makes the whole model unsupported.
 */
export function buildPlan(model: tf.LayersModel, params: ParamInfo[]): Plan {
  const unsupported: string[] = [];
  const byVariable = new Map(params.map((p, i) => [p.variable, i]));
  const nodes: { layer: AnyLayer; inputIds: number[]; outputIds: number[] }[] = [];
  const produced = new Set<number>([model.inputs[0].id]);
  const pending: typeof nodes = [];
  for (const layer of model.layers as AnyLayer[]) {
    if (layer.getClassName() === 'InputLayer') continue;
    const own = layer.inboundNodes.filter((n) => n.outputTensors.some((t) => t.id !== undefined));
    if (layer.trainableWeights.length > 0 && own.length > 1) unsupported.push(`layer '${layer.name}' is applied ${own.length} times (shared weights)`);
    for (const n of own) pending.push({ layer, inputIds: n.inputTensors.map((t) => t.id), outputIds: n.outputTensors.map((t) => t.id) });
  }
  // Kahn-style ordering over tensor ids (model.layers is already sorted by depth; this makes sure).
  while (pending.length) {
    const k = pending.findIndex((n) => n.inputIds.every((id) => produced.has(id)));
    if (k < 0) break;
    const [n] = pending.splice(k, 1);
    n.outputIds.forEach((id) => produced.add(id));
    nodes.push(n);
  }
  const outputId = model.outputs[0].id;
  if (!produced.has(outputId)) unsupported.push('the model graph could not be ordered from its input to its output');
  let trainableCount = 0;
  // Tensors that depend on some trainable layer's output: only they need gradients.
  const downstream = new Set<number>();
  const built: PlanStep[] = nodes.map((n) => {
    const inputDown = n.inputIds.some((id) => downstream.has(id));
    if (inputDown || n.layer.trainableWeights.length > 0) n.outputIds.forEach((id) => downstream.add(id));
    if (n.layer.trainableWeights.length === 0) {
      const fastApply = n.layer.getClassName() === 'MaxPooling2D' ? fastMaxPool(n.layer.getConfig() as Record<string, unknown>) : undefined;
      return fastApply ? { ...n, fastApply } : n;
    }
    if (n.layer instanceof tf.LayersModel) {
      unsupported.push(`nested model '${n.layer.name}' has trainable weights`);
      return n;
    }
    const rule = ruleFor(n.layer);
    if (typeof rule === 'string') {
      unsupported.push(rule);
      return n;
    }
    const idx = n.layer.trainableWeights.map((w) => byVariable.get(w));
    if (idx.some((i) => i === undefined)) {
      unsupported.push(`layer '${n.layer.name}' has weights outside the model's trainable list`);
      return n;
    }
    return { ...n, trainable: { index: trainableCount++, rule, params: idx as number[], inputNeedsGrad: inputDown, dyIsDelta: false } };
  });
  const steps = poolShortcuts(built, outputId);
  const idInputs = steps
    .filter((s) => s.layer.getClassName() === 'Embedding' && s.inputIds.includes(model.inputs[0].id))
    .map((s) => ({ layer: s.layer.name, inputDim: Number((s.layer.getConfig() as { inputDim: number }).inputDim) }));
  return { steps, inputId: model.inputs[0].id, outputId, trainableCount, idInputs, unsupported };
}

export interface RunHooks {
  /** The weight tensors of a trainable step (the layer's own variables). */
  weights(step: PlanStep): tf.Tensor[];
  /** The per-layer hooks of a trainable step (see rules/types.ts). */
  layer(trainableIndex: number, info: Pick<ForwardHooks, 'inputNeedsGrad' | 'dyIsDelta' | 'readExtent'>): ForwardHooks;
  /** Keeps a tensor alive until the chunk is done (custom backwards of fast steps). */
  hold<T extends tf.Tensor>(t: T): T;
}

/** Runs the forward pass of a plan on a batch: trainable layers through their rules, others as they are. */
export function runPlan(plan: Plan, x: tf.Tensor, hooks: RunHooks): tf.Tensor {
  const values = new Map<number, tf.Tensor>([[plan.inputId, x]]);
  for (const step of plan.steps) {
    const ins = step.inputIds.map((id) => values.get(id)!);
    let outs: tf.Tensor | tf.Tensor[];
    if (step.trainable) {
      const { index, inputNeedsGrad, dyIsDelta, readExtent } = step.trainable;
      outs = step.trainable.rule.forward(ins, hooks.weights(step), hooks.layer(index, { inputNeedsGrad, dyIsDelta, readExtent }));
    } else if (step.fastApply && ins.length === 1) {
      outs = step.fastApply(ins[0], hooks.hold);
    } else {
      outs = step.layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor | tf.Tensor[];
    }
    const list = Array.isArray(outs) ? outs : [outs];
    step.outputIds.forEach((id, i) => values.set(id, list[i]));
  }
  return values.get(plan.outputId)!;
}
