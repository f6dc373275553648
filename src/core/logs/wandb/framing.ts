import { open } from 'node:fs/promises';
import { CancelledError, HeatcapError } from '../../errors';
import { crc32WithPrefix } from './crc32';

/**
 * The framing of a W&B run log (`run-<id>.wandb`), read from the file itself and from the client's
 * public description (LevelDB's log format): a 7-byte file header, the ident `:W&B`, a little-endian
 * magic 0xBEE1 and a version byte (0); then 32 KiB blocks (the header is the first 7 bytes of block 0),
 * each a run of records `checksum u32 LE | length u16 LE | type u8 | data`, a record never crossing a
 * block; fewer than 7 bytes left at a block's end are a zero trailer. A logical record too long for
 * the rest of a block is split FIRST (2), MIDDLE (3)…, LAST (4); one that fits is FULL (1). The
 * checksum is CRC-32 (./crc32.ts) of the type byte and the data.
 *
 * A run that was never closed, or is being written, ends inside a record (or in a FIRST without its
 * LAST): the whole records before it are returned and `stop` is 'partial' with the offset. A bad
 * checksum or an impossible length is a problem (offset, words) and reading goes on: past just that
 * record when the next header checks out, else at the next block; fragments cut off by it are dropped.
 */

export const WANDB_BLOCK = 32768;
const HEADER = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;
/** Blocks read at a time (1 MiB). */
const CHUNK_BLOCKS = 32;
const MAX_PROBLEMS = 20;

export interface WandbFrameOptions {
  shouldStop?: () => boolean;
  /** A logical record longer than this is dropped with a problem (default 64 MiB). */
  maxRecordBytes?: number;
}

export interface WandbFrameResult {
  /** 'end': the file ends after a whole record; 'partial': inside one; 'not-wandb': no W&B header. */
  stop: 'end' | 'partial' | 'not-wandb';
  /** Where reading stopped: the file size, or the offset of the record the file ends inside. */
  offset: number;
  /** Logical records returned. */
  records: number;
  /** File header version byte (0 for every client seen). */
  version?: number;
  problems: { offset: number; message: string }[];
  fileBytes: number;
}

/**
 * Calls `onRecord(data, offset)` for every whole logical record, in file order (`offset`: where its
 * first fragment's header starts; `data` is only valid during the call). Throws only HeatcapError
 * (the file cannot be opened or read) or CancelledError.
 */
export async function readWandbFrames(file: string, onRecord: (data: Uint8Array, offset: number) => void, opts: WandbFrameOptions = {}): Promise<WandbFrameResult> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new HeatcapError(file, `cannot be opened (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    const size = (await fh.stat()).size;
    const res: WandbFrameResult = { stop: 'end', offset: size, records: 0, problems: [], fileBytes: size };
    let dropped = 0;
    const problem = (offset: number, message: string): void => {
      if (res.problems.length < MAX_PROBLEMS) res.problems.push({ offset, message });
      else dropped++;
    };
    const buf = new Uint8Array(CHUNK_BLOCKS * WANDB_BLOCK);
    const head = await readAt(fh, file, buf, 0, Math.min(HEADER, size));
    if (head < HEADER || buf[0] !== 0x3a || buf[1] !== 0x57 || buf[2] !== 0x26 || buf[3] !== 0x42) {
      res.stop = 'not-wandb';
      res.offset = 0;
      return res;
    }
    res.version = buf[6];
    if (buf[4] !== 0xe1 || buf[5] !== 0xbe) problem(4, `unexpected magic 0x${(buf[4] | (buf[5] << 8)).toString(16)} in the file header (0xbee1 expected); read anyway`);
    if (buf[6] !== 0) problem(6, `file header version ${buf[6]} is newer than the version 0 this reader knows; read anyway`);

    const maxRecord = opts.maxRecordBytes ?? 64 * 1024 * 1024;
    // The logical record being assembled from fragments, and where its first fragment began.
    let parts: Uint8Array[] = [];
    let partsBytes = 0;
    let pendingAt = -1;
    // After a fault, MIDDLE/LAST fragments whose FIRST was lost are dropped without another problem.
    let resyncing = false;
    const dropPending = (): void => {
      parts = [];
      partsBytes = 0;
      pendingAt = -1;
    };

    for (let chunkStart = 0; chunkStart < size; chunkStart += buf.length) {
      if (opts.shouldStop?.()) throw new CancelledError();
      const n = await readAt(fh, file, buf, chunkStart, Math.min(buf.length, size - chunkStart));
      for (let b0 = 0; b0 < n; b0 += WANDB_BLOCK) {
        const b1 = Math.min(b0 + WANDB_BLOCK, n);
        const blockIsWhole = b1 - b0 === WANDB_BLOCK;
        let p = chunkStart + b0 === 0 ? HEADER : b0;
        while (b1 - p >= HEADER) {
          const at = chunkStart + p;
          const crc = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
          const len = buf[p + 4] | (buf[p + 5] << 8);
          const type = buf[p + 6];
          if (crc === 0 && len === 0 && type === 0) break; // zero padding: the rest of the block is unused
          const end = p + HEADER + len;
          if (end > b1) {
            if (!blockIsWhole) {
              // The file ends inside this record.
              res.stop = 'partial';
              res.offset = pendingAt >= 0 ? pendingAt : at;
              return finish(res, dropped);
            }
            problem(at, `a record length of ${len} bytes runs past its 32 KiB block; the rest of the block was skipped`);
            dropPending();
            resyncing = true;
            break;
          }
          if (crc32WithPrefix(type, buf, p + HEADER, end) !== crc) {
            const skipOne = nextHeaderChecks(buf, end, b1, blockIsWhole);
            problem(at, skipOne ? `bad checksum in a record of ${len} bytes; skipped it` : 'bad checksum; the rest of its 32 KiB block was skipped');
            dropPending();
            resyncing = true;
            if (skipOne) {
              p = end;
              continue;
            }
            break;
          }
          const data = buf.subarray(p + HEADER, end);
          if (type === FULL) {
            if (pendingAt >= 0) problem(pendingAt, 'a record split over blocks was never finished; dropped');
            dropPending();
            resyncing = false;
            res.records++;
            onRecord(data, at);
          } else if (type === FIRST) {
            if (pendingAt >= 0) problem(pendingAt, 'a record split over blocks was never finished; dropped');
            dropPending();
            resyncing = false;
            pendingAt = at;
            parts.push(data.slice());
            partsBytes += len;
          } else if (type === MIDDLE || type === LAST) {
            if (pendingAt < 0) {
              if (!resyncing) problem(at, 'a record fragment without its start; dropped');
              resyncing = true;
            } else if (partsBytes + len > maxRecord) {
              problem(pendingAt, `a record longer than ${maxRecord} bytes; dropped`);
              dropPending();
              resyncing = true;
            } else {
              parts.push(data.slice());
              partsBytes += len;
              if (type === LAST) {
                const whole = concat(parts, partsBytes);
                const startAt = pendingAt;
                dropPending();
                res.records++;
                onRecord(whole, startAt);
              }
            }
          } else {
            problem(at, `unknown record type ${type}; skipped`);
          }
          p = end;
        }
        if (!blockIsWhole) {
          // The file's last, incomplete block: what is left is a cut header unless it is padding.
          const rest = buf.subarray(Math.max(p, 0), b1);
          if (p < b1 && rest.some((x) => x !== 0)) {
            res.stop = 'partial';
            res.offset = pendingAt >= 0 ? pendingAt : chunkStart + p;
            return finish(res, dropped);
          }
        }
      }
    }
    if (pendingAt >= 0) {
      res.stop = 'partial';
      res.offset = pendingAt;
    }
    return finish(res, dropped);
  } finally {
    await fh.close();
  }
}

function finish(res: WandbFrameResult, dropped: number): WandbFrameResult {
  if (dropped > 0) res.problems.push({ offset: res.problems[res.problems.length - 1]?.offset ?? 0, message: `and ${dropped} more fault(s) like these` });
  return res;
}

/** Whether a record header at `p` is the block's end or a record whose checksum checks out. */
function nextHeaderChecks(buf: Uint8Array, p: number, b1: number, blockIsWhole: boolean): boolean {
  if (b1 - p < HEADER) return blockIsWhole || p === b1;
  const crc = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
  const len = buf[p + 4] | (buf[p + 5] << 8);
  const type = buf[p + 6];
  if (crc === 0 && len === 0 && type === 0) return true;
  const end = p + HEADER + len;
  if (end > b1) return false;
  return crc32WithPrefix(type, buf, p + HEADER, end) === crc;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

async function readAt(fh: import('node:fs/promises').FileHandle, file: string, buf: Uint8Array, position: number, length: number): Promise<number> {
  let got = 0;
  try {
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } catch (e) {
    throw new HeatcapError(file, `could not be read at offset ${position + got} (${e instanceof Error ? e.message : String(e)})`);
  }
  return got;
}
