// Small hand-built ONNX models for the front-end tests, encoded with the product's own schema.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, encodeModel, type OnnxAttribute, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../../../../src/core/onnx/proto';

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

export function floats(name: string, dims: number[], data: number[]): OnnxTensor {
  return { name, dims, data_type: DataType.FLOAT, float_data: data };
}

export function ints(name: string, dims: number[], data: number[]): OnnxTensor {
  return { name, dims, data_type: DataType.INT64, int64_data: data };
}

export function value(name: string, dims: (number | string)[], elemType: number = DataType.FLOAT): OnnxValueInfo {
  const dim = dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } } };
}

export function node(op: string, inputs: string[], outputs: string[], name = outputs[0], attribute: OnnxAttribute[] = [], domain?: string): OnnxNode {
  return { op_type: op, input: inputs, output: outputs, name, attribute, ...(domain === undefined ? {} : { domain }) };
}

export interface Spec {
  nodes: OnnxNode[];
  inits?: OnnxTensor[];
  inputs?: OnnxValueInfo[];
  outputs?: OnnxValueInfo[];
  opset?: number;
  domain?: string;
  /** ModelProto.producer_name: 'test' unless given ('pytorch' for torch.onnx.export's rules). */
  producer?: string;
}

/** A model with input `x` [batch, 4] and output `y` [batch, 3] unless the spec says otherwise. */
export function encode(s: Spec): Uint8Array {
  return encodeModel({
    ir_version: 8,
    producer_name: s.producer ?? 'test',
    opset_import: [{ domain: s.domain ?? '', version: s.opset ?? 13 }],
    graph: {
      name: 'g',
      node: s.nodes,
      initializer: s.inits ?? [],
      input: s.inputs ?? [value('x', ['batch', 4])],
      output: s.outputs ?? [value('y', ['batch', 3])],
    },
  });
}

export function write(dir: string, name: string, s: Spec | Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, s instanceof Uint8Array ? s : encode(s));
  return file;
}

/** y = x·Wᵀ + b with W [3, 4], b [3]: the smallest model that loads. */
export function gemmSpec(): Spec {
  return {
    nodes: [node('Gemm', ['x', 'W', 'b'], ['y'], 'fc', [{ name: 'transB', type: 2, i: 1 }])],
    inits: [floats('W', [3, 4], Array.from({ length: 12 }, (_, i) => i / 10)), floats('b', [3], [1, 2, 3])],
  };
}
