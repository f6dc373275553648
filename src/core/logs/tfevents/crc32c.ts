/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as used by TFRecord framing, computed with the
 * slicing-by-8 method: eight 256-entry tables let the inner loop consume 8 bytes per iteration, which
 * is what makes checking every record affordable in JS (PERFORMANCE-NOTES.md: ≈0.5 GB/s).
 *
 * Details measured with bench/logs.ts and on the event reader's short records (≈30–60 bytes): the eight
 * tables live in one flat array (entry k·256 + b) and each 8-byte block is loaded as two little-endian
 * words through a DataView instead of byte by byte (≈25% less time per short record); and the loop is
 * split so V8 does not keep deoptimising it (see `update`). That deoptimisation made the reader's
 * per-record CRCs 2–3× slower than the same kernel measured alone, and it slowed the benchmark's own
 * floor too (read + CRC of a whole file in the same process: ≈0.6 GB/s before, 1.1–1.2 GB/s after).
 * The reader calls `crc32cView` with the DataView it keeps per buffer, so no view is made per record.
 */

const POLY = 0x82f63b78;

/** TABLE[k·256 + b]: CRC of byte b followed by k zero bytes; the first 256 are the classic byte table. */
const TABLE: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) for (let n = 0; n < 256; n++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  return t;
})();

/**
 * The register update over `buf[start, end)`; `c` is the raw (inverted) register, as returned. It is
 * split in two loops in two functions so that no code follows a long loop: when V8 optimises a function
 * in the middle of its first long loop (the first call is often a 1 MiB chunk), code after that loop has
 * no type feedback yet, and it deoptimised on every later short call (seen with `--trace-deopt`; it made
 * the reader's per-record CRC 2–3× slower than the same kernel measured alone).
 */
function update(buf: Uint8Array, view: DataView, start: number, end: number, c: number): number {
  const blocksEnd = end - ((end - start) & 7);
  return updateBytes(buf, blocksEnd, end, updateBlocks(view, start, blocksEnd, c));
}

/** Whole 8-byte blocks, `end - start` a multiple of 8. */
function updateBlocks(view: DataView, start: number, end: number, c: number): number {
  const T = TABLE;
  for (let i = start; i < end; i += 8) {
    const lo = c ^ view.getInt32(i, true);
    const hi = view.getInt32(i + 4, true);
    c =
      T[0x700 + (lo & 0xff)] ^
      T[0x600 + ((lo >>> 8) & 0xff)] ^
      T[0x500 + ((lo >>> 16) & 0xff)] ^
      T[0x400 + (lo >>> 24)] ^
      T[0x300 + (hi & 0xff)] ^
      T[0x200 + ((hi >>> 8) & 0xff)] ^
      T[0x100 + ((hi >>> 16) & 0xff)] ^
      T[hi >>> 24];
  }
  return c;
}

/** The last 0–7 bytes, one at a time. */
function updateBytes(buf: Uint8Array, start: number, end: number, c: number): number {
  const T = TABLE;
  for (let i = start; i < end; i++) c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return c;
}

/** CRC32C of `buf[start, end)`, continuing from `crc` (0 for a fresh checksum). Unsigned 32-bit result. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  return ~update(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), start, end, ~crc) >>> 0;
}

/** `crc32c(buf, start, end)` where `view` is a DataView over exactly `buf` (the hot path: no allocation). */
export function crc32cView(buf: Uint8Array, view: DataView, start: number, end: number): number {
  return ~update(buf, view, start, end, -1) >>> 0;
}

/**
 * The masked CRC of 8 bytes given as their two little-endian 32-bit words (a TFRecord length, which the
 * caller has read anyway): one unrolled block and no loop, for the check that every record pays.
 */
export function maskedCrc32cOfWords(lo: number, hi: number): number {
  const T = TABLE;
  const a = ~lo;
  const c =
    T[0x700 + (a & 0xff)] ^
    T[0x600 + ((a >>> 8) & 0xff)] ^
    T[0x500 + ((a >>> 16) & 0xff)] ^
    T[0x400 + (a >>> 24)] ^
    T[0x300 + (hi & 0xff)] ^
    T[0x200 + ((hi >>> 8) & 0xff)] ^
    T[0x100 + ((hi >>> 16) & 0xff)] ^
    T[hi >>> 24];
  return maskCrc(~c >>> 0);
}

/** TFRecord's masked CRC: rotate right by 15 bits and add a constant (so CRCs of CRCs stay distinct). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export function maskedCrc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return maskCrc(crc32c(buf, start, end));
}
