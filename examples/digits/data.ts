/**
 * Converts the UCI digits CSV (data/digits.csv.gz: 64 pixels 0..16, then the label) into the arrays the
 * demo's checkpoints and sweeps use: data/x.npy (float32, N × 64, pixels/16 in [0, 1], the conventional
 * preprocessing) and data/y.npy (int32 class indices). Run from the repository root:
 *   npx tsx examples/digits/data.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeNpy } from '../../src/core/data/npy';

const dir = join(__dirname, 'data');
const rows = gunzipSync(readFileSync(join(dir, 'digits.csv.gz')))
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => l.split(',').map(Number));
const n = rows.length;
const x = new Float32Array(n * 64);
const y = new Int32Array(n);
rows.forEach((r, i) => {
  if (r.length !== 65 || r.some((v) => !Number.isInteger(v))) throw new Error(`row ${i + 1}: expected 65 integers`);
  for (let j = 0; j < 64; j++) x[i * 64 + j] = r[j] / 16;
  y[i] = r[64];
});
writeNpy(join(dir, 'x.npy'), x, [n, 64]);
writeNpy(join(dir, 'y.npy'), y, [n]);
console.log(`wrote ${n} examples to ${dir}/x.npy and y.npy`);
