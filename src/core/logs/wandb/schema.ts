/**
 * The part of W&B's `Record` message (wandb/proto/wandb_internal.proto in the client's public source,
 * field numbers unchanged from client 0.12 to 0.21) that this reader needs, compiled once with
 * protobufjs. Everything else in a record (console output, system stats, files, telemetry, requests)
 * is an unknown field and skipped by the decoder.
 */
import * as protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package wandb_internal;

message Record {
  int64 num = 1;
  HistoryRecord history = 2;
  SummaryRecord summary = 3;
  ConfigRecord config = 5;
  RunRecord run = 17;
  RunExitRecord exit = 18;
}

message HistoryRecord {
  repeated Item item = 1;
  HistoryStep step = 2;
}

message HistoryStep {
  int64 num = 1;
}

message Item {
  string key = 1;
  repeated string nested_key = 2;
  string value_json = 16;
}

message ConfigRecord {
  repeated Item update = 1;
  repeated Item remove = 2;
}

message SummaryRecord {
  repeated Item update = 1;
  repeated Item remove = 2;
}

message Timestamp {
  int64 seconds = 1;
  int32 nanos = 2;
}

message RunRecord {
  string run_id = 1;
  string entity = 2;
  string project = 3;
  ConfigRecord config = 4;
  string display_name = 8;
  Timestamp start_time = 17;
}

message RunExitRecord {
  int32 exit_code = 1;
  int32 runtime = 2;
}
`;

export interface WandbItem {
  key?: string;
  nested_key?: string[];
  value_json?: string;
}

type Int64 = number | { toNumber(): number } | undefined;

export interface WandbRecord {
  history?: { item?: WandbItem[]; step?: { num?: Int64 } };
  summary?: { update?: WandbItem[]; remove?: WandbItem[] };
  config?: { update?: WandbItem[]; remove?: WandbItem[] };
  run?: { run_id?: string; display_name?: string; config?: { update?: WandbItem[]; remove?: WandbItem[] }; start_time?: { seconds?: Int64; nanos?: number } };
  exit?: { exit_code?: number; runtime?: number };
}

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const RecordType = root.lookupType('wandb_internal.Record');

/** Decodes one record; throws (a protobufjs Error) on bytes that are not a well-formed message. */
export function decodeWandbRecord(data: Uint8Array): WandbRecord {
  return RecordType.decode(data) as unknown as WandbRecord;
}

export function int64ToNumber(x: Int64): number | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x === 'number') return x;
  return x.toNumber();
}
