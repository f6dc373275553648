import { open } from 'node:fs/promises';
import * as crc from './crc32c';

// Bound once at load: under tsx (bench, tests) an imported function is reached through an accessor on
// each call, which cost ≈ 15 ns per record in the framing loop below (bench/logs.ts, side by side).
const { crc32cView, maskCrc, maskedCrc32c, maskedCrc32cOfWords } = crc;

/**
 * TFRecord framing, read as a stream:
 *
 *   uint64 length (LE) | uint32 masked CRC32C of those 8 bytes | payload | uint32 masked CRC32C of payload
 *
 * Policy (issues #2, #10): a partial record at the end is not an error (the file is being appended to;
 * the caller resumes from `nextOffset`); a payload CRC mismatch skips that one record and counts it; a
 * length CRC mismatch is reported and reading resumes at the next offset whose length checksum is valid
 * (the file stops only when there is none). Lengths are capped: a record is
 * only ever buffered after its length CRC has passed, it fits under the cap and the file really holds
 * that many bytes, so no allocation follows a length claimed by corrupt data.
 */

export const HEADER_BYTES = 12;
export const FOOTER_BYTES = 4;
/** Default cap on one record's payload. Scalar events are ~50 bytes; graphs and images can be MBs. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Why reading a file stopped. `end`: every byte was a whole record. */
export type FrameStop = 'end' | 'partial' | 'bad_length_crc';

export interface FrameReadOptions {
  /** Byte offset to start at: 0, or a `nextOffset` returned earlier. */
  startOffset?: number;
  maxRecordBytes?: number;
  /** Verify payload CRCs (default true). The length CRC is always verified: it guards allocation. */
  verifyPayloadCrc?: boolean;
  chunkBytes?: number;
  /** Checked between chunks; return true to stop early (cancellation). */
  shouldStop?: () => boolean;
  /** `false` handles every record with the general loop (tests compare the two; see `scanWholeRecords`). */
  wholeRecordScan?: boolean;
}

export interface FrameReadResult {
  /** Offset just past the last whole record: where a later read resumes. */
  nextOffset: number;
  stop: FrameStop;
  records: number;
  /** Records skipped because their payload CRC did not match. */
  badPayloadCrc: number;
  /** Records skipped because they were longer than `maxRecordBytes` (their length CRC was good). */
  oversize: number;
  /** Damaged regions skipped by scanning for the next record whose length checksum is valid. */
  resynced: number;
  /** Human-readable problems, each naming a byte offset; the caller adds the file name. */
  problems: string[];
  /** File size when reading ended. */
  fileBytes: number;
}

/**
 * Calls `onRecord(buf, start, end, offset)` for each whole, CRC-checked record of `file` from
 * `startOffset` on: the payload is `buf[start, end)` of a reused buffer, valid only during the call (no
 * view is allocated per record). Exceptions thrown by `onRecord` propagate (after the file is closed).
 */
export async function readFrames(file: string, onRecord: OnRecord, opts: FrameReadOptions = {}): Promise<FrameReadResult> {
  const maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const verify = opts.verifyPayloadCrc ?? true;
  const fastScan = opts.wholeRecordScan ?? true;
  const fh = await open(file, 'r');
  try {
    let fileBytes = (await fh.stat()).size;
    let buf = new Uint8Array(Math.max(64, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES));
    let view = new DataView(buf.buffer);
    let bufFileStart = opts.startOffset ?? 0; // file offset of buf[0]
    let bufLen = 0;
    let pos = 0;
    let eof = false;
    const res: FrameReadResult = { nextOffset: bufFileStart, stop: 'end', records: 0, badPayloadCrc: 0, oversize: 0, resynced: 0, problems: [], fileBytes };
    // After a payload checksum mismatch: the bad record's offset and where its length says the next begins.
    let rescan: { from: number; resume: number } | undefined;

    /** Moves the unread tail to the front and reads more; sets `eof` when the file has no more bytes. */
    const refill = async (): Promise<number> => {
      if (pos > 0) {
        buf.copyWithin(0, pos, bufLen);
        bufFileStart += pos;
        bufLen -= pos;
        pos = 0;
      }
      const { bytesRead } = await fh.read(buf, bufLen, buf.length - bufLen, bufFileStart + bufLen);
      eof = bytesRead === 0;
      bufLen += bytesRead;
      return bytesRead;
    };

    for (;;) {
      // Bytes past the last known file size go through the general path below, which re-checks the size.
      if (fastScan) {
        const before = pos;
        pos = scanWholeRecords(buf, view, pos, Math.min(bufLen, fileBytes - bufFileStart), maxRecord, verify, bufFileStart, onRecord, res);
        if (pos !== before) rescan = undefined;
      }
      if (bufLen - pos < HEADER_BYTES) {
        if (eof || opts.shouldStop?.()) break;
        await refill();
        continue;
      }
      const lo = view.getUint32(pos, true);
      const hi = view.getUint32(pos + 4, true);
      if (maskedCrc32c(buf, pos, pos + 8) !== view.getUint32(pos + 8, true)) {
        // Damaged framing: look for the next offset whose 8 length bytes match their checksum (a false
        // match has probability 2⁻³² per offset, and its payload CRC is checked as well) and go on from
        // there, so one damaged region loses only the records it touches (issue #10).
        const badAt = bufFileStart + pos;
        const after = rescan;
        rescan = undefined;
        let found = false;
        pos++;
        for (;;) {
          if (bufLen - pos < HEADER_BYTES) {
            if (eof || opts.shouldStop?.()) break;
            await refill();
            continue;
          }
          if (maskedCrc32c(buf, pos, pos + 8) === view.getUint32(pos + 8, true)) {
            found = true;
            break;
          }
          pos++;
        }
        if (after) {
          // The scan started inside a record whose payload failed its checksum (already counted).
          if (!found) {
            bufFileStart = after.resume;
            bufLen = 0;
            pos = 0;
            eof = true;
            res.nextOffset = after.resume;
          } else if (bufFileStart + pos !== after.resume) {
            res.resynced++;
            if (res.resynced <= 5) res.problems.push(`offset ${after.from}: the record's length does not lead to the next record (cut short and written on after?); read on from the next valid record at offset ${bufFileStart + pos}`);
          }
          continue;
        }
        if (!found) {
          res.stop = 'bad_length_crc';
          res.problems.push(`offset ${badAt}: record length checksum mismatch and no valid record after it; the rest of the file (${fileBytes - badAt} bytes) is unreadable`);
          res.nextOffset = badAt;
          return res;
        }
        res.resynced++;
        if (res.resynced <= 5) res.problems.push(`offset ${badAt}: record length checksum mismatch; skipped ${bufFileStart + pos - badAt} damaged bytes to the next valid record at offset ${bufFileStart + pos}`);
        continue;
      }
      rescan = undefined;
      const payloadLen = hi * 4294967296 + lo;
      const total = HEADER_BYTES + payloadLen + FOOTER_BYTES;
      const recordStart = bufFileStart + pos;
      if (recordStart + total > fileBytes) {
        // Not all there yet (or the file was cut): a later read resumes here. Re-check the size first,
        // since the file may have grown while we read.
        fileBytes = (await fh.stat()).size;
        res.fileBytes = fileBytes;
        if (recordStart + total > fileBytes) {
          res.stop = 'partial';
          break;
        }
      }
      if (payloadLen > maxRecord) {
        res.oversize++;
        res.problems.push(`offset ${recordStart}: record of ${payloadLen} bytes is over the ${maxRecord}-byte limit; skipped`);
        bufFileStart = recordStart + total;
        bufLen = 0;
        pos = 0;
        eof = false;
        res.nextOffset = bufFileStart;
        continue;
      }
      if (bufLen - pos < total) {
        if (total > buf.length) {
          // Bounded by maxRecord, and the bytes were just seen to exist in the file.
          const bigger = new Uint8Array(Math.max(total, buf.length * 2));
          bigger.set(buf.subarray(pos, bufLen));
          bufLen -= pos;
          bufFileStart += pos;
          pos = 0;
          buf = bigger;
          view = new DataView(buf.buffer);
        }
        // The size check above says the bytes exist; if none arrive the file was cut meanwhile.
        if ((await refill()) === 0) {
          res.stop = 'partial';
          break;
        }
        continue;
      }
      const pStart = pos + HEADER_BYTES;
      const pEnd = pStart + payloadLen;
      pos += total;
      if (verify && maskedCrc32c(buf, pStart, pEnd) !== view.getUint32(pEnd, true)) {
        res.badPayloadCrc++;
        if (res.badPayloadCrc <= 5) res.problems.push(`offset ${recordStart}: record payload checksum mismatch; record skipped`);
        // Its length may be what is wrong (a record cut short, then more records written after it): look
        // for the next valid header from just after this one, not where the length points. A flipped
        // payload byte finds the next record where the length said; a cut record loses only itself.
        rescan = { from: recordStart, resume: recordStart + total };
        pos = pStart;
        continue;
      } else {
        res.records++;
        onRecord(buf, pStart, pEnd, recordStart);
      }
      res.nextOffset = bufFileStart + pos;
    }
    if (res.stop === 'end' && bufFileStart + pos < fileBytes && !opts.shouldStop?.()) res.stop = 'partial';
    if (res.resynced > 5) res.problems.push(`${res.resynced} damaged regions in all were skipped`);
    if (res.badPayloadCrc > 5) res.problems.push(`${res.badPayloadCrc} records in all had payload checksum mismatches and were skipped`);
    return res;
  } finally {
    await fh.close();
  }
}

type OnRecord = (buf: Uint8Array, start: number, end: number, offset: number) => void;

/**
 * The common case, kept out of the async loop so that it runs as one tight synchronous loop with its
 * state in locals (PERFORMANCE-NOTES.md, issue #2: per-record overhead dominates on scalar-only files):
 * consecutive records that lie whole in `buf[pos, limit)`, whose length checksum is good, whose length
 * is within the cap and whose payload checksum is good (when verified). At the first record that is
 * anything else it stops and returns that record's position, and `readFrames` handles the record with
 * its general code, exactly as it would have without this loop; so the damage policy lives in one place.
 */
function scanWholeRecords(buf: Uint8Array, view: DataView, pos: number, limit: number, maxRecord: number, verify: boolean, bufFileStart: number, onRecord: OnRecord, res: FrameReadResult): number {
  const start = pos;
  let records = 0;
  while (limit - pos >= HEADER_BYTES) {
    const lo = view.getUint32(pos, true);
    const hi = view.getUint32(pos + 4, true);
    if (hi !== 0 || lo > maxRecord || maskedCrc32cOfWords(lo, hi) !== view.getUint32(pos + 8, true)) break;
    const pStart = pos + HEADER_BYTES;
    const pEnd = pStart + lo;
    if (pEnd + FOOTER_BYTES > limit) break;
    if (verify && maskCrc(crc32cView(buf, view, pStart, pEnd)) !== view.getUint32(pEnd, true)) break;
    records++;
    onRecord(buf, pStart, pEnd, bufFileStart + pos);
    pos = pEnd + FOOTER_BYTES;
  }
  if (pos !== start) {
    res.records += records;
    res.nextOffset = bufFileStart + pos;
  }
  return pos;
}

/** Frames one record (used by the writer and by tests): header, payload, footer. */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length + FOOTER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payload.length >>> 0, true);
  dv.setUint32(4, Math.floor(payload.length / 4294967296), true);
  dv.setUint32(8, maskedCrc32c(out, 0, 8), true);
  out.set(payload, HEADER_BYTES);
  dv.setUint32(HEADER_BYTES + payload.length, maskedCrc32c(payload), true);
  return out;
}
