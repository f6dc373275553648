import * as protobuf from './protobuf';
import { ProtoError, ProtoReader, StringCache } from './protobuf';
import { decodeHparamsPluginData, type HparamsPluginData } from './hparams';
import * as tagTable from './tag-table';
import { TagTable, type Shape, type TagEntry } from './tag-table';

// Bound once at load: these are used per record or per field, and under tsx (bench, tests) an imported
// binding is read through an accessor on every use (see framing.ts).
const { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, readFloat32LE, readFloat64LE, readRepeated } = protobuf;
const { findShape, sameShape } = tagTable;

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
const SCALARS_BYTES = new TextEncoder().encode(SCALARS_PLUGIN);
export const HPARAMS_PLUGIN = 'hparams';

export interface EventSink {
  scalar(tag: string, step: number, wallTime: number, value: number): void;
  /**
   * Optional: where one tag's scalars go. When given, the decoder asks once per tag and then hands that
   * tag's points to the target's `push`, never calling `scalar` (a series builder, say: no lookup by
   * tag per point).
   */
  scalarTarget?(tag: string): ScalarTarget;
  hparams?(data: HparamsPluginData, step: number, wallTime: number): void;
  fileVersion?(version: string): void;
}

/** The receiver of one tag's scalar points. */
export interface ScalarTarget {
  push(step: number, value: number, wallTime: number): void;
}

/**
 * State that outlives one record: TF2 writes a tag's `SummaryMetadata` (which says "this tensor is a
 * scalar") only with the tag's first event, so later events are recognised by remembering it per run.
 */
export class EventDecoder {
  /**
   * tag → plugin name (or `scalars` for data class SCALAR), from the first event that said so. Changed
   * only through `setPlugin`, which counts changes in `pluginVersion`: the fast path caches "this tag is
   * a `scalars` tag" per tag, valid while the version is unchanged.
   */
  private readonly pluginByTag = new Map<string, string>();
  private pluginVersion = 0;
  /** tag → where its scalars go (see `EventSink.scalarTarget`). */
  private readonly targets = new Map<string, ScalarTarget>();
  /** Tags the fast path has seen, by their bytes. */
  private readonly tags = new TagTable();
  /** The shape of the last scalar event read by the fast path (its `next` is the guess for the next). */
  private lastShape: Shape | undefined;
  /** Summary values that were tensors we could not read as a scalar although marked as one. */
  unreadableScalarTensors = 0;
  private readonly strings = new StringCache();
  // One reader per nesting level, reused for every record (no allocation per record).
  private readonly rEvent = new ProtoReader(new Uint8Array(0));
  private readonly rSummary = new ProtoReader(new Uint8Array(0));
  private readonly rValue = new ProtoReader(new Uint8Array(0));
  private readonly rMeta = new ProtoReader(new Uint8Array(0));
  private readonly rPlugin = new ProtoReader(new Uint8Array(0));
  private readonly rTensor = new ProtoReader(new Uint8Array(0));
  /** A DataView over the buffer the last record came from (framing reuses one buffer per file). */
  private viewBuf: Uint8Array | undefined;
  private view: DataView = new DataView(new ArrayBuffer(0));

  /** `fastPath: false` reads every record with the general decoder (tests compare the two). */
  constructor(
    private readonly sink: EventSink,
    private readonly opts: { fastPath?: boolean } = {},
  ) {}

  /** Decodes one Event record. Throws `ProtoError` on malformed bytes (the caller counts and skips it). */
  decode(payload: Uint8Array, start = 0, end = payload.length): void {
    if (this.opts.fastPath !== false) {
      if (payload !== this.viewBuf) {
        this.viewBuf = payload;
        this.view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      }
      if (this.decodeKnownShape(payload, start, end) || this.decodeScalarFast(payload, start, end)) return;
    }
    const r = this.rEvent.reset(payload, start, end);
    let wallTime = NaN;
    let step = 0;
    let summaryStart = -1;
    let summaryEnd = -1;
    while (r.pos < r.end) {
      const key = r.tag();
      const field = key >>> 3;
      const wire = key & 7;
      if (field === EV_WALL_TIME && wire === WIRE_FIXED64) wallTime = r.double();
      else if (field === EV_STEP && wire === WIRE_VARINT) step = r.int64();
      else if (field === EV_SUMMARY && wire === WIRE_LEN) {
        summaryStart = r.skipLen();
        summaryEnd = r.pos;
      } else if (field === EV_FILE_VERSION && wire === WIRE_LEN) {
        const v = r.string();
        this.sink.fileVersion?.(v);
      } else r.skip(wire);
    }
    // The summary is walked after the whole event so its step and wall time are known whatever the
    // field order on the wire.
    if (summaryStart >= 0) this.decodeSummary(this.rSummary.reset(payload, summaryStart, summaryEnd), step, wallTime);
  }

  /**
   * The commonest record of all, by comparison: wall time, step and then a summary whose bytes, value
   * aside, equal those of the scalar event that followed the previous one last time (`Shape`). The
   * fast path below would parse such bytes exactly as it parsed them then, so what it found is reused.
   */
  private decodeKnownShape(b: Uint8Array, start: number, end: number): boolean {
    const sh = this.lastShape?.next;
    if (sh === undefined || end - start < 11 || b[start] !== 0x09 || b[start + 9] !== 0x10) return false;
    let p = start + 10;
    // The step, read as in `decodeScalarFast`.
    let step = 0;
    let mul = 1;
    for (;;) {
      if (p >= end || mul > 2 ** 42) return false;
      const c = b[p++];
      step += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 128;
    }
    if (end - p !== sh.bytes.length || !sameShape(sh, this.view, p)) return false;
    const dv = this.view;
    if (!this.emit(sh.tag, sh.tensor, sh.meta, step, dv.getFloat64(start + 1, true), dv.getFloat32(p + sh.valueAt, true))) return false;
    this.lastShape = sh;
    return true;
  }

  /**
   * The common record, decoded inline: an Event with wall_time, step and a Summary holding one Value that
   * is a `simple_value`, or a float32 scalar tensor (rank 0, `tensor_content`) whose metadata is absent or
   * only names plugin `scalars`, as TF2 writes it. Emits nothing and returns false for anything else, which
   * the general decoder then reads; so the two paths cannot disagree on what they both accept.
   */
  private decodeScalarFast(b: Uint8Array, start: number, end: number): boolean {
    const dv = this.view;
    let p = start;
    let wall = NaN;
    let step = 0;
    let sumStart = -1;
    let sumEnd = -1;
    // Where the (last) summary field starts: when it is also the last field, its bytes are a `Shape`.
    let sumKeyAt = -1;
    while (p < end) {
      const key = b[p++];
      if (key === 0x09) {
        if (p + 8 > end) return false;
        wall = dv.getFloat64(p, true);
        p += 8;
      } else if (key === 0x10) {
        let v = 0;
        let mul = 1;
        for (;;) {
          if (p >= end || mul > 2 ** 42) return false;
          const c = b[p++];
          v += (c & 0x7f) * mul;
          if (c < 0x80) break;
          mul *= 128;
        }
        step = v;
      } else if (key === 0x2a) {
        sumKeyAt = p - 1;
        if (p >= end) return false;
        let len = b[p++];
        if (len >= 0x80) {
          if (p >= end || b[p] >= 0x80) return false;
          len = (len & 0x7f) + b[p++] * 128;
        }
        sumStart = p;
        sumEnd = p + len;
        if (sumEnd > end) return false;
        p = sumEnd;
      } else return false;
    }
    // Summary { 0a <len> Value } with exactly one value.
    p = sumStart;
    if (p < 0 || p + 2 > sumEnd || b[p] !== 0x0a || b[p + 1] >= 0x80) return false;
    const valEnd = p + 2 + b[p + 1];
    if (valEnd !== sumEnd) return false;
    p += 2;
    let tagStart = -1;
    let tagEnd = -1;
    let simple = false;
    let value = NaN;
    let valueAt = -1;
    let tensor = false;
    let meta = false;
    while (p < valEnd) {
      const key = b[p++];
      if (key === 0x0a) {
        const len = b[p++];
        if (len >= 0x80 || p + len > valEnd) return false;
        tagStart = p;
        tagEnd = p + len;
        p = tagEnd;
      } else if (key === 0x15) {
        if (p + 4 > valEnd) return false;
        value = dv.getFloat32(p, true);
        valueAt = p;
        simple = true;
        p += 4;
      } else if (key === 0x42) {
        // TensorProto { 08 01 (DT_FLOAT) 12 00 (shape []) 22 04 <float32> } and nothing else.
        if (p + 11 > valEnd || b[p] !== 10 || b[p + 1] !== 0x08 || b[p + 2] !== 0x01 || b[p + 3] !== 0x12 || b[p + 4] !== 0x00 || b[p + 5] !== 0x22 || b[p + 6] !== 0x04) return false;
        value = dv.getFloat32(p + 7, true);
        valueAt = p + 7;
        tensor = true;
        p += 11;
      } else if (key === 0x4a) {
        // SummaryMetadata { 0a 09 PluginData { 0a 07 "scalars" } }, possibly followed by data_class 1.
        const len = b[p];
        if (len !== 11 && len !== 13) return false;
        if (b[p + 1] !== 0x0a || b[p + 2] !== 0x09 || b[p + 3] !== 0x0a || b[p + 4] !== 0x07) return false;
        for (let i = 0; i < 7; i++) if (b[p + 5 + i] !== SCALARS_BYTES[i]) return false;
        if (len === 13 && (b[p + 12] !== 0x20 || b[p + 13] !== 0x01)) return false;
        if (p + 1 + len > valEnd) return false;
        meta = true;
        p += 1 + len;
      } else return false;
    }
    if (tagStart < 0 || simple === tensor) return false;
    let e = this.tags.lookup(b, tagStart, tagEnd);
    if (e === undefined) {
      const text = this.strings.get(b, tagStart, tagEnd);
      e = this.tags.insert(b, tagStart, tagEnd, text);
      if (e === undefined) return false; // table full: the general decoder reads it
    }
    if (!this.emit(e, tensor, meta, step, wall, value)) return false;
    // Nothing follows the summary, so a record made of a wall time, a step and these bytes would be
    // parsed to the same decisions; `decodeKnownShape` checks that layout and compares the bytes.
    if (sumEnd === end) {
      const sh = findShape(e, b, dv, sumKeyAt, end, valueAt - sumKeyAt, tensor, meta);
      if (sh && this.lastShape) this.lastShape.next = sh;
      this.lastShape = sh;
    }
    return true;
  }

  /**
   * Hands one scalar to its tag's target, or returns false (emitting nothing) for a tensor without
   * metadata whose tag is not known as a `scalars` tag. Metadata naming `scalars` records that, for
   * later tensors without it; the per-tag flag `scalarsAt` saves a map lookup per point.
   */
  private emit(e: TagEntry, tensor: boolean, meta: boolean, step: number, wall: number, value: number): boolean {
    if ((meta || tensor) && e.scalarsAt !== this.pluginVersion) {
      if (this.pluginByTag.get(e.text) !== SCALARS_PLUGIN) {
        if (!meta) return false;
        this.setPlugin(e.text, SCALARS_PLUGIN);
      }
      e.scalarsAt = this.pluginVersion;
    }
    (e.target ??= this.targetFor(e.text)).push(step, value, wall);
    return true;
  }

  private setPlugin(tag: string, plugin: string): void {
    this.pluginByTag.set(tag, plugin);
    this.pluginVersion++;
  }

  /** Where `tag`'s scalars go: the sink's target for it, or one that calls `sink.scalar`. */
  private targetFor(tag: string): ScalarTarget {
    let t = this.targets.get(tag);
    if (t === undefined) {
      const sink = this.sink;
      t = sink.scalarTarget ? sink.scalarTarget(tag) : new ScalarCallTarget(sink, tag);
      this.targets.set(tag, t);
    }
    return t;
  }

  private decodeSummary(r: ProtoReader, step: number, wallTime: number): void {
    while (r.pos < r.end) {
      const key = r.tag();
      if (key >>> 3 === SUM_VALUE && (key & 7) === WIRE_LEN) {
        const s = r.skipLen();
        this.decodeValue(this.rValue.reset(r.buf, s, r.pos), step, wallTime);
      } else r.skip(key & 7);
    }
  }

  private decodeValue(r: ProtoReader, step: number, wallTime: number): void {
    let tag = '';
    let simple: number | undefined;
    let tensorStart = -1;
    let tensorEnd = -1;
    let plugin: string | undefined;
    let content: Uint8Array | undefined;
    while (r.pos < r.end) {
      const key = r.tag();
      const field = key >>> 3;
      const wire = key & 7;
      if (field === VAL_TAG && wire === WIRE_LEN) tag = r.string(this.strings);
      else if (field === VAL_SIMPLE && wire === WIRE_FIXED32) simple = r.float();
      else if (field === VAL_TENSOR && wire === WIRE_LEN) {
        tensorStart = r.skipLen();
        tensorEnd = r.pos;
      } else if (field === VAL_METADATA && wire === WIRE_LEN) {
        const ms = r.skipLen();
        const m = this.rMeta.reset(r.buf, ms, r.pos);
        while (m.pos < m.end) {
          const mk = m.tag();
          if (mk >>> 3 === META_PLUGIN_DATA && (mk & 7) === WIRE_LEN) {
            const ps = m.skipLen();
            const p = this.rPlugin.reset(m.buf, ps, m.pos);
            while (p.pos < p.end) {
              const pk = p.tag();
              if (pk >>> 3 === PLUGIN_NAME && (pk & 7) === WIRE_LEN) plugin = p.string(this.strings);
              else if (pk >>> 3 === PLUGIN_CONTENT && (pk & 7) === WIRE_LEN) content = p.bytes();
              else p.skip(pk & 7);
            }
          } else if (mk >>> 3 === META_DATA_CLASS && (mk & 7) === WIRE_VARINT) {
            if (m.varint() === DATA_CLASS_SCALAR && plugin === undefined) plugin = SCALARS_PLUGIN;
          } else m.skip(mk & 7);
        }
      } else r.skip(wire);
    }
    if (plugin !== undefined && plugin !== '') {
      if (this.pluginByTag.get(tag) !== plugin) this.setPlugin(tag, plugin);
    } else plugin = this.pluginByTag.get(tag);

    if (plugin === HPARAMS_PLUGIN) {
      if (content && this.sink.hparams) this.sink.hparams(decodeHparamsPluginData(content), step, wallTime);
      return;
    }
    if (simple !== undefined) {
      this.targetFor(tag).push(step, simple, wallTime);
      return;
    }
    if (tensorStart >= 0 && plugin === SCALARS_PLUGIN) {
      const v = tensorScalar(this.rTensor.reset(r.buf, tensorStart, tensorEnd));
      if (v === undefined) this.unreadableScalarTensors++;
      else this.targetFor(tag).push(step, v, wallTime);
    }
  }
}

/**
 * A target for sinks that only have `scalar`. A class rather than a closure per tag, so that the call
 * `target.push` sees one function for all tags (V8 then inlines it; measured, bench/logs.ts).
 */
class ScalarCallTarget implements ScalarTarget {
  constructor(
    private readonly sink: EventSink,
    private readonly tag: string,
  ) {}

  push(step: number, value: number, wallTime: number): void {
    this.sink.scalar(this.tag, step, wallTime, value);
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
  let contentStart = -1;
  let contentEnd = -1;
  let vals: number[] | undefined;
  let valsDtypeField = 0;
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    switch (field) {
      case T_DTYPE:
        if (wire !== WIRE_VARINT) throw new ProtoError('TensorProto.dtype has the wrong wire type');
        dtype = r.varint();
        break;
      case T_SHAPE: {
        if (wire !== WIRE_LEN) throw new ProtoError('TensorProto.tensor_shape has the wrong wire type');
        const s = r.skipLen();
        elements = s === r.pos ? 1 : shapeElements(new ProtoReader(r.buf, s, r.pos));
        break;
      }
      case T_CONTENT:
        if (wire !== WIRE_LEN) throw new ProtoError('TensorProto.tensor_content has the wrong wire type');
        contentStart = r.skipLen();
        contentEnd = r.pos;
        break;
      case T_FLOAT_VAL:
        valsDtypeField = field;
        readRepeated(r, wire, WIRE_FIXED32, readF32, (vals ??= []), 2);
        break;
      case T_DOUBLE_VAL:
        valsDtypeField = field;
        readRepeated(r, wire, WIRE_FIXED64, readF64, (vals ??= []), 2);
        break;
      case T_INT_VAL:
      case T_INT64_VAL:
      case T_BOOL_VAL:
      case T_HALF_VAL:
        valsDtypeField = field;
        readRepeated(r, wire, WIRE_VARINT, readVar, (vals ??= []), 2);
        break;
      default:
        r.skip(wire);
    }
  }
  if (elements !== 1) return undefined;
  if (contentStart >= 0) return contentScalar(dtype, r.buf, contentStart, contentEnd);
  if (!vals || vals.length !== 1 || valsDtypeField === 0) return undefined;
  const v = vals[0];
  if (valsDtypeField === T_HALF_VAL) return dtype === DT_BFLOAT16 ? bfloat16ToNumber(v) : halfToNumber(v);
  if (dtype === DT_INT32) return v | 0;
  return v;
}

/** Number of elements of a TensorShapeProto (rank 0 → 1); NaN for unknown rank or sizes. */
function shapeElements(r: ProtoReader): number {
  let n = 1;
  while (r.pos < r.end) {
    const key = r.tag();
    if (key >>> 3 === 2 && (key & 7) === WIRE_LEN) {
      const d = r.message();
      let size = 0;
      while (d.pos < d.end) {
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

function contentScalar(dtype: number, buf: Uint8Array, start: number, end: number): number | undefined {
  const n = end - start;
  // The hot cases (float32, float64) avoid allocating a DataView.
  if (dtype === DT_FLOAT) return n === 4 ? readFloat32LE(buf, start) : undefined;
  if (dtype === DT_DOUBLE) return n === 8 ? readFloat64LE(buf, start) : undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset + start, n);
  switch (dtype) {
    case DT_INT32:
      return n === 4 ? dv.getInt32(0, true) : undefined;
    case DT_UINT32:
      return n === 4 ? dv.getUint32(0, true) : undefined;
    case DT_INT64:
      return n === 8 ? Number(dv.getBigInt64(0, true)) : undefined;
    case DT_UINT64:
      return n === 8 ? Number(dv.getBigUint64(0, true)) : undefined;
    case DT_INT16:
      return n === 2 ? dv.getInt16(0, true) : undefined;
    case DT_UINT16:
      return n === 2 ? dv.getUint16(0, true) : undefined;
    case DT_INT8:
      return n === 1 ? dv.getInt8(0) : undefined;
    case DT_UINT8:
    case DT_BOOL:
      return n === 1 ? dv.getUint8(0) : undefined;
    case DT_HALF:
      return n === 2 ? halfToNumber(dv.getUint16(0, true)) : undefined;
    case DT_BFLOAT16:
      return n === 2 ? bfloat16ToNumber(dv.getUint16(0, true)) : undefined;
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
