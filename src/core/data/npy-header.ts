import { HeatcapError } from '../errors';

/** The numeric element types we read from `.npy` (NumPy's `descr` without the byte-order mark). */
export type NpyKind = 'f4' | 'f8' | 'f2' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' | 'b1';

export interface NpyHeader {
  kind: NpyKind;
  littleEndian: boolean;
  itemSize: number;
  shape: number[];
  /** Byte offset of the first element from the start of the `.npy` stream. */
  dataOffset: number;
  /** prod(shape) — checked to be a safe integer. */
  count: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** NumPy itself refuses headers over 10 000 bytes by default; allow some slack, never more. */
export const MAX_NPY_HEADER_BYTES = 65536;

const ITEM_SIZE: Record<NpyKind, number> = { f2: 2, f4: 4, f8: 8, i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, b1: 1 };

/** How many leading bytes are needed to know the header length. */
export const NPY_PREAMBLE_BYTES = 12;

/**
 * Reads the preamble (magic, version, header length) and returns the total header size in bytes, so
 * the caller can read exactly that much. Format: numpy.lib.format (versions 1.0, 2.0, 3.0).
 */
export function npyHeaderSize(pre: Uint8Array, file: string): number {
  if (pre.length < 10 || MAGIC.some((b, i) => pre[i] !== b)) throw new HeatcapError(file, 'not a .npy file (missing the \\x93NUMPY magic)');
  const major = pre[6];
  if (major === 1) return 10 + (pre[8] | (pre[9] << 8));
  if (major === 2 || major === 3) {
    if (pre.length < 12) throw new HeatcapError(file, 'truncated .npy header');
    const len = (pre[8] | (pre[9] << 8) | (pre[10] << 16)) + pre[11] * 2 ** 24;
    if (len > MAX_NPY_HEADER_BYTES) throw new HeatcapError(file, `.npy header claims ${len} bytes (more than ${MAX_NPY_HEADER_BYTES}); the file is corrupt`);
    return 12 + len;
  }
  throw new HeatcapError(file, `unsupported .npy format version ${major}.${pre[7]}`);
}

/** A tiny tokenizer for the Python dict literal NumPy writes: strings, True/False, ints, tuples. */
type PyValue = string | number | boolean | PyValue[] | { [k: string]: PyValue };

function parsePyLiteral(text: string, file: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new HeatcapError(file, `.npy header is not a valid dictionary (${what} at character ${i})`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 8) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      const dict: Record<string, PyValue> = {};
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const k = value(depth + 1);
        if (c === '{') {
          ws();
          if (text[i] !== ':' || typeof k !== 'string') fail("expected 'key':");
          i++;
          dict[k as string] = value(depth + 1);
        } else items.push(k);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      return c === '{' ? dict : items;
    }
    const m = /^(True|False|-?\d+L?)/.exec(text.slice(i, i + 24));
    if (!m) return fail('unexpected token');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    return Number(m[0].replace('L', ''));
  };
  return value(0);
}

/** Parses the header bytes (preamble included) of a `.npy` stream. */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const size = npyHeaderSize(bytes, file);
  if (bytes.length < size) throw new HeatcapError(file, 'truncated .npy header');
  const start = bytes[6] === 1 ? 10 : 12;
  const text = new TextDecoder('latin1').decode(bytes.subarray(start, size));
  const dict = parsePyLiteral(text, file);
  if (typeof dict !== 'object' || Array.isArray(dict)) throw new HeatcapError(file, '.npy header is not a dictionary');
  const descr = dict.descr;
  if (typeof descr !== 'string') {
    throw new HeatcapError(file, 'structured (record) arrays are not supported: save a plain numeric array');
  }
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  const kindText = m ? `${m[2]}${m[3]}` : descr;
  if (m?.[2] === 'O' || descr.includes('O')) {
    throw new HeatcapError(file, `object arrays (dtype '${descr}') are not supported: save a numeric array (e.g. np.asarray(x, dtype=np.float32))`);
  }
  if (!m || !(kindText in ITEM_SIZE)) throw new HeatcapError(file, `unsupported dtype '${descr}': use float32, float64, an integer type, uint8 or bool`);
  const kind = kindText as NpyKind;
  if (dict.fortran_order === true) {
    throw new HeatcapError(file, 'Fortran-ordered arrays are not supported: save with np.save(path, np.ascontiguousarray(x))');
  }
  if (dict.fortran_order !== false) throw new HeatcapError(file, ".npy header has no valid 'fortran_order'");
  const shapeValue = dict.shape;
  if (!Array.isArray(shapeValue) || shapeValue.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw new HeatcapError(file, ".npy header has no valid 'shape'");
  }
  const shape = shapeValue as number[];
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) throw new HeatcapError(file, `.npy shape (${shape.join(', ')}) is too large`);
  }
  return { kind, littleEndian: m[1] !== '>', itemSize: ITEM_SIZE[kind], shape, dataOffset: size, count };
}

/** The header NumPy would write (version 1.0, padded so the data starts on a 64-byte boundary). */
export function formatNpyHeader(descr: string, shape: number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  out.set(new TextEncoder().encode(dict), 10);
  return out;
}
