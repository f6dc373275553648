import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { readCsv } from '../../../src/core/data/csv';
import { readJsonl } from '../../../src/core/data/jsonl';
import { openTrainingArrays } from '../../../src/core/data/open';
import { DIGITS_CSV } from '../../support/external';

const dir = mkdtempSync(join(tmpdir(), 'text-'));
function file(name: string, text: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function rows(src: { n: number; rowSize: number; readRows(s: number, c: number, o: Float64Array): void }): number[] {
  const out = new Float64Array(src.n * src.rowSize);
  src.readRows(0, src.n, out);
  return [...out];
}

describe('CSV and JSONL training data (oracle: hand-written files; exact)', () => {
  it('reads a CSV with a header and a named label column', () => {
    const t = readCsv(file('a.csv', 'a,label,b\n1,0,2\n3,1,4\n'), { labelColumn: 'label' });
    assert.deepEqual(rows(t.inputs), [1, 2, 3, 4]);
    assert.deepEqual(rows(t.labels), [0, 1]);
    assert.equal(t.labels.integer, true);
  });

  it('reads a headerless gzipped CSV with the label last', () => {
    const p = file('b.csv.gz', gzipSync(new TextEncoder().encode('0.5,1,2\n1.5,2,0\n')));
    const t = readCsv(p);
    assert.deepEqual(rows(t.inputs), [0.5, 1, 1.5, 2]);
    assert.deepEqual(rows(t.labels), [2, 0]);
  });

  it('reads the committed UCI digits file (1797 × 64, labels 0..9)', () => {
    const t = readCsv(DIGITS_CSV);
    assert.equal(t.inputs.n, 1797);
    assert.deepEqual(t.inputs.rowShape, [64]);
    const y = rows(t.labels);
    assert.equal(Math.min(...y), 0);
    assert.equal(Math.max(...y), 9);
  });

  it('names the line and column of a bad cell', () => {
    assert.throws(() => readCsv(file('c.csv', 'a,b\n1,2\n3,x\n')), /c\.csv: line 3, column b: 'x' is not a finite number/);
    assert.throws(() => readCsv(file('d.csv', '1,2\n3\n')), /line 2: 1 columns, expected 2/);
    assert.throws(() => readCsv(file('e.csv', '1,2\n1,nan\n')), /'nan' is not a finite number/);
  });

  it('reads JSONL with nested inputs and one-hot labels', () => {
    const t = readJsonl(file('a.jsonl', '{"x": [[1,2],[3,4]], "y": [0,1]}\n\n{"x": [[5,6],[7,8]], "y": [1,0]}\n'));
    assert.deepEqual(t.inputs.rowShape, [2, 2]);
    assert.deepEqual(rows(t.inputs), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(t.labels.rowShape, [2]);
  });

  it('rejects ragged JSONL records with the line number', () => {
    assert.throws(() => readJsonl(file('b.jsonl', '{"x":[1,2],"y":0}\n{"x":[1],"y":1}\n')), /line 2: 'x' has shape \[1\], earlier records have \[2\]/);
    assert.throws(() => readJsonl(file('c.jsonl', '{"x":[1,2],"y":0}\n{oops\n')), /line 2: not valid JSON/);
  });

  it('checks that inputs and labels have the same number of rows', () => {
    const fx = (n: string) => join(__dirname, 'fixtures', n);
    assert.throws(() => openTrainingArrays({ data: fx('f32_2x3.npy'), labels: fx('i64_4.npy') }), /i64_4\.npy: has 4 labels but .*f32_2x3\.npy has 2 examples/);
    const t = openTrainingArrays({ data: fx('other_keys.npz') });
    assert.equal(t.inputs.file, `${fx('other_keys.npz')}#images`);
    assert.equal(t.labels.file, `${fx('other_keys.npz')}#labels`);
    t.close();
  });
});
