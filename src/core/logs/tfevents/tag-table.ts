import type { ScalarTarget } from './event';

/**
 * What the event decoder's fast path remembers about one tag, found again by the tag's bytes so that a
 * scalar event costs no text decoding and no string-keyed lookup (issue #2: on scalar-only files these
 * lookups were a large part of the time per record).
 */
export interface TagEntry {
  readonly bytes: Uint8Array;
  readonly text: string;
  /** Where this tag's scalars go: asked for at the tag's first point (asking may create a series). */
  target: ScalarTarget | undefined;
  /** The decoder's plugin-map version at which the map last said this tag is a `scalars` tag (or -1). */
  scalarsAt: number;
  /** The entry that followed this one last time: logs cycle through their tags in a fixed order. */
  next: TagEntry | undefined;
  /** This tag's summary layouts seen so far (a handful at most; see `Shape`). */
  readonly shapes: Shape[];
}

/**
 * The exact bytes of one scalar event's summary field (its key and length through the end of the
 * record) apart from the 4-byte float32 value, which sits at `valueAt`: a tag written the same way
 * again has the same bytes, so a later record is decoded by one comparison instead of a parse. What the
 * parse found in these bytes is kept with them; the value bytes are zero here and never compared.
 */
export interface Shape {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly valueAt: number;
  readonly tag: TagEntry;
  /** A TF2 scalar tensor (rather than a `simple_value`). */
  readonly tensor: boolean;
  /** Carries metadata naming the `scalars` plugin. */
  readonly meta: boolean;
  /** The shape of the scalar event that followed this one last time. */
  next: Shape | undefined;
}

/** At most this many shapes per tag (tags are untrusted; a tag written in many ways just parses). */
const MAX_SHAPES_PER_TAG = 4;

/**
 * The shape of `tag` whose bytes equal `buf[start, end)` apart from the value at `start + valueAt`,
 * added when new and there is room; undefined otherwise.
 */
export function findShape(tag: TagEntry, buf: Uint8Array, view: DataView, start: number, end: number, valueAt: number, tensor: boolean, meta: boolean): Shape | undefined {
  for (const sh of tag.shapes) if (sh.bytes.length === end - start && sh.valueAt === valueAt && sameShape(sh, view, start)) return sh;
  if (tag.shapes.length >= MAX_SHAPES_PER_TAG) return undefined;
  const bytes = buf.slice(start, end);
  bytes.fill(0, valueAt, valueAt + 4);
  const sh: Shape = { bytes, view: new DataView(bytes.buffer), valueAt, tag, tensor, meta, next: undefined };
  tag.shapes.push(sh);
  return sh;
}

/**
 * Whether the `sh.bytes.length` bytes at `view[start]` equal the shape's, the value bytes aside (the
 * caller checks that they are in the record). This comparison is the per-record cost of a known shape,
 * so it goes 4 bytes at a time, the last word of each side of the value overlapping the one before.
 */
export function sameShape(sh: Shape, view: DataView, start: number): boolean {
  return sameRange(view, start, sh.view, 0, sh.valueAt) && sameRange(view, start, sh.view, sh.valueAt + 4, sh.bytes.length);
}

/** `view[start + i] === v[i]` for i in [from, to). */
function sameRange(view: DataView, start: number, v: DataView, from: number, to: number): boolean {
  if (to - from < 4) {
    for (let i = from; i < to; i++) if (view.getUint8(start + i) !== v.getUint8(i)) return false;
    return true;
  }
  for (let i = from; i < to - 4; i += 4) if (view.getInt32(start + i, true) !== v.getInt32(i, true)) return false;
  return view.getInt32(start + to - 4, true) === v.getInt32(to - 4, true);
}

/**
 * Tag bytes → entry. A lookup first tries the entry that followed the previous one last time (one byte
 * comparison when the log repeats its order, the usual case), then a hash of the bytes. Tags are
 * untrusted: at most `limit` entries are kept, and the decoder reads other tags the general way.
 */
export class TagTable {
  private readonly byHash = new Map<number, TagEntry[]>();
  private size = 0;
  private last: TagEntry | undefined;

  constructor(private readonly limit = 4096) {}

  /** The entry for the bytes `buf[start, end)`, or undefined when there is none yet. */
  lookup(buf: Uint8Array, start: number, end: number): TagEntry | undefined {
    const prev = this.last;
    let e = prev?.next;
    if (e === undefined || !sameBytes(e.bytes, buf, start, end)) {
      e = undefined;
      const list = this.byHash.get(hashBytes(buf, start, end));
      if (list) {
        for (const x of list) {
          if (sameBytes(x.bytes, buf, start, end)) {
            e = x;
            break;
          }
        }
      }
      if (e === undefined) return undefined;
      if (prev) prev.next = e;
    }
    this.last = e;
    return e;
  }

  /** Adds an entry for bytes that `lookup` did not find; undefined when the table is full. */
  insert(buf: Uint8Array, start: number, end: number, text: string): TagEntry | undefined {
    if (this.size >= this.limit) return undefined;
    const e: TagEntry = { bytes: buf.slice(start, end), text, target: undefined, scalarsAt: -1, next: undefined, shapes: [] };
    const h = hashBytes(buf, start, end);
    const list = this.byHash.get(h);
    if (list) list.push(e);
    else this.byHash.set(h, [e]);
    this.size++;
    if (this.last) this.last.next = e;
    this.last = e;
    return e;
  }
}

function sameBytes(a: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** 32-bit FNV-1a: enough to spread a run's tags (collisions only cost a comparison). */
function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h;
}
