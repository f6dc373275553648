/**
 * One training example as the panel shows it (`ExamplePayload`, src/shared/webviewProtocol.ts): an image
 * when its values form one, else a row of numbers. Pure functions over values already read.
 */
import type { ExamplePayload } from '../../shared/webviewProtocol';

/** The panel's limits (src/shared/webviewProtocol.ts refuses larger payloads). */
const MAX_IMAGE_VALUES = 4096 * 4096 * 4;
const MAX_ROW_VALUES = 100_000;
/** Fewer values than this are a table row even when their count is a square (a 3×3 "image" of features). */
const MIN_SQUARE_SIDE = 8;

export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3 | 4;
}

/** H×W or H×W×C (channels last, as TensorFlow.js models take images) with C ∈ {1, 3, 4}. */
export function imageShapeOf(shape: readonly number[] | undefined): ImageShape | undefined {
  if (!shape || shape.some((d) => !Number.isInteger(d) || d < 1)) return undefined;
  if (shape.length === 2) return { height: shape[0], width: shape[1], channels: 1 };
  if (shape.length === 3 && (shape[2] === 1 || shape[2] === 3 || shape[2] === 4)) return { height: shape[0], width: shape[1], channels: shape[2] };
  return undefined;
}

/**
 * How to draw `size` values: the model's input shape when it is an image of that size, else the data
 * file's own row shape when it is one, else a square of side ≥ 8 (a flattened 8×8 digit, a 28×28 MNIST
 * row), else not an image.
 */
export function pickImageShape(size: number, modelInput: readonly number[] | undefined, rowShape: readonly number[]): ImageShape | undefined {
  for (const s of [imageShapeOf(modelInput), imageShapeOf(rowShape)]) {
    if (s && s.height * s.width * s.channels === size) return s;
  }
  const side = Math.round(Math.sqrt(size));
  return side >= MIN_SQUARE_SIDE && side * side === size ? { height: side, width: side, channels: 1 } : undefined;
}

/**
 * The grey levels drawn black and white: black is 0 (or the smallest value when negative), white is 1
 * for values in [0, 1] (normalised pixels), else the largest value (UCI digits' 0..16, 0..255 bytes).
 */
export function displayRange(values: readonly number[]): [number, number] {
  // A loop, not Math.min(...values): an image has more values than a call can take arguments.
  let lo = 0;
  let max = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > max) max = v;
  }
  const hi = lo >= 0 && max <= 1 ? 1 : max;
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/** `x[3]`, or `x[1,2]` for rows of more than one dimension. */
function columnName(i: number, rowShape: readonly number[]): string {
  if (rowShape.length <= 1) return `x[${i}]`;
  const idx: number[] = [];
  let rest = i;
  for (let d = rowShape.length - 1; d >= 0; d--) {
    idx.unshift(rest % rowShape[d]);
    rest = Math.floor(rest / rowShape[d]);
  }
  return `x[${idx.join(',')}]`;
}

export function examplePayload(values: readonly number[], rowShape: readonly number[], modelInput?: readonly number[]): ExamplePayload {
  const image = pickImageShape(values.length, modelInput, rowShape);
  if (image && values.length <= MAX_IMAGE_VALUES) {
    const range = displayRange(values);
    // A NaN pixel cannot cross the protocol (JSON has no NaN): it is drawn black.
    const pixels = values.map((v) => (Number.isFinite(v) ? v : range[0]));
    return { kind: 'image', width: image.width, height: image.height, channels: image.channels, pixels, range };
  }
  if (values.length > MAX_ROW_VALUES) return { kind: 'unavailable', reason: `the example has ${values.length} values, too many to show` };
  return {
    kind: 'row',
    columns: values.map((_, i) => columnName(i, rowShape)),
    values: values.map((v) => (Number.isFinite(v) ? v : null)),
  };
}

/**
 * An example's label as the panel shows it: the class index or target value; the class of a one-hot
 * row; else the first values, written out.
 */
export function labelOf(values: readonly number[]): number | string | null {
  if (values.length === 0) return null;
  if (values.length === 1) return Number.isFinite(values[0]) ? values[0] : null;
  const hot = values.filter((v) => v === 1).length === 1 && values.every((v) => v === 0 || v === 1);
  if (hot) return values.indexOf(1);
  const shown = values.slice(0, 8).map((v) => (Number.isFinite(v) ? String(v) : 'NaN'));
  return `[${shown.join(', ')}${values.length > 8 ? ', …' : ''}]`;
}
