import { open } from 'node:fs/promises';

/**
 * Streams a text file in chunks cut at line ends, for the line-oriented readers (CSV, JSONL, MLflow
 * metric files). `consume(text, final)` returns how many characters of `text` it used (whole records);
 * the rest is carried into the next chunk. Memory stays at about one chunk whatever the file size.
 */
export interface TextStreamOptions {
  startOffset?: number;
  /** Also pass the last line when it has no line end yet (a one-shot read of a finished file). */
  includeUnterminated?: boolean;
  chunkBytes?: number;
  /** A single line longer than this stops the read with a problem (a binary file, most likely). */
  maxLineBytes?: number;
  shouldStop?: () => boolean;
}

export interface TextStreamResult {
  /** Byte offset just past the last whole record consumed: where a tail read resumes. */
  nextOffset: number;
  fileBytes: number;
  /** Set when a line was longer than `maxLineBytes` and reading stopped there. */
  lineTooLong?: number;
}

const NL = 0x0a;
const decoder = new TextDecoder('utf-8');

export async function streamText(file: string, consume: (text: string, final: boolean) => number, opts: TextStreamOptions = {}): Promise<TextStreamResult> {
  const chunk = opts.chunkBytes ?? 1024 * 1024;
  const maxLine = opts.maxLineBytes ?? 16 * 1024 * 1024;
  const fh = await open(file, 'r');
  try {
    const fileBytes = (await fh.stat()).size;
    let buf = new Uint8Array(chunk);
    let carry = 0; // bytes at buf[0, carry) not yet consumed
    let fileOffsetOfBuf = opts.startOffset ?? 0;
    let eof = false;
    while (!eof) {
      if (opts.shouldStop?.()) break;
      if (carry === buf.length) {
        if (buf.length >= maxLine) return { nextOffset: fileOffsetOfBuf, fileBytes, lineTooLong: fileOffsetOfBuf };
        const bigger = new Uint8Array(Math.min(maxLine, buf.length * 2));
        bigger.set(buf.subarray(0, carry));
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, carry, buf.length - carry, fileOffsetOfBuf + carry);
      if (bytesRead === 0) eof = true;
      const valid = carry + bytesRead;
      const lastNl = buf.lastIndexOf(NL, valid - 1);
      if (lastNl < 0 || valid === 0) {
        carry = valid;
        continue;
      }
      const text = decoder.decode(buf.subarray(0, lastNl + 1));
      const used = consume(text, false);
      const usedBytes = used === text.length ? lastNl + 1 : Buffer.byteLength(text.slice(0, used), 'utf8');
      buf.copyWithin(0, usedBytes, valid);
      carry = valid - usedBytes;
      fileOffsetOfBuf += usedBytes;
    }
    if (eof && carry > 0 && opts.includeUnterminated) consume(decoder.decode(buf.subarray(0, carry)), true);
    return { nextOffset: fileOffsetOfBuf, fileBytes };
  } finally {
    await fh.close();
  }
}
