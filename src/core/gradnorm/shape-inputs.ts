import { HeatcapError } from '../errors';
import { reshapeRows, rowSizeOf, type ArraySource } from '../data/source';

/** Fits the data's rows to the model's input shape (e.g. 784 → 28×28×1), or explains why not. */
export function shapeInputs(src: ArraySource, modelShape: (number | null)[], modelFile: string): ArraySource {
  const dims = modelShape.slice(1);
  const rs = src.rowShape;
  const fmt = (s: (number | null)[]) => `(${s.map((d) => d ?? 'None').join(', ')})`;
  const mismatch = () =>
    new HeatcapError(src.file, `rows of shape ${fmt(rs)} (${src.rowSize} values) do not fit the model's input ${fmt(dims)} (${modelFile})`);
  if (rs.length === dims.length && dims.every((d, i) => d === null || d === rs[i])) return src;
  const known = dims.filter((d): d is number => d !== null);
  const unknown = dims.length - known.length;
  const knownSize = rowSizeOf(known);
  if (unknown === 0) {
    if (knownSize !== src.rowSize) throw mismatch();
    return reshapeRows(src, known);
  }
  if (unknown === 1 && knownSize > 0 && src.rowSize % knownSize === 0) {
    return reshapeRows(src, dims.map((d) => d ?? src.rowSize / knownSize));
  }
  throw mismatch();
}

