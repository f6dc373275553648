/**
 * The engine's own model graph: what every model format (TF.js model.json, ONNX, Keras) is lowered to,
 * and what the gradient-program builder (src/core/engine/) differentiates. Nodes use ONNX operator
 * semantics (default domain, opset `opset`), in the model's own layout (NCHW for PyTorch exports, NHWC
 * for Keras/TF.js models lowered with explicit Transposes): the format we execute is ONNX, so a node
 * here is a node ORT can run. Front-ends only translate; no front-end knows about gradients.
 */

export type ElemType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8';

/** Constant tensor data (row-major). */
export interface ConstTensor {
  dims: number[];
  dtype: ElemType;
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

/** A node attribute, typed as ONNX types it (a float and an int attribute are not interchangeable). */
export type Attr =
  | { type: 'int'; v: number }
  | { type: 'float'; v: number }
  | { type: 'ints'; v: number[] }
  | { type: 'floats'; v: number[] }
  | { type: 'string'; v: string }
  | { type: 'tensor'; v: ConstTensor };

export interface GraphNode {
  /** ONNX op type in the default domain, e.g. `Gemm`, `Conv`, `Relu`. */
  op: string;
  /** A name for messages (the source node's or layer's name). */
  name: string;
  /** Value names; '' marks an omitted optional input, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

/** A trainable parameter: the tensor SGD steps on, named as the user's framework names it. */
export interface GraphParam {
  /** Value name used by nodes (an ONNX initializer name, a tfjs weight name). */
  name: string;
  tensor: ConstTensor & { dtype: 'float32' };
  /**
   * A penalty SGD steps on with this parameter (Keras/TF.js kernel/bias regularisers): ℓ_b includes
   * l1·Σ|w| + l2·Σw² (THEORY.md §2, "loss measured with the penalty").
   */
  penalty?: { l1: number; l2: number };
}

/** A graph input or output: name, element type and shape (null: the batch axis or another free dim). */
export interface GraphValue {
  name: string;
  dtype: ElemType;
  shape: (number | null)[];
}

/** What the front-end saw that matters for the prediction or for trust in the numbers. */
export interface GraphFacts {
  /** BatchNormalization present (scale-invariant weights + weight decay: no finite slope, THEORY.md §2). */
  hasBatchNorm: boolean;
  /** Some parameter carries a penalty inside ℓ_b. */
  hasRegularizers: boolean;
}

export interface EngineGraph {
  /** Which front-end produced it, and from which file. */
  format: 'tfjs' | 'onnx' | 'keras';
  file: string;
  /** The default-domain opset the nodes follow (≥ 13). */
  opset: number;
  /** The single model input (batch axis first). */
  input: GraphValue;
  /** The single model output (batch axis first). */
  output: GraphValue;
  /** Topologically ordered. */
  nodes: GraphNode[];
  /** Trainable parameters, in the framework's own order (PyTorch's `parameters()`, Keras' trainable_weights). */
  params: GraphParam[];
  /** Every other named constant (BatchNorm running statistics, shape and index constants, frozen weights). */
  constants: { name: string; tensor: ConstTensor }[];
  facts: GraphFacts;
  /** The training loss the file records (model.json / Keras compile config), when it records one. */
  trainingConfig?: Record<string, unknown>;
  /** What the front-end inferred or warns about, in words (shown with the result). */
  notes: string[];
}

export const attr = {
  int: (v: number): Attr => ({ type: 'int', v }),
  float: (v: number): Attr => ({ type: 'float', v }),
  ints: (v: number[]): Attr => ({ type: 'ints', v }),
  floats: (v: number[]): Attr => ({ type: 'floats', v }),
  string: (v: string): Attr => ({ type: 'string', v }),
  tensor: (v: ConstTensor): Attr => ({ type: 'tensor', v }),
};

/** Reads an int attribute with a default (ONNX's defaults are per op; the caller says which). */
export function intAttr(n: GraphNode, key: string, def: number): number {
  const a = n.attrs[key];
  return a && (a.type === 'int' || a.type === 'float') ? a.v : def;
}

export function intsAttr(n: GraphNode, key: string, def: number[]): number[] {
  const a = n.attrs[key];
  return a && (a.type === 'ints' || a.type === 'floats') ? a.v : def;
}

export function floatAttr(n: GraphNode, key: string, def: number): number {
  const a = n.attrs[key];
  return a && (a.type === 'float' || a.type === 'int') ? a.v : def;
}

export function stringAttr(n: GraphNode, key: string, def: string): string {
  const a = n.attrs[key];
  return a && a.type === 'string' ? a.v : def;
}
