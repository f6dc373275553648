import type { NpyKind } from './npy-header';

/** IEEE 754 half precision to a JS number (NumPy float16). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Converts `count` elements of a NumPy dtype stored in `bytes` into `out` starting at `outOffset`.
 * `bytes` must start at byte 0 of its own buffer or at an offset aligned to the item size for the
 * little-endian fast path; anything else goes through a DataView (still exact, only slower).
 */
export function decodeElements(
  bytes: Uint8Array,
  kind: NpyKind,
  littleEndian: boolean,
  count: number,
  out: Float32Array | Float64Array,
  outOffset = 0,
): void {
  const size = { f2: 2, f4: 4, f8: 8, i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, b1: 1 }[kind];
  const aligned = littleEndian && bytes.byteOffset % size === 0;
  if (aligned) {
    const b = bytes.buffer;
    const o = bytes.byteOffset;
    let view: ArrayLike<number> | undefined;
    switch (kind) {
      case 'f4': view = new Float32Array(b, o, count); break;
      case 'f8': view = new Float64Array(b, o, count); break;
      case 'i1': view = new Int8Array(b, o, count); break;
      case 'u1': case 'b1': view = new Uint8Array(b, o, count); break;
      case 'i2': view = new Int16Array(b, o, count); break;
      case 'u2': view = new Uint16Array(b, o, count); break;
      case 'i4': view = new Int32Array(b, o, count); break;
      case 'u4': view = new Uint32Array(b, o, count); break;
      default: break;
    }
    if (view) {
      if (kind === 'b1') for (let i = 0; i < count; i++) out[outOffset + i] = view[i] ? 1 : 0;
      else out.set(view as Float32Array, outOffset);
      return;
    }
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, count * size);
  const le = littleEndian;
  for (let i = 0; i < count; i++) {
    const p = i * size;
    let v: number;
    switch (kind) {
      case 'f2': v = halfToNumber(dv.getUint16(p, le)); break;
      case 'f4': v = dv.getFloat32(p, le); break;
      case 'f8': v = dv.getFloat64(p, le); break;
      case 'i1': v = dv.getInt8(p); break;
      case 'u1': v = dv.getUint8(p); break;
      case 'b1': v = dv.getUint8(p) ? 1 : 0; break;
      case 'i2': v = dv.getInt16(p, le); break;
      case 'u2': v = dv.getUint16(p, le); break;
      case 'i4': v = dv.getInt32(p, le); break;
      case 'u4': v = dv.getUint32(p, le); break;
      case 'i8': v = Number(dv.getBigInt64(p, le)); break;
      case 'u8': v = Number(dv.getBigUint64(p, le)); break;
    }
    out[outOffset + i] = v;
  }
}

export function isIntegerKind(kind: NpyKind): boolean {
  return kind !== 'f2' && kind !== 'f4' && kind !== 'f8';
}
