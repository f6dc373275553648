import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../../../src/core/data/npy';
import { buildSequential, type LayerSpec } from '../../../src/core/model/build';
import { saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';
import { Rng } from '../../support/oracle/rng';

/** A temporary folder removed by `cleanup()`. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `heatcap-lab-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface LabFixture {
  model: string;
  data: string;
  labels: string;
}

/**
 * Saves a seeded Sequential model and seeded data (Gaussian inputs; labels as class indices, one-hot
 * rows, {0,1} targets or real targets depending on `labels`) into `dir`.
 */
export async function writeFixture(
  dir: string,
  o: { inputDim: number; layers: LayerSpec[]; loss: string; n: number; labels: 'classes' | 'onehot' | 'binary' | 'real'; outDim: number; seed?: number },
): Promise<LabFixture> {
  await initBackend('cpu');
  const seed = o.seed ?? 1;
  const model = buildSequential([o.inputDim], o.layers, seed);
  await saveLayersModel(model, join(dir, 'model'), { loss: o.loss });
  model.dispose();
  const rng = new Rng(seed + 100);
  const x = Float32Array.from({ length: o.n * o.inputDim }, () => rng.normal());
  writeNpy(join(dir, 'x.npy'), x, [o.n, o.inputDim]);
  if (o.labels === 'classes') writeNpy(join(dir, 'y.npy'), Int32Array.from({ length: o.n }, () => rng.int(o.outDim)), [o.n]);
  else if (o.labels === 'onehot') {
    const y = new Float32Array(o.n * o.outDim);
    for (let i = 0; i < o.n; i++) y[i * o.outDim + rng.int(o.outDim)] = 1;
    writeNpy(join(dir, 'y.npy'), y, [o.n, o.outDim]);
  } else if (o.labels === 'binary') writeNpy(join(dir, 'y.npy'), Float32Array.from({ length: o.n * o.outDim }, () => rng.int(2)), [o.n, o.outDim]);
  else writeNpy(join(dir, 'y.npy'), Float32Array.from({ length: o.n * o.outDim }, () => rng.normal()), [o.n, o.outDim]);
  return { model: join(dir, 'model', 'model.json'), data: join(dir, 'x.npy'), labels: join(dir, 'y.npy') };
}
