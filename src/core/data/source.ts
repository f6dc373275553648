import type { NpyKind } from './npy-header';

/**
 * N rows of a fixed per-row shape, read in chunks so memory stays bounded whatever N is. Every reader
 * (npy, npz, csv, jsonl) produces one; the engine only ever asks for consecutive row ranges.
 */
export interface ArraySource {
  /** The file the rows come from (for error messages), with `#key` for an npz member. */
  readonly file: string;
  /** Number of rows (the first axis). */
  readonly n: number;
  /** Shape of one row (the array's shape without its first axis). */
  readonly rowShape: number[];
  /** prod(rowShape). */
  readonly rowSize: number;
  /** True when the stored values are integers (class indices, token ids, uint8 pixels). */
  readonly integer: boolean;
  /** Copies rows [start, start+count) into `out` (row-major, length ≥ count·rowSize). */
  readRows(start: number, count: number, out: Float32Array | Float64Array): void;
  /** Releases a file descriptor, when there is one. Idempotent. */
  close(): void;
}

export function rowSizeOf(rowShape: number[]): number {
  return rowShape.reduce((a, b) => a * b, 1);
}

/** An ArraySource over values already in memory (CSV, JSONL, a deflated npz member, tests). */
export class MemorySource implements ArraySource {
  readonly rowSize: number;
  constructor(
    readonly file: string,
    readonly values: Float32Array | Float64Array,
    readonly n: number,
    readonly rowShape: number[],
    readonly integer: boolean,
  ) {
    this.rowSize = rowSizeOf(rowShape);
    if (values.length !== n * this.rowSize) throw new Error(`MemorySource: ${values.length} values for ${n} rows of ${this.rowSize}`);
  }

  readRows(start: number, count: number, out: Float32Array | Float64Array): void {
    out.set(this.values.subarray(start * this.rowSize, (start + count) * this.rowSize));
  }

  close(): void {}
}

/** Presents an ArraySource with a different row shape of the same size (e.g. 784 → 28×28×1). */
export function reshapeRows(src: ArraySource, rowShape: number[]): ArraySource {
  return {
    file: src.file,
    n: src.n,
    rowShape,
    rowSize: src.rowSize,
    integer: src.integer,
    readRows: (s, c, o) => src.readRows(s, c, o),
    close: () => src.close(),
  };
}

export type { NpyKind };
