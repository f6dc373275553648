/**
 * The ONNX protobuf schema (the subset of onnx.proto this product reads and writes, field numbers as in
 * the ONNX specification, IR version 3–10) compiled once with protobufjs. Front-ends decode models with
 * it; the gradient-program builder encodes the programs ONNX Runtime runs. Unknown fields (training
 * info, functions, sparse initializers) are skipped by the decoder.
 */
import * as protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7;
    STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSOR = 11; SPARSE_TENSORS = 12; TYPE_PROTO = 13; TYPE_PROTOS = 14;
  }
  string name = 1;
  string ref_attr_name = 21;
  string doc_string = 13;
  AttributeType type = 20;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
  string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  string domain = 7;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
}

message StringStringEntryProto {
  string key = 1;
  string value = 2;
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}

message ModelProto {
  int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4;
  repeated int32 int32_data = 5;
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7;
  string name = 8;
  string doc_string = 12;
  bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  int32 data_location = 14;
  repeated double double_data = 10;
  repeated uint64 uint64_data = 11;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  string denotation = 6;
}
`;

/** TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
export const ModelProto = root.lookupType('onnx.ModelProto');
export const TensorProto = root.lookupType('onnx.TensorProto');

/** Plain-object views of the decoded messages (int64 fields arrive as numbers, Long or strings; use `toInt`). */
export type Int64 = number | string | { toNumber(): number };

export interface OnnxTensor {
  dims?: Int64[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: Int64[];
  double_data?: number[];
  uint64_data?: Int64[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: { key?: string; value?: string }[];
  data_location?: number;
}

export interface OnnxAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
}

export interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}

export interface OnnxDim {
  dim_value?: Int64;
  dim_param?: string;
}

export interface OnnxValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: OnnxDim[] } } };
}

export interface OnnxGraph {
  node?: OnnxNode[];
  name?: string;
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  value_info?: OnnxValueInfo[];
}

export interface OnnxModel {
  ir_version?: Int64;
  opset_import?: { domain?: string; version?: Int64 }[];
  producer_name?: string;
  producer_version?: string;
  graph?: OnnxGraph;
  metadata_props?: { key?: string; value?: string }[];
}

/** An int64 field as a JS number (exact below 2^53, which covers every dimension and attribute we use). */
export function toInt(v: Int64 | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

/** Decodes a ModelProto; throws protobufjs' own error on malformed input (callers wrap it with the file name). */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Uint8Array as unknown as typeof String, defaults: false, arrays: true }) as OnnxModel;
}

/** Encodes a plain-object ModelProto (as built by the program builder) to bytes. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const err = ModelProto.verify(model);
  if (err) throw new Error(`internal error: invalid ONNX model object: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
