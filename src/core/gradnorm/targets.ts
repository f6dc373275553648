import { HeatcapError } from '../errors';
import type { ArraySource } from '../data/source';
import type { LossSpec } from './loss';

/**
 * Turns stored labels into the target array the loss needs for a chunk of examples: one-hot rows
 * for both cross-entropies (from class indices or one-hot labels), values of the output's shape for
 * binary CE and MSE. Labels are checked as they are read: an index outside the model's classes, a
 * non-finite value or a binary target outside [0, 1] is an error naming the labels file and example.
 */
export interface TargetReader {
  /** Elements per example of the target (= elements of one model output). */
  readonly size: number;
  /** How the labels were interpreted, for the result's notes. */
  readonly interpretation: string;
  /** One-hot rows made from class indices: every row sums to exactly 1. */
  readonly fromIndices?: boolean;
  read(start: number, count: number): Float32Array;
}

function sameSize(a: number[], b: number[]): boolean {
  return a.reduce((x, y) => x * y, 1) === b.reduce((x, y) => x * y, 1);
}

/** `outShape`: the model output's shape without the batch axis (e.g. [10] or [T, 10]). */
export function targetReader(labels: ArraySource, loss: LossSpec, outShape: number[]): TargetReader {
  const size = outShape.reduce((a, b) => a * b, 1);
  const file = labels.file;
  const lshape = labels.rowShape;
  const describe = (s: number[]) => `(${['N', ...s].join(', ')})`;
  if (loss.kind === 'sparse_categorical_crossentropy' || loss.kind === 'categorical_crossentropy' || loss.kind === 'nll') {
    const classes = outShape[outShape.length - 1];
    const positions = size / classes;
    const asIndices = lshape.reduce((a, b) => a * b, 1) === positions && !(classes > 1 && positions === 1 && lshape.length === 1 && lshape[0] === classes);
    const asOneHot = sameSize(lshape, outShape) && classes > 1;
    if (!asIndices && !asOneHot) {
      throw new HeatcapError(file, `labels of shape ${describe(lshape)} fit neither class indices ${describe(outShape.slice(0, -1))} nor one-hot ${describe(outShape)} for the model's output ${describe(outShape)}`);
    }
    const raw = new Float64Array(0);
    let buf = raw;
    return {
      size,
      interpretation: asIndices ? `class indices 0..${classes - 1}` : `one-hot rows over ${classes} classes`,
      fromIndices: asIndices,
      read(start, count) {
        const per = asIndices ? positions : size;
        if (buf.length < count * per) buf = new Float64Array(count * per);
        labels.readRows(start, count, buf);
        const out = new Float32Array(count * size);
        if (asIndices) {
          for (let i = 0; i < count * positions; i++) {
            const c = buf[i];
            if (!Number.isInteger(c) || c < 0 || c >= classes) {
              const ex = start + Math.floor(i / positions);
              throw new HeatcapError(file, `example ${ex}: label ${c} is not a class index of the model's ${classes} outputs (0..${classes - 1})`);
            }
            out[i * classes + c] = 1;
          }
        } else {
          for (let r = 0; r < count * positions; r++) {
            let sum = 0;
            for (let k = 0; k < classes; k++) {
              const v = buf[r * classes + k];
              if (!(v >= 0 && v <= 1)) throw new HeatcapError(file, `example ${start + Math.floor(r / positions)}: one-hot label value ${v} is outside [0, 1]`);
              sum += v;
              out[r * classes + k] = v;
            }
            if (Math.abs(sum - 1) > 1e-4) throw new HeatcapError(file, `example ${start + Math.floor(r / positions)}: label row sums to ${sum}, not 1`);
          }
        }
        return out;
      },
    };
  }
  if (!sameSize(lshape, outShape)) {
    throw new HeatcapError(file, `labels of shape ${describe(lshape)} do not match the model's output ${describe(outShape)} for ${loss.kind}`);
  }
  return {
    size,
    interpretation: loss.kind === 'mse' ? 'regression targets' : 'binary targets in [0, 1]',
    read(start, count) {
      const out = new Float32Array(count * size);
      labels.readRows(start, count, out);
      for (let i = 0; i < out.length; i++) {
        const v = out[i];
        const ok = loss.kind === 'mse' ? Number.isFinite(v) : v >= 0 && v <= 1;
        if (!ok) throw new HeatcapError(file, `example ${start + Math.floor(i / size)}: target ${v} is ${loss.kind === 'mse' ? 'not finite' : 'outside [0, 1]'}`);
      }
      return out;
    },
  };
}
