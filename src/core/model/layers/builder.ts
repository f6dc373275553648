import type * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../../errors';
import type { Attr, ConstTensor, GraphNode, GraphParam } from '../../graph/types';

/** ONNX TensorProto data type of int64 (the `to` of a Cast). */
export const ONNX_INT64 = 7;

/** The name tfjs (and the result files, src/core/model/params.ts) give a weight. */
export function weightName(v: tf.LayerVariable): string {
  return v.originalName ?? v.name;
}

/**
 * Accumulates the graph being lowered: nodes in emission order (which is topological, since a layer is
 * lowered only after its inputs), trainable parameters, constants, and a registry of value names so that
 * every name is unique.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly params: GraphParam[] = [];
  readonly constants: { name: string; tensor: ConstTensor }[] = [];
  readonly notes: string[] = [];
  private readonly used = new Set<string>();
  private readonly byVariable = new Map<tf.LayerVariable, { name: string; param?: GraphParam }>();

  constructor(readonly file: string) {}

  /** A fresh value (or node) name: `base` itself when free, else `base_1`, `base_2`, … */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name exactly (graph input, parameter names): a clash is an internal error. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new HeatcapError(this.file, `two values of the model are both named '${name}'; the engine graph needs unique names`);
    this.used.add(name);
    return name;
  }

  /** Registers a trainable weight as a parameter named as tfjs names it (model.trainableWeights order). */
  addParam(v: tf.LayerVariable): void {
    const base = weightName(v);
    const name = this.unique(base);
    if (name !== base) this.notes.push(`two trainable weights are named '${base}'; the second is called '${name}' in the engine graph`);
    const data = Float32Array.from(v.read().dataSync() as ArrayLike<number>);
    const param: GraphParam = { name, tensor: { dims: v.shape.map((d) => Number(d)), dtype: 'float32', data } };
    this.params.push(param);
    this.byVariable.set(v, { name, param });
  }

  /** The value name of a layer weight: its parameter when trainable, else a constant holding its value. */
  weight(v: tf.LayerVariable): { name: string; param?: GraphParam } {
    const known = this.byVariable.get(v);
    if (known) return known;
    const name = this.unique(weightName(v));
    const data = Float32Array.from(v.read().dataSync() as ArrayLike<number>);
    this.constants.push({ name, tensor: { dims: v.shape.map((d) => Number(d)), dtype: 'float32', data } });
    const entry = { name };
    this.byVariable.set(v, entry);
    return entry;
  }

  constant(base: string, tensor: ConstTensor): string {
    const name = this.unique(base);
    this.constants.push({ name, tensor });
    return name;
  }

  constF32(base: string, dims: number[], values: ArrayLike<number>): string {
    return this.constant(base, { dims, dtype: 'float32', data: Float32Array.from(values) });
  }

  constI64(base: string, values: number[]): string {
    return this.constant(base, { dims: [values.length], dtype: 'int64', data: BigInt64Array.from(values.map((v) => BigInt(v))) });
  }

  /** Emits one node with one output; returns the output's value name (also the node's name). */
  node(op: string, base: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const out = this.unique(base);
    this.nodes.push({ op, name: out, inputs, outputs: [out], attrs });
    return out;
  }
}
