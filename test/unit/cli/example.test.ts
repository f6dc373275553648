/**
 * `heatcap example` on the UCI digits (examples/digits/data/digits.csv.gz, committed) and small .npy files
 * written from its rows. Oracle: the CSV text itself, split by hand here (not through the readers).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeNpy } from '../../../src/core/data/npy';
import { parseExampleOutput } from '../../../src/extension/compute/cliOutput';
import { runCli } from '../../support/cli';
import { DIGITS_CSV as DIGITS } from '../../support/external';

describe('heatcap example', function () {
  let dir: string;
  let rows: number[][];
  before(async function () {
    rows = gunzipSync(readFileSync(DIGITS)).toString('utf8').trim().split('\n').slice(0, 12).map((l) => l.split(',').map(Number));
    dir = await mkdtemp(join(tmpdir(), 'heatcap-example-'));
    const x = Float32Array.from(rows.flatMap((r) => r.slice(0, 64)));
    writeNpy(join(dir, 'x.npy'), x, [rows.length, 64]);
    writeNpy(join(dir, 'x_img.npy'), x, [rows.length, 8, 8]);
    writeNpy(join(dir, 'y.npy'), Int32Array.from(rows.map((r) => r[64])), [rows.length]);
    writeNpy(join(dir, 'x16.npy'), Float32Array.from(rows.flatMap((r) => r.slice(0, 16))), [rows.length, 16]);
    // A model.json whose first layer takes 4×4×1 images (no weights: only the topology is read).
    await writeFile(
      join(dir, 'model.json'),
      JSON.stringify({ modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Flatten', config: { batch_input_shape: [null, 4, 4, 1] } }] } }, weightsManifest: [{ paths: [], weights: [] }] }),
    );
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const json = async (args: string[]) => {
    const r = await runCli(['example', ...args, '--json']);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out);
  };

  it('reads one row of the gzipped CSV in place: an 8×8 image in 0..16 with its label', async () => {
    const e = await json([`--data=${DIGITS}`, '--index=3']);
    assert.equal(e.index, 3);
    assert.equal(e.n, 1797);
    assert.equal(e.label, rows[3][64]);
    assert.deepEqual(e.example, { kind: 'image', width: 8, height: 8, channels: 1, pixels: rows[3].slice(0, 64), range: [0, Math.max(...rows[3].slice(0, 64))] });
    const msg = parseExampleOutput(e);
    assert.equal(msg.type, 'example', 'the extension’s check (the panel protocol’s validator) accepts it');
  });

  it('reads .npy inputs and labels, one row, with the same values as the CSV', async () => {
    const e = await json([`--data=${join(dir, 'x.npy')}`, `--labels=${join(dir, 'y.npy')}`, '--index=11']);
    assert.equal(e.n, 12);
    assert.equal(e.label, rows[11][64]);
    assert.deepEqual(e.example.pixels, rows[11].slice(0, 64));
    const img = await json([`--data=${join(dir, 'x_img.npy')}`, '--index=0']);
    assert.equal(img.label, null, 'a lone .npy of inputs has no label');
    assert.equal(img.example.kind, 'image');
  });

  it('draws 16 values as a row, unless the checkpoint says its input is a 4×4×1 image', async () => {
    const plain = await json([`--data=${join(dir, 'x16.npy')}`, `--labels=${join(dir, 'y.npy')}`, '--index=1']);
    assert.equal(plain.example.kind, 'row');
    assert.deepEqual(plain.example.values, rows[1].slice(0, 16));
    assert.equal(plain.example.columns[15], 'x[15]');
    const shaped = await json([`--data=${join(dir, 'x16.npy')}`, `--labels=${join(dir, 'y.npy')}`, `--model=${join(dir, 'model.json')}`, '--index=1']);
    assert.deepEqual([shaped.example.kind, shaped.example.width, shaped.example.height, shaped.example.channels], ['image', 4, 4, 1]);
  });

  it('prints the image as text without --json', async () => {
    const r = await runCli(['example', `--data=${join(dir, 'x.npy')}`, `--labels=${join(dir, 'y.npy')}`, '--index=0']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines[0], `example 0 of 12, label ${rows[0][64]}`);
    assert.equal(lines.length, 2 + 8);
    assert.equal(lines[2], rows[0].slice(0, 8).join(' '));
  });

  it('bad input: one line naming the file, exit 1', async () => {
    const out = await runCli(['example', `--data=${join(dir, 'x.npy')}`, '--index=12']);
    assert.equal(out.code, 1);
    assert.match(out.err, /^heatcap: error: .*x\.npy: has 12 examples \(indices 0 to 11\); there is no example 12\n$/);
    const missing = await runCli(['example', `--data=${join(dir, 'nope.npy')}`, '--index=0']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nope\.npy/);
    const noIndex = await runCli(['example', `--data=${join(dir, 'x.npy')}`]);
    assert.match(noIndex.err, /--index <i> is required/);
    const negative = await runCli(['example', `--data=${join(dir, 'x.npy')}`, '--index=-1']);
    assert.match(negative.err, /--index must be ≥ 0/);
    const wrongLabels = await runCli(['example', `--data=${join(dir, 'x.npy')}`, `--labels=${join(dir, 'model.json')}`, '--index=0']);
    assert.equal(wrongLabels.code, 1);
    assert.match(wrongLabels.err, /model\.json: labels must be \.npy or \.npz/);
  });
});
