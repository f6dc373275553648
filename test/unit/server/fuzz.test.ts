/**
 * Issue #10: fuzzing the language server's detectors. Random text, random token soups shaped like
 * each language, and random mutations of the fixture files must never make a detector throw (called
 * directly, without the dispatcher's catch-all) or hang,
 * and every reported setting must point inside the text at a positive finite η.
 * Deterministic: fixed seeds and run counts; `interruptAfterTimeLimit` only guards against a hang
 * taking the whole suite down (an interrupted run fails the test).
 * Plus a differential oracle for the incremental Python parse: re-parsing from the previous tree must
 * give exactly what a fresh parse gives.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import type { DetectLanguage, DetectResult } from '../../../src/server/detect';
import { detectJson } from '../../../src/server/detect/json';
import { detectPython } from '../../../src/server/detect/python';
import { detectShell } from '../../../src/server/detect/shell';
import { detectToml } from '../../../src/server/detect/toml';
import { detectYaml } from '../../../src/server/detect/yaml';

/** The detectors themselves, not `detectSettings`, whose catch-all would hide a throw. */
const DETECT: Record<DetectLanguage, (text: string) => DetectResult> = {
  python: (t) => detectPython(t, { cell: true }),
  yaml: detectYaml,
  json: detectJson,
  toml: detectToml,
  shell: detectShell,
};

const FIXTURES = path.resolve(__dirname, '../../fixtures/lsp');
const fixture = (f: string) => readFileSync(path.join(FIXTURES, f), 'utf8');

const SEEDS: Record<DetectLanguage, number> = { python: 101, yaml: 202, json: 303, toml: 404, shell: 505 };
const FIXTURE_OF: Record<DetectLanguage, string> = {
  python: fixture('train.py'),
  yaml: fixture('config.yaml'),
  json: fixture('config.json'),
  toml: fixture('pyproject.toml'),
  shell: fixture('train.sh'),
};

/** Tokens that exercise each grammar's interesting paths (keys, numbers, quotes, brackets, comments, magics). */
const TOKENS: Record<DetectLanguage, string[]> = {
  python: ['lr', '=', '0.1', '3e-4', '1_0', '(', ')', '[', ']', '{', '}', ',', ':', '"lr"', "'", '"""', '#', '\n', '    ', 'def f', 'torch.optim.SGD', 'optax.sgd', 'batch_size', 'momentum', '*', '**', '%', '!', '%%bash\n', 'add_argument("--lr", default=', 'j', '-', '.', '\\'],
  yaml: ['lr', ':', ' ', '0.1', '3e-4', '\n', '  ', '- ', '? ', '{', '}', '[', ']', ',', '"', "'", '#', '&a', '*a', '---\n', '|', '>', 'batch_size', 'momentum', '!!float', '.inf', '\t'],
  json: ['{', '}', '[', ']', ',', ':', '"lr"', '"learning_rate"', '0.1', '-1', '3e-4', '"', '//', '/*', '*/', '\n', 'true', 'null', '"batch_size"', '1e400', ' '],
  toml: ['lr', '=', ' ', '0.1', '3e-4', '1_000', '\n', '[', ']', '[[', ']]', '{', '}', ',', '.', '"', "'", '"""', '#', 'inf', 'nan', 'batch_size', 'optimizer', '1979-05-27', '0x1F'],
  shell: ['python', ' ', 'train.py', '--lr', '0.1', '--lr=', '3e-4', 'LR=', 'export', '"', "'", '\\', '\n', '\\\n', '#', ';', '&&', '|', '$(', ')', '${', '}', '`', '<<EOF', 'EOF', '>', '2>&1', 'optimizer.lr=', '--batch-size', '-lr'],
};

function checkInvariants(text: string, language: DetectLanguage): void {
  const t0 = performance.now();
  const r = DETECT[language](text);
  const ms = performance.now() - t0;
  // A hang check, not a performance assertion: inputs here are at most a few kB.
  assert.ok(ms < 5000, `${language} detector took ${ms.toFixed(0)} ms on ${JSON.stringify(text.slice(0, 200))}`);
  for (const s of r.settings) {
    assert.ok(s.start >= 0 && s.start < s.end && s.end <= text.length, `span ${s.start}..${s.end} outside text of ${text.length}`);
    assert.ok(Number.isFinite(s.lr) && s.lr > 0, `η ${s.lr}`);
    if (language !== 'shell') assert.equal(text.slice(s.start, s.end), s.text, 'the span is the literal');
  }
}

const tokenSoup = (language: DetectLanguage) =>
  fc.array(fc.constantFrom(...TOKENS[language]), { maxLength: 200 }).map((ts) => ts.join(''));

/** Random edits of a real fixture: delete, insert a token or random text, duplicate a slice. */
const mutated = (language: DetectLanguage) => {
  const base = FIXTURE_OF[language];
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(base.length), len: fc.nat(20) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(base.length), text: fc.oneof(fc.constantFrom(...TOKENS[language]), fc.string({ maxLength: 8 })) }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(base.length), len: fc.nat(60) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 12 }).map((edits) => {
    let text = base;
    for (const e of edits) {
      const at = Math.min(e.at, text.length);
      if (e.kind === 'delete') text = text.slice(0, at) + text.slice(at + e.len);
      else if (e.kind === 'insert') text = text.slice(0, at) + e.text + text.slice(at);
      else text = text.slice(0, at) + text.slice(at, at + e.len) + text.slice(at);
    }
    return text;
  });
};

const PARAMS = (seed: number) => ({ seed, numRuns: 300, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true });

describe('server/detect fuzzing (issue #10)', function () {
  this.timeout(60_000);
  for (const language of Object.keys(SEEDS) as DetectLanguage[]) {
    it(`${language}: random unicode text never throws, spans stay inside the text`, () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => checkInvariants(text, language)),
        PARAMS(SEEDS[language]),
      );
    });
    it(`${language}: token soups and mutated fixtures never throw`, () => {
      fc.assert(
        fc.property(fc.oneof(tokenSoup(language), mutated(language)), (text) => checkInvariants(text, language)),
        PARAMS(SEEDS[language] + 1),
      );
    });
  }

  // Oracle: a fresh parse of the edited text (differential testing of lezer's incremental re-parse).
  it('python: the incremental re-parse after random edits equals a fresh parse', () => {
    fc.assert(
      fc.property(mutated('python'), mutated('python'), fc.boolean(), (before, after, cell) => {
        const first = detectPython(before, { cell });
        const again = detectPython(after, { previous: first.state, cell });
        assert.deepEqual(again.settings, detectPython(after, { cell }).settings);
      }),
      { ...PARAMS(606), numRuns: 200 },
    );
  });
});
