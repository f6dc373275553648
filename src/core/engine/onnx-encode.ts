/**
 * Engine-graph pieces to ONNX protobuf objects (src/core/onnx/proto.ts): nodes with typed attributes,
 * constants as initializers with raw little-endian data. Used to build every program ORT runs.
 */
import { AttributeType, DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../onnx/proto';
import type { Attr, ConstTensor, ElemType, EngineGraph, GraphNode } from '../graph/types';

const ELEM: Record<ElemType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
};

export function elemTypeCode(t: ElemType): number {
  return ELEM[t];
}

export function encodeTensor(name: string, t: ConstTensor): OnnxTensor {
  const d = t.data;
  return {
    name,
    dims: t.dims,
    data_type: ELEM[t.dtype],
    raw_data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}

function encodeAttr(name: string, a: Attr): OnnxAttribute {
  switch (a.type) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.v };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.v };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.v };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.v };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.v) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: encodeTensor('', a.v) };
  }
}

export function encodeNode(n: GraphNode): OnnxNode {
  return {
    op_type: n.op,
    name: n.name,
    input: n.inputs,
    output: n.outputs,
    attribute: Object.entries(n.attrs).map(([k, a]) => encodeAttr(k, a)),
  };
}

export function valueInfo(name: string, dtype?: ElemType, shape?: (number | null)[]): OnnxValueInfo {
  if (!dtype) return { name };
  // Each free dimension gets its own name (one shared name would make ORT require them equal).
  const dim = shape?.map((d, i) => (d === null ? { dim_param: `d${i}` } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: ELEM[dtype], ...(dim ? { shape: { dim } } : {}) } } };
}

export interface ModelParts {
  opset: number;
  nodes: GraphNode[];
  initializers: { name: string; tensor: ConstTensor }[];
  inputs: { name: string; dtype: ElemType; shape: (number | null)[] }[];
  /** Outputs: a dtype makes ORT check it; without one ORT infers it. */
  outputs: { name: string; dtype?: ElemType; shape?: (number | null)[] }[];
  name: string;
}

export function buildModel(p: ModelParts): OnnxModel {
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: p.opset }],
    producer_name: 'heatcap',
    graph: {
      name: p.name,
      node: p.nodes.map(encodeNode),
      initializer: p.initializers.map((i) => encodeTensor(i.name, i.tensor)),
      input: p.inputs.map((i) => valueInfo(i.name, i.dtype, i.shape)),
      output: p.outputs.map((o) => valueInfo(o.name, o.dtype, o.shape)),
    },
  };
}

/** A graph's own forward pass as an ONNX model (its output only); `inputShape` fixes the batch. */
export function forwardModel(g: EngineGraph, inputShape?: number[]): OnnxModel {
  return buildModel({
    opset: g.opset,
    name: 'forward',
    nodes: g.nodes,
    initializers: [...g.params.map((p) => ({ name: p.name, tensor: p.tensor })), ...g.constants],
    inputs: [{ name: g.input.name, dtype: g.input.dtype, shape: inputShape ?? g.input.shape }],
    outputs: [{ name: g.output.name }],
  });
}
