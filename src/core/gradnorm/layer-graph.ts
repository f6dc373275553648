import * as tf from '@tensorflow/tfjs';

export type AnyLayer = tf.layers.Layer & { getClassName(): string };

/** One application of a layer in the model graph. */
export interface LayerStep {
  layer: AnyLayer;
  inputIds: number[];
  outputIds: number[];
}

/** A LayersModel's top-level layer applications in topological order (tensor ids as tfjs numbers them). */
export interface LayerGraph {
  steps: LayerStep[];
  inputId: number;
  outputId: number;
  /** Embedding tables read straight from the model input: its values must be token ids below inputDim. */
  idInputs: { layer: string; inputDim: number }[];
  /** Why the graph is not a plain graph of distinct layers (a layer applied twice, a nested model with weights, no path). */
  irregular: string[];
}

/**
 * Walks the model's graph (Sequential or functional) in topological order. A layer with trainable
 * weights applied twice (shared weights), a nested model with trainable weights or a graph that cannot
 * be ordered from its input to its output is listed in `irregular` (the Dense float64 path of the lab,
 * dense-spec.ts, refuses those).
 */
export function layerGraph(model: tf.LayersModel): LayerGraph {
  const irregular: string[] = [];
  const steps: LayerStep[] = [];
  const produced = new Set<number>([model.inputs[0].id]);
  const pending: LayerStep[] = [];
  for (const layer of model.layers as AnyLayer[]) {
    if (layer.getClassName() === 'InputLayer') continue;
    const own = layer.inboundNodes.filter((n) => n.outputTensors.some((t) => t.id !== undefined));
    if (layer.trainableWeights.length > 0 && own.length > 1) irregular.push(`layer '${layer.name}' is applied ${own.length} times (shared weights)`);
    if (layer instanceof tf.LayersModel && layer.trainableWeights.length > 0) irregular.push(`nested model '${layer.name}' has trainable weights`);
    for (const n of own) pending.push({ layer, inputIds: n.inputTensors.map((t) => t.id), outputIds: n.outputTensors.map((t) => t.id) });
  }
  // Kahn-style ordering over tensor ids (model.layers is already sorted by depth; this makes sure).
  while (pending.length) {
    const k = pending.findIndex((n) => n.inputIds.every((id) => produced.has(id)));
    if (k < 0) break;
    const [n] = pending.splice(k, 1);
    n.outputIds.forEach((id) => produced.add(id));
    steps.push(n);
  }
  const inputId = model.inputs[0].id;
  const outputId = model.outputs[0].id;
  if (!produced.has(outputId)) irregular.push('the model graph could not be ordered from its input to its output');
  const idInputs = steps
    .filter((s) => s.layer.getClassName() === 'Embedding' && s.inputIds.includes(inputId))
    .map((s) => ({ layer: s.layer.name, inputDim: Number((s.layer.getConfig() as { inputDim: number }).inputDim) }));
  return { steps, inputId, outputId, idInputs, irregular };
}
