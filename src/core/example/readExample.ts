/**
 * Reads one training example (inputs row and label) with the training-data readers the gradient engine
 * uses (src/core/data/open.ts), so index i is the same example as in the per-example gradient norms.
 */
import { HeatcapError } from '../errors';
import { NpyFileSource } from '../data/npy';
import { openTrainingArrays, type DataFiles } from '../data/open';
import type { ArraySource } from '../data/source';
import type { ExamplePayload } from '../../shared/webviewProtocol';
import { modelInputShape } from './inputShape';
import { examplePayload, labelOf } from './payload';

export interface ExampleRequest extends DataFiles {
  index: number;
  /** model.json of the checkpoint: its input shape decides how the row is drawn. */
  model?: string;
}

export interface TrainingExample {
  index: number;
  /** Number of examples in the data. */
  n: number;
  label: number | string | null;
  example: ExamplePayload;
}

function readRow(src: ArraySource, index: number): number[] {
  const out = new Float64Array(src.rowSize);
  src.readRows(index, 1, out);
  return Array.from(out);
}

/** Inputs and, when the files state them, labels: a lone `.npy` of inputs is shown without a label. */
function open(req: DataFiles): { inputs: ArraySource; labels: ArraySource | null; close(): void } {
  if (!req.labels && /\.npy$/i.test(req.data)) {
    const inputs = NpyFileSource.open(req.data);
    return { inputs, labels: null, close: () => inputs.close() };
  }
  return openTrainingArrays(req);
}

export function readExample(req: ExampleRequest): TrainingExample {
  const modelInput = req.model ? modelInputShape(req.model) : undefined;
  const arrays = open(req);
  try {
    const { inputs, labels } = arrays;
    if (!Number.isSafeInteger(req.index) || req.index < 0 || req.index >= inputs.n) {
      throw new HeatcapError(inputs.file, `has ${inputs.n} examples (indices 0 to ${inputs.n - 1}); there is no example ${req.index}`);
    }
    return {
      index: req.index,
      n: inputs.n,
      label: labels ? labelOf(readRow(labels, req.index)) : null,
      example: examplePayload(readRow(inputs, req.index), inputs.rowShape, modelInput),
    };
  } finally {
    arrays.close();
  }
}
