/**
 * Hostile inputs: a 5 MB file and files of deeply nested brackets / indentation. No crash, no hang
 * (mocha's timeout is the bound; speed itself is measured in bench/server.ts, not asserted here).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { detectSettings, type DetectLanguage } from '../../../src/server/detect';
import { MAX_NESTING, tooDeeplyNested } from '../../../src/server/detect/nesting';
import { fileUri, LspClient } from './lspClient';

/** A realistic training script, repeated to `bytes`, with one learning rate at the very end. */
function bigPython(bytes: number): string {
  const block = [
    'def step(model, batch, opt):',
    '    loss = model(batch["x"], batch["y"])  # forward pass',
    '    opt.zero_grad()',
    '    loss.backward()',
    '    opt.step()',
    '    return {"loss": float(loss), "note": "lr=0.5 in a string"}',
    '',
    '',
  ].join('\n');
  return block.repeat(Math.ceil(bytes / block.length)) + 'LEARNING_RATE = 3e-4\n';
}

const nested = (open: string, close: string, n: number) => open.repeat(n) + close.repeat(n);

describe('server: hostile inputs', function () {
  this.timeout(60_000);

  describe('nesting guard (before any parser runs)', () => {
    const cases: [DetectLanguage, (n: number) => string][] = [
      ['python', (n) => `x = ${nested('[', ']', n)}\nlr = 0.1\n`],
      ['json', (n) => `{"x": ${nested('[', ']', n)}, "lr": 0.1}`],
      ['toml', (n) => `x = ${nested('[', ']', n)}\nlr = 0.1\n`],
      ['yaml', (n) => `x: ${nested('{a: ', '}', n)}\nlr: 0.1\n`],
      ['yaml', (n) => `${'- '.repeat(n)}x\n`],
      ['yaml', (n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1\n'],
      ['python', (n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}if x:`).join('\n') + '\n' + ' '.repeat(n) + 'pass\n'],
    ];
    for (const [language, make] of cases) {
      it(`${language} ${JSON.stringify(make(3).slice(0, 12))}…: ${MAX_NESTING - 10} levels parse, ${MAX_NESTING + 1} are refused`, () => {
        assert.equal(tooDeeplyNested(make(MAX_NESTING - 10), language), undefined);
        assert.match(tooDeeplyNested(make(MAX_NESTING + 1), language) ?? '', /nested more than 200 levels/);
      });
    }

    it('a megabyte of nested brackets is refused in every language without parsing', () => {
      for (const language of ['python', 'yaml', 'json', 'toml', 'shell'] as const) {
        const r = detectSettings(`lr = ${nested('[', ']', 500_000)}`, language);
        assert.deepEqual(r.settings, []);
        assert.match(r.error ?? '', /nested more than/);
      }
    });

    it('ordinary files are nowhere near the limit', () => {
      assert.equal(tooDeeplyNested(bigPython(20_000), 'python'), undefined);
      assert.equal(tooDeeplyNested('a:\n  b:\n    - c: [1, {d: 2}]\n', 'yaml'), undefined);
    });
  });

  it('300 kB of each language: no throw; a data-like file with thousands of η is refused (1 MB+ timings: bench/server.ts)', () => {
    const mb = 300_000;
    const texts: [DetectLanguage, string][] = [
      ['python', bigPython(mb)],
      ['yaml', 'runs:\n' + '  - {lr: 0.1, batch_size: 32}\n'.repeat(mb / 28)],
      ['json', '[' + '{"lr": 0.1},'.repeat(mb / 12) + '{}]'],
      ['toml', '[[runs]]\nlr = 0.1\n'.repeat(mb / 18)],
      ['shell', 'python train.py --lr 0.1 --batch-size 32\n'.repeat(mb / 42)],
    ];
    for (const [language, text] of texts) {
      const r = detectSettings(text, language);
      if (language === 'python') assert.deepEqual(r.settings.map((s) => s.text), ['3e-4']);
      else assert.match(r.error ?? '', /learning-rate values/, language);
    }
  });

  describe('through the server', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'heatcap-lsp-hostile-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('a 5 MB file: skipped under the default 1 MB cap, parsed with the cap raised; the server keeps answering', async () => {
      const text = bigPython(5_000_000);
      const lastLine = text.split('\n').length - 2;
      const small = await LspClient.start({ folder: dir, heatcapSection: {} });
      try {
        const uri = fileUri(path.join(dir, 'big.py'));
        await small.open(uri, 'python', text);
        assert.deepEqual(await small.codeLenses(uri), []);
        assert.ok(small.logs.some((l) => /above heatcap\.server\.maxFileSize \(1000000\)/.test(l)));
      } finally {
        await small.stop();
      }
      const big = await LspClient.start({ folder: dir, heatcapSection: { server: { maxFileSize: 8_000_000 } } });
      try {
        const uri = fileUri(path.join(dir, 'big.py'));
        await big.open(uri, 'python', text);
        const lenses = await big.codeLenses(uri);
        assert.deepEqual(
          lenses.map((l) => [l.range.start.line, l.range.start.character, l.command?.title]),
          [[lastLine, 16, 'η=3e-4 · Analyze dL/dη…']],
        );
        const other = 'untitled:small';
        await big.open(other, 'yaml', 'lr: 0.1\n');
        assert.equal((await big.codeLenses(other)).length, 1);
        assert.ok(big.alive);
      } finally {
        await big.stop();
      }
    });

    it('deeply nested brackets and a YAML bomb of aliases: no lens, no crash', async () => {
      const client = await LspClient.start({ folder: dir });
      try {
        const docs: [string, string, string][] = [
          ['untitled:deep.py', 'python', `x = ${nested('(', ')', 300_000)}\nlr = 0.1\n`],
          ['untitled:deep.json', 'json', `{"a": ${nested('[', ']', 300_000)}, "lr": 0.1}`],
          ['untitled:deep.yaml', 'yaml', `${'- '.repeat(300_000)}x\n`],
          ['untitled:bomb.yaml', 'yaml', 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n'],
        ];
        for (const [uri, languageId, text] of docs) {
          await client.open(uri, languageId, text);
          assert.deepEqual(await client.codeLenses(uri), [], uri);
        }
        assert.ok(client.alive);
      } finally {
        await client.stop();
      }
    });
  });
});
