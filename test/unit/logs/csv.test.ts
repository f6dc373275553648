import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import fc from 'fast-check';
import { tokenizeCsv } from '../../../src/core/logs/csv/parse';
import { readCsvLog } from '../../../src/core/logs/read';
import { LightningCsvWriter } from '../../../src/core/logs/csv/writer';
import { isHeatcapError } from '../../../src/core/errors';
import { parseDecimalFast } from '../../../src/core/logs/numbers';
import { cleanupTempDirs, tempDir, writeKerasCsv, writeText } from '../../support/logs/fixtures';

function rows(text: string, final = true): { rows: string[][]; used: number } {
  const out: string[][] = [];
  const used = tokenizeCsv(text, (f) => out.push(f), final);
  return { rows: out, used };
}

describe('CSV tokenizer (RFC 4180)', () => {
  it('splits plain lines, strips \\r, keeps empty cells', () => {
    assert.deepEqual(rows('a,b,c\r\n1,,3\n').rows, [['a', 'b', 'c'], ['1', '', '3']]);
  });

  it('handles quoted fields with commas, doubled quotes and line breaks', () => {
    assert.deepEqual(rows('"x,y","say ""hi""","two\nlines"\n1,2,3\n').rows, [['x,y', 'say "hi"', 'two\nlines'], ['1', '2', '3']]);
  });

  // Oracle: Python's csv.reader (default dialect), which reads a quote inside an unquoted field as text.
  it('a quote that does not start its field is text, as Python csv reads it (a tag named alert("x"), a header a"b)', () => {
    assert.deepEqual(rows('step,<script>alert("tag")</script>,a"b\n0,1,2\n').rows, [['step', '<script>alert("tag")</script>', 'a"b'], ['0', '1', '2']]);
    assert.deepEqual(rows('"ab"cd, "x"\n').rows, [['abcd', ' "x"']]);
  });

  it('does not consume an unterminated last line or an open quote unless final', () => {
    assert.deepEqual(rows('a,b\n1,2', false), { rows: [['a', 'b']], used: 4 });
    assert.deepEqual(rows('a,b\n"1\n', false), { rows: [['a', 'b']], used: 4 });
    assert.deepEqual(rows('a,b\n1,2', true).rows, [['a', 'b'], ['1', '2']]);
  });

  it('drops the line of a quote that never closes instead of swallowing the rest of the file', () => {
    let bad = 0;
    const body = Array.from({ length: 40 }, (_, i) => `${i},${i / 10}`).join('\n');
    const out: string[][] = [];
    tokenizeCsv(`step,loss\n${body.replace('7,0.7', '7,"0.7')}\n`, (f) => out.push(f), true, () => bad++);
    assert.equal(bad, 1);
    assert.equal(out.length, 40, 'the header and 39 intact rows');
    assert.ok(!out.some((r) => r[0] === '7'));
    // Still RFC 4180 for a short quoted field over a few lines.
    assert.deepEqual(rows('"a\nb\nc",1\n').rows, [['a\nb\nc', '1']]);
  });

  it('never throws on random text and consumes whole lines only (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '1', ',', '"', '\n', '\r', ' ', 'é') , maxLength: 200 }), (text) => {
        const { used } = rows(text, false);
        return used === 0 || text[used - 1] === '\n';
      }),
      { seed: 5, numRuns: 500 },
    );
  });
});

describe('CSV metric logs', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(cleanupTempDirs);

  it('reads a Lightning metrics.csv written by our writer: sparse rows, step column, lr-SGD, epoch as a tag', async () => {
    const w = await LightningCsvWriter.create(join(dir, 'lightning', 'version_0'), { lr: 0.1, batch_size: 16 });
    for (let s = 0; s < 20; s++) {
      w.log({ train_loss_step: 1 / (s + 1), 'lr-SGD': 0.1 }, s, Math.floor(s / 10));
      if (s % 10 === 9) w.log({ val_loss: 2 / (s + 1), train_loss_epoch: 1.5 / (s + 1) }, s, Math.floor(s / 10));
    }
    await w.close();
    const data = await readCsvLog(w.file);
    assert.deepEqual(data.warnings, []);
    assert.equal(data.stepUnit, 'step');
    assert.deepEqual(data.scalars.train_loss_step.steps, Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(data.scalars.train_loss_step.values, Array.from({ length: 20 }, (_, i) => 1 / (i + 1))); // exact: String() round-trips doubles
    assert.deepEqual(data.scalars.val_loss.steps, [9, 19]);
    assert.deepEqual(data.scalars['lr-SGD'].values, new Array(20).fill(0.1));
    assert.deepEqual(data.scalars.epoch.values.slice(8, 12), [0, 0, 1, 1]);
  });

  it('rewrites the file with a wider header when a metric first appears (as Lightning does) and stays readable', async () => {
    const w = await LightningCsvWriter.create(join(dir, 'widen'));
    w.log({ a: 1 }, 0);
    await w.flush();
    w.log({ b: Infinity }, 1);
    w.log({ a: NaN }, 2);
    await w.close();
    const data = await readCsvLog(w.file);
    assert.deepEqual(data.scalars.a, { steps: [0, 2], values: [1, NaN] });
    assert.deepEqual(data.scalars.b, { steps: [1], values: [Infinity] });
  });

  it('reads a Keras CSVLogger file: epoch steps, NA cells skipped, step unit epoch', async () => {
    const file = await writeKerasCsv(join(dir, 'keras', 'training.log'), ['accuracy', 'loss', 'val_loss'], [
      [0.5, 1.2, null],
      [0.6, 0.9, 1.0],
      [0.7, 0.8, 0.95],
    ]);
    const data = await readCsvLog(file);
    assert.equal(data.stepUnit, 'epoch');
    assert.deepEqual(data.scalars.loss, { steps: [0, 1, 2], values: [1.2, 0.9, 0.8] });
    assert.deepEqual(data.scalars.val_loss, { steps: [1, 2], values: [1.0, 0.95] });
    assert.deepEqual(data.warnings, []);
  });

  it('parses nan / inf / -inf cells as numbers and warns once per column about stray text', async () => {
    const file = await writeText(join(dir, 'gen.csv'), 'step,loss,phase\n1,nan,train\n2,inf,train\n3,-inf,eval\n4,oops,eval\n5,0.5,eval\n');
    const data = await readCsvLog(file);
    assert.deepEqual(data.scalars.loss, { steps: [1, 2, 3, 5], values: [NaN, Infinity, -Infinity, 0.5] });
    assert.equal(data.scalars.phase, undefined);
    assert.equal(data.warnings.length, 1);
    assert.match(data.warnings[0].message, /column 'loss': 1 non-numeric/);
  });

  it('throws a HeatcapError naming the file when there is no step column', async () => {
    const file = await writeText(join(dir, 'nostep.csv'), 'a,b\n1,2\n');
    await assert.rejects(readCsvLog(file), (e) => isHeatcapError(e) && e.message.includes('nostep.csv') && /no step column/.test(e.message));
  });

  it('keeps every intact row when random garbage lines are inserted (property)', async () => {
    const file = join(dir, 'fuzz.csv');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n"]/g, '')), { maxLength: 8 }), fc.nat(20), async (junk, at) => {
        const good = Array.from({ length: 20 }, (_, i) => `${i},${i / 4}`);
        const lines = [...good];
        lines.splice(Math.min(at, lines.length), 0, ...junk.map((j) => `x${j}`)); // junk never parses as a step
        await writeText(file, `step,loss\n${lines.join('\n')}\n`);
        const data = await readCsvLog(file);
        assert.deepEqual(data.scalars.loss.steps, Array.from({ length: 20 }, (_, i) => i));
      }),
      { seed: 9, numRuns: 60 },
    );
  });

  it('streams a file larger than its chunk with rows cut across chunk boundaries', async () => {
    const n = 30000;
    const body = Array.from({ length: n }, (_, i) => `${i},${(i * 0.001).toFixed(3)},"q,${i}"`).join('\n');
    const file = await writeText(join(dir, 'big.csv'), `step,loss,note\n${body}\n`);
    const data = await readCsvLog(file);
    assert.equal(data.scalars.loss.steps.length, n);
    assert.equal(data.scalars.loss.values[n - 1], Number(((n - 1) * 0.001).toFixed(3)));
  });
});

describe('CSV fast path', () => {
  after(cleanupTempDirs);

  it('parseDecimalFast equals Number() whenever it answers (property, 20,000 strings; oracle: Number)', () => {
    const digit = fc.constantFrom('0', '1', '2', '5', '7', '9');
    const decimal = fc
      .tuple(fc.constantFrom('', '-', '+'), fc.array(digit, { maxLength: 18 }), fc.constantFrom('', '.'), fc.array(digit, { maxLength: 18 }), fc.constantFrom('', 'e', 'E-', 'e+', 'x'), fc.array(digit, { maxLength: 3 }))
      .map(([s, a, dot, b, e, x]) => s + a.join('') + dot + b.join('') + e + x.join(''));
    fc.assert(
      fc.property(fc.oneof(decimal, fc.string({ maxLength: 8 }), fc.double().map(String)), (s) => {
        const v = parseDecimalFast(s, 0, s.length);
        return v === undefined || Object.is(v, Number(s));
      }),
      { seed: 31, numRuns: 20000 },
    );
  });

  it('reads quote-free rows exactly as the general tokenizer does (property)', async () => {
    const dir = await tempDir();
    const cell = fc.oneof(fc.constant(''), fc.constant('NA'), fc.constant('nan'), fc.constant('-inf'), fc.constant(' 2.5'), fc.double({ noNaN: true }).map(String), fc.integer().map(String), fc.constant('junk'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(cell, { minLength: 0, maxLength: 5 }), { maxLength: 30 }), fc.boolean(), async (rowsIn, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        const lines = rowsIn.map((r, i) => [String(i), ...r].join(','));
        const plain = await writeText(join(dir, 'plain.csv'), `step,a,b,c,d${eol}${lines.join(eol)}${eol}`);
        // One quoted cell anywhere sends the whole chunk through the general tokenizer.
        const quoted = await writeText(join(dir, 'quoted.csv'), `step,a,b,c,d,"q"${eol}${lines.map((l) => `${l}${','.repeat(Math.max(0, 5 - l.split(',').length))},"x"`).join(eol)}${eol}`);
        const p = await readCsvLog(plain);
        const q = await readCsvLog(quoted);
        for (const tag of ['a', 'b', 'c', 'd']) assert.deepEqual(p.scalars[tag], q.scalars[tag], tag);
      }),
      { seed: 4, numRuns: 80 },
    );
  });
});
