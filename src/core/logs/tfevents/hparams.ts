import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf';

/**
 * The TensorBoard `hparams` plugin's content (tensorboard/plugins/hparams/plugin_data.proto):
 *   HParamsPluginData { int32 version = 1; oneof data { Experiment experiment = 2;
 *     SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; } }
 *   SessionStartInfo { map<string, google.protobuf.Value> hparams = 1; ... string group_name = 4;
 *     double start_time_secs = 5; }
 * Only a session's hyperparameter values are read; an experiment definition is only noted as present.
 */
export interface HparamsPluginData {
  kind: 'experiment' | 'session_start' | 'session_end' | 'unknown';
  /** Session hyperparameters (string, number or bool values; structs and lists are not kept). */
  hparams: Record<string, string | number | boolean>;
  groupName?: string;
}

export function decodeHparamsPluginData(content: Uint8Array): HparamsPluginData {
  const out: HparamsPluginData = { kind: 'unknown', hparams: Object.create(null) };
  const r = new ProtoReader(content);
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === WIRE_LEN && field === 2) {
      out.kind = 'experiment';
      r.skip(wire);
    } else if (wire === WIRE_LEN && field === 3) {
      out.kind = 'session_start';
      readSessionStart(r.message(), out);
    } else if (wire === WIRE_LEN && field === 4) {
      out.kind = 'session_end';
      r.skip(wire);
    } else r.skip(wire);
  }
  return out;
}

function readSessionStart(r: ProtoReader, out: HparamsPluginData): void {
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === WIRE_LEN) {
      // A map entry: { string key = 1; google.protobuf.Value value = 2; }
      const e = r.message();
      let name: string | undefined;
      let value: string | number | boolean | undefined;
      while (e.pos < e.end) {
        const ek = e.tag();
        if (ek >>> 3 === 1 && (ek & 7) === WIRE_LEN) name = e.string();
        else if (ek >>> 3 === 2 && (ek & 7) === WIRE_LEN) value = readValue(e.message());
        else e.skip(ek & 7);
      }
      if (name !== undefined && value !== undefined) out.hparams[name] = value;
    } else if (field === 4 && wire === WIRE_LEN) out.groupName = r.string();
    else r.skip(wire);
  }
}

/** google.protobuf.Value: number_value = 2 (double), string_value = 3, bool_value = 4. */
function readValue(r: ProtoReader): string | number | boolean | undefined {
  let v: string | number | boolean | undefined;
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 2 && wire === WIRE_FIXED64) v = r.double();
    else if (field === 3 && wire === WIRE_LEN) v = r.string();
    else if (field === 4 && wire === WIRE_VARINT) v = r.varint() !== 0;
    else r.skip(wire);
  }
  return v;
}
