/**
 * TensorProto → ConstTensor. Data comes from raw_data (little-endian bytes), the typed fields
 * (float_data, int32_data, int64_data, double_data) or an external file (external.ts). Every claimed
 * size (dims, external length) is checked against the bytes that are really there before an array is
 * allocated. FLOAT16 and the other element types are refused: the engine runs float32 graphs, and a
 * half-precision export would leave Casts to float16 in the graph (export with model.float()).
 */
import type { ConstTensor, ElemType } from '../../graph/types';
import { HeatcapError } from '../../errors';
import { DataType, toInt, type OnnxTensor } from '../../onnx/proto';
import { externalRef, readExternal } from './external';

const EXTERNAL = 1;

/** ONNX element types this front-end reads, with their size in bytes. */
const ELEM: Record<number, { dtype: ElemType; bytes: number }> = {
  [DataType.FLOAT]: { dtype: 'float32', bytes: 4 },
  [DataType.DOUBLE]: { dtype: 'float64', bytes: 8 },
  [DataType.INT64]: { dtype: 'int64', bytes: 8 },
  [DataType.INT32]: { dtype: 'int32', bytes: 4 },
  [DataType.BOOL]: { dtype: 'bool', bytes: 1 },
  [DataType.UINT8]: { dtype: 'uint8', bytes: 1 },
};

const TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL',
  10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
};

/** The name of an ONNX element type, for messages. */
export function onnxTypeName(t: number | undefined): string {
  return TYPE_NAMES[t ?? 0] ?? `type ${t}`;
}

/** The engine's element type for an ONNX one, or undefined when the engine has none. */
export function elemTypeOf(t: number | undefined): ElemType | undefined {
  return ELEM[t ?? 0]?.dtype;
}

/** Bytes are limited to what a JS typed array can hold; a larger claim is an error, not an allocation. */
const MAX_ELEMENTS = 2 ** 31;

function elementCount(model: string, name: string, dims: number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new HeatcapError(model, `tensor '${name}': dimension ${d} in [${dims.join(', ')}] is not a non-negative integer`);
    n *= d;
    if (n > MAX_ELEMENTS) throw new HeatcapError(model, `tensor '${name}': shape [${dims.join(', ')}] is too large`);
  }
  return n;
}

function fromBytes(dtype: ElemType, bytes: Uint8Array, n: number): ConstTensor['data'] {
  // A copy into a fresh, aligned buffer: raw_data is a view into the file's bytes at any offset.
  const own = new Uint8Array(bytes.length);
  own.set(bytes);
  switch (dtype) {
    case 'float32':
      return new Float32Array(own.buffer, 0, n);
    case 'float64':
      return new Float64Array(own.buffer, 0, n);
    case 'int64':
      return new BigInt64Array(own.buffer, 0, n);
    case 'int32':
      return new Int32Array(own.buffer, 0, n);
    case 'bool':
    case 'uint8':
      return own;
  }
}

function fromFields(model: string, name: string, dtype: ElemType, t: OnnxTensor, n: number): ConstTensor['data'] {
  const field = (dtype === 'float32' ? t.float_data : dtype === 'float64' ? t.double_data : dtype === 'int64' ? t.int64_data : t.int32_data) ?? [];
  if (field.length !== n) {
    throw new HeatcapError(model, `tensor '${name}': holds ${field.length} values, its shape needs ${n}`);
  }
  switch (dtype) {
    case 'float32':
      return Float32Array.from(field as number[]);
    case 'float64':
      return Float64Array.from(field as number[]);
    case 'int64':
      return BigInt64Array.from(t.int64_data ?? [], (v) => BigInt(Math.trunc(toInt(v))));
    case 'int32':
      return Int32Array.from(field as number[]);
    case 'bool':
    case 'uint8':
      return Uint8Array.from(field as number[]);
  }
}

/**
 * Decodes one tensor. `model` is the .onnx file (external locations are relative to its folder);
 * `name` names the tensor in messages (an initializer's name, or `node 'x' attribute 'value'`).
 */
export function decodeTensor(model: string, t: OnnxTensor, name: string): ConstTensor {
  const elem = ELEM[t.data_type ?? 0];
  if (!elem) {
    const hint = t.data_type === DataType.FLOAT16 || t.data_type === 16 ? ' (export the model in float32: model.float())' : '';
    throw new HeatcapError(model, `tensor '${name}': element type ${onnxTypeName(t.data_type)} is not supported${hint}`);
  }
  const dims = (t.dims ?? []).map(toInt);
  const n = elementCount(model, name, dims);
  const expected = n * elem.bytes;
  let data: ConstTensor['data'];
  if (t.data_location === EXTERNAL) {
    data = fromBytes(elem.dtype, readExternal(externalRef(model, t), name, expected), n);
  } else if (t.raw_data !== undefined && t.raw_data.length > 0) {
    if (t.raw_data.length !== expected) {
      throw new HeatcapError(model, `tensor '${name}': raw data is ${t.raw_data.length} bytes, shape [${dims.join(', ')}] of ${onnxTypeName(t.data_type)} needs ${expected}`);
    }
    data = fromBytes(elem.dtype, t.raw_data, n);
  } else {
    data = fromFields(model, name, elem.dtype, t, n);
  }
  return { dims, dtype: elem.dtype, data };
}

/** Number of elements of a decoded tensor. */
export function sizeOf(t: ConstTensor): number {
  return t.dims.reduce((a, d) => a * d, 1);
}
