import { ProtoError, ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, readRepeated } from './protobuf';
import { decodeHparamsPluginData, type HparamsPluginData } from './hparams';

/**
 * Decoding of `tensorflow.Event` records (tensorflow/core/util/event.proto) down to what a scalar reader
 * needs: wall time, step, and per `Summary.Value` its tag, plugin, and either `simple_value` (PyTorch,
 * tensorboardX, TF1) or a one-element tensor with plugin `scalars` (TF2 `tf.summary.scalar`, Keras).
 * Everything else (images, histograms, audio, graphs, text) is skipped without being decoded.
 */

// Event fields.
const EV_WALL_TIME = 1;
const EV_STEP = 2;
const EV_FILE_VERSION = 3;
const EV_SUMMARY = 5;
// Summary / Summary.Value / SummaryMetadata / PluginData fields.
const SUM_VALUE = 1;
const VAL_TAG = 1;
const VAL_SIMPLE = 2;
const VAL_METADATA = 9;
const VAL_TENSOR = 8;
const META_PLUGIN_DATA = 1;
const META_DATA_CLASS = 4;
const PLUGIN_NAME = 1;
const PLUGIN_CONTENT = 2;
const DATA_CLASS_SCALAR = 1;

export const SCALARS_PLUGIN = 'scalars';
export const HPARAMS_PLUGIN = 'hparams';

export interface EventSink {
  scalar(tag: string, step: number, wallTime: number, value: number): void;
  hparams?(data: HparamsPluginData, step: number, wallTime: number): void;
  fileVersion?(version: string): void;
}

/**
 * State that outlives one record: TF2 writes a tag's `SummaryMetadata` (which says "this tensor is a
 * scalar") only with the tag's first event, so later events are recognised by remembering it per run.
 */
export class EventDecoder {
  /** tag → plugin name (or `scalars` for data class SCALAR), from the first event that said so. */
  readonly pluginByTag = new Map<string, string>();
  /** Summary values that were tensors we could not read as a scalar although marked as one. */
  unreadableScalarTensors = 0;

  constructor(private readonly sink: EventSink) {}

  /** Decodes one Event record. Throws `ProtoError` on malformed bytes (the caller counts and skips it). */
  decode(payload: Uint8Array): void {
    const r = new ProtoReader(payload);
    let wallTime = NaN;
    let step = 0;
    let summaryStart = -1;
    let summaryEnd = -1;
    while (!r.done) {
      const key = r.tag();
      const field = key >>> 3;
      const wire = key & 7;
      if (field === EV_WALL_TIME && wire === WIRE_FIXED64) wallTime = r.double();
      else if (field === EV_STEP && wire === WIRE_VARINT) step = r.int64();
      else if (field === EV_SUMMARY && wire === WIRE_LEN) [summaryStart, summaryEnd] = r.lenRange();
      else if (field === EV_FILE_VERSION && wire === WIRE_LEN) {
        const v = r.string();
        this.sink.fileVersion?.(v);
      } else r.skip(wire);
    }
    // The summary is walked after the whole event so its step and wall time are known whatever the
    // field order on the wire.
    if (summaryStart >= 0) this.decodeSummary(new ProtoReader(payload, summaryStart, summaryEnd), step, wallTime);
  }

  private decodeSummary(r: ProtoReader, step: number, wallTime: number): void {
    while (!r.done) {
      const key = r.tag();
      if (key >>> 3 === SUM_VALUE && (key & 7) === WIRE_LEN) this.decodeValue(r.message(), step, wallTime);
      else r.skip(key & 7);
    }
  }

  private decodeValue(r: ProtoReader, step: number, wallTime: number): void {
    let tag = '';
    let simple: number | undefined;
    let tensorStart = -1;
    let tensorEnd = -1;
    let plugin: string | undefined;
    let content: Uint8Array | undefined;
    while (!r.done) {
      const key = r.tag();
      const field = key >>> 3;
      const wire = key & 7;
      if (field === VAL_TAG && wire === WIRE_LEN) tag = r.string();
      else if (field === VAL_SIMPLE && wire === WIRE_FIXED32) simple = r.float();
      else if (field === VAL_TENSOR && wire === WIRE_LEN) [tensorStart, tensorEnd] = r.lenRange();
      else if (field === VAL_METADATA && wire === WIRE_LEN) {
        const m = r.message();
        while (!m.done) {
          const mk = m.tag();
          if (mk >>> 3 === META_PLUGIN_DATA && (mk & 7) === WIRE_LEN) {
            const p = m.message();
            while (!p.done) {
              const pk = p.tag();
              if (pk >>> 3 === PLUGIN_NAME && (pk & 7) === WIRE_LEN) plugin = p.string();
              else if (pk >>> 3 === PLUGIN_CONTENT && (pk & 7) === WIRE_LEN) content = p.bytes();
              else p.skip(pk & 7);
            }
          } else if (mk >>> 3 === META_DATA_CLASS && (mk & 7) === WIRE_VARINT) {
            if (m.varint() === DATA_CLASS_SCALAR && plugin === undefined) plugin = SCALARS_PLUGIN;
          } else m.skip(mk & 7);
        }
      } else r.skip(wire);
    }
    if (plugin !== undefined && plugin !== '') this.pluginByTag.set(tag, plugin);
    else plugin = this.pluginByTag.get(tag);

    if (plugin === HPARAMS_PLUGIN) {
      if (content && this.sink.hparams) this.sink.hparams(decodeHparamsPluginData(content), step, wallTime);
      return;
    }
    if (simple !== undefined) {
      this.sink.scalar(tag, step, wallTime, simple);
      return;
    }
    if (tensorStart >= 0 && plugin === SCALARS_PLUGIN) {
      const v = tensorScalar(new ProtoReader(r.buf, tensorStart, tensorEnd));
      if (v === undefined) this.unreadableScalarTensors++;
      else this.sink.scalar(tag, step, wallTime, v);
    }
  }
}

// TensorProto fields and the DataType values a scalar can have (tensorflow/core/framework/types.proto).
const T_DTYPE = 1;
const T_SHAPE = 2;
const T_CONTENT = 4;
const T_FLOAT_VAL = 5;
const T_DOUBLE_VAL = 6;
const T_INT_VAL = 7;
const T_INT64_VAL = 10;
const T_BOOL_VAL = 11;
const T_HALF_VAL = 13;
const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_INT32 = 3;
const DT_UINT8 = 4;
const DT_INT16 = 5;
const DT_INT8 = 6;
const DT_INT64 = 9;
const DT_BOOL = 10;
const DT_BFLOAT16 = 14;
const DT_UINT16 = 17;
const DT_HALF = 19;
const DT_UINT32 = 22;
const DT_UINT64 = 23;

const readF32 = (r: ProtoReader): number => r.float();
const readF64 = (r: ProtoReader): number => r.double();
const readVar = (r: ProtoReader): number => r.int64();

/** The value of a one-element numeric tensor, or undefined when it is not one. */
export function tensorScalar(r: ProtoReader): number | undefined {
  let dtype = 0;
  let elements = 1;
  let content: Uint8Array | undefined;
  const vals: number[] = [];
  let valsDtypeField = 0;
  while (!r.done) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    switch (field) {
      case T_DTYPE:
        if (wire !== WIRE_VARINT) throw new ProtoError('TensorProto.dtype has the wrong wire type');
        dtype = r.varint();
        break;
      case T_SHAPE:
        if (wire !== WIRE_LEN) throw new ProtoError('TensorProto.tensor_shape has the wrong wire type');
        elements = shapeElements(r.message());
        break;
      case T_CONTENT:
        if (wire !== WIRE_LEN) throw new ProtoError('TensorProto.tensor_content has the wrong wire type');
        content = r.bytes();
        break;
      case T_FLOAT_VAL:
        valsDtypeField = field;
        readRepeated(r, wire, WIRE_FIXED32, readF32, vals, 2);
        break;
      case T_DOUBLE_VAL:
        valsDtypeField = field;
        readRepeated(r, wire, WIRE_FIXED64, readF64, vals, 2);
        break;
      case T_INT_VAL:
      case T_INT64_VAL:
      case T_BOOL_VAL:
      case T_HALF_VAL:
        valsDtypeField = field;
        readRepeated(r, wire, WIRE_VARINT, readVar, vals, 2);
        break;
      default:
        r.skip(wire);
    }
  }
  if (elements !== 1) return undefined;
  if (content) return contentScalar(dtype, content);
  if (vals.length !== 1 || valsDtypeField === 0) return undefined;
  const v = vals[0];
  if (valsDtypeField === T_HALF_VAL) return dtype === DT_BFLOAT16 ? bfloat16ToNumber(v) : halfToNumber(v);
  if (dtype === DT_INT32) return v | 0;
  return v;
}

/** Number of elements of a TensorShapeProto (rank 0 → 1); NaN for unknown rank or sizes. */
function shapeElements(r: ProtoReader): number {
  let n = 1;
  while (!r.done) {
    const key = r.tag();
    if (key >>> 3 === 2 && (key & 7) === WIRE_LEN) {
      const d = r.message();
      let size = 0;
      while (!d.done) {
        const dk = d.tag();
        if (dk >>> 3 === 1 && (dk & 7) === WIRE_VARINT) size = d.int64();
        else d.skip(dk & 7);
      }
      n = size < 0 ? NaN : n * size;
    } else if (key >>> 3 === 3 && (key & 7) === WIRE_VARINT) {
      if (r.varint() !== 0) n = NaN; // unknown_rank
    } else r.skip(key & 7);
  }
  return n;
}

function contentScalar(dtype: number, b: Uint8Array): number | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const want = (n: number): boolean => b.length === n;
  switch (dtype) {
    case DT_FLOAT:
      return want(4) ? dv.getFloat32(0, true) : undefined;
    case DT_DOUBLE:
      return want(8) ? dv.getFloat64(0, true) : undefined;
    case DT_INT32:
      return want(4) ? dv.getInt32(0, true) : undefined;
    case DT_UINT32:
      return want(4) ? dv.getUint32(0, true) : undefined;
    case DT_INT64:
      return want(8) ? Number(dv.getBigInt64(0, true)) : undefined;
    case DT_UINT64:
      return want(8) ? Number(dv.getBigUint64(0, true)) : undefined;
    case DT_INT16:
      return want(2) ? dv.getInt16(0, true) : undefined;
    case DT_UINT16:
      return want(2) ? dv.getUint16(0, true) : undefined;
    case DT_INT8:
      return want(1) ? dv.getInt8(0) : undefined;
    case DT_UINT8:
    case DT_BOOL:
      return want(1) ? dv.getUint8(0) : undefined;
    case DT_HALF:
      return want(2) ? halfToNumber(dv.getUint16(0, true)) : undefined;
    case DT_BFLOAT16:
      return want(2) ? bfloat16ToNumber(dv.getUint16(0, true)) : undefined;
    default:
      return undefined;
  }
}

/** IEEE 754 binary16 bits → number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits (the top half of a float32) → number. */
export function bfloat16ToNumber(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, (bits & 0xffff) << 16);
  return dv.getFloat32(0);
}
