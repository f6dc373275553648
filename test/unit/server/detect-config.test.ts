import { strict as assert } from 'node:assert';
import { detectJson } from '../../../src/server/detect/json';
import { isYaml11String } from '../../../src/server/detect/numbers';
import { detectToml } from '../../../src/server/detect/toml';
import { detectYaml } from '../../../src/server/detect/yaml';
import { expected, spanOf, summary } from './spans';

// Oracle for every range: plain string search for the literal in its context (spans.ts), exact.
describe('server/detect: YAML', () => {
  it('nested keys give the dotted path; batch size and momentum come along', () => {
    const src = 'optimizer:\n  _target_: torch.optim.SGD\n  lr: 0.1\n  momentum: 0.9\ndata:\n  batch_size: 128\n';
    const [s, ...rest] = detectYaml(src).settings;
    assert.equal(rest.length, 0);
    assert.deepEqual(summary(s), expected(src, 'lr: 0.1', '0.1', 0.1, 'optimizer.lr', 'config_key'));
    assert.deepEqual(s.momentum, { value: 0.9, key: 'optimizer.momentum', ...spanOf(src, 'momentum: 0.9', '0.9') });
    assert.deepEqual(s.batchSize, { value: 128, key: 'data.batch_size', ...spanOf(src, 'batch_size: 128', '128') });
  });

  it('flow mappings, sequences and every learning-rate key name', () => {
    const src = 'train: {learning_rate: 1.0e-3, bs: 32}\ngroups:\n  - base_lr: 0.2\n  - max_lr: 0.4\n';
    assert.deepEqual(detectYaml(src).settings.map(summary), [
      expected(src, 'learning_rate: 1.0e-3', '1.0e-3', 1e-3, 'train.learning_rate', 'config_key'),
      expected(src, 'base_lr: 0.2', '0.2', 0.2, 'groups[0].base_lr', 'config_key'),
      expected(src, 'max_lr: 0.4', '0.4', 0.4, 'groups[1].max_lr', 'config_key'),
    ]);
  });

  it('quoted strings, comments, aliases, booleans, infinities and non-lr keys are not settings', () => {
    const src = '# lr: 0.9\nbase: &b 0.1\nlr: *b\nquoted_lr: x\nlearning_rate: "0.2"\nmax_lr: .inf\nbase_lr: true\nlr_decay: 0.5\nnote: "lr: 0.3"\n';
    assert.deepEqual(detectYaml(src).settings, []);
  });

  it('a document with a syntax error gives nothing and says why; other documents in the stream still count', () => {
    const bad = 'optimizer:\n  lr: 0.1\n   momentum: [0.9\n';
    const r = detectYaml(bad);
    assert.deepEqual(r.settings, []);
    assert.ok(r.error && r.error.length > 0);
    const stream = 'lr: 0.1\n---\nlr: [0.2\n';
    const r2 = detectYaml(stream);
    assert.deepEqual(r2.settings.map(summary), [expected(stream, 'lr: 0.1', '0.1', 0.1, 'lr', 'config_key')]);
    assert.ok(r2.error);
  });

  it('notes that PyYAML reads 3e-4 as a string, and not for 3.0e-4', () => {
    const [a, b] = detectYaml('lr: 3e-4\nmax_lr: 3.0e-4\n').settings;
    assert.equal(a.lr, 3e-4);
    assert.match(a.notes?.[0] ?? '', /PyYAML/);
    assert.equal(b.notes, undefined);
  });

  // Oracle: PyYAML 6.0 `yaml.safe_load` run on each value (str vs float), recorded here.
  it('isYaml11String agrees with PyYAML 6 on which exponent floats stay strings', () => {
    const pyyaml: [string, boolean][] = [
      ['3e-4', true],
      ['1.0e3', true],
      ['1e+3', true],
      ['5E-05', true],
      ['1.0e-3', false],
      ['.5e-3', false],
      ['0.1', false],
    ];
    for (const [text, isString] of pyyaml) assert.equal(isYaml11String(text), isString, text);
  });
});

describe('server/detect: JSON / JSONC', () => {
  it('comments and trailing commas are allowed; nested keys give the dotted path', () => {
    const src = '{\n  // lr: 0.9\n  "train_micro_batch_size_per_gpu": 16,\n  "optimizer": {"type": "AdamW", "params": {"lr": 3e-5,},},\n  /* "lr": 0.8 */\n  "learning_rate": "0.1",\n}\n';
    const [s, ...rest] = detectJson(src).settings;
    assert.equal(rest.length, 0);
    assert.deepEqual(summary(s), expected(src, '"lr": 3e-5', '3e-5', 3e-5, 'optimizer.params.lr', 'config_key'));
    assert.deepEqual(s.batchSize, { value: 16, key: 'train_micro_batch_size_per_gpu', ...spanOf(src, ': 16', '16') });
  });

  it('arrays, dotted key strings and negative/zero values', () => {
    const src = '{"groups": [{"lr": 0.1}, {"optimizer.lr": 0.2}], "max_lr": -1, "base_lr": 0}';
    assert.deepEqual(detectJson(src).settings.map(summary), [
      expected(src, '"lr": 0.1', '0.1', 0.1, 'groups[0].lr', 'config_key'),
      expected(src, '"optimizer.lr": 0.2', '0.2', 0.2, 'groups[1].optimizer.lr', 'config_key'),
    ]);
  });

  it('a syntax error gives nothing and says where', () => {
    const r = detectJson('{\n  "optimizer": { "lr": 0.1 ,,\n  "momentum": 0.9\n');
    assert.deepEqual(r.settings, []);
    assert.match(r.error ?? '', /offset \d+/);
  });
});

describe('server/detect: TOML', () => {
  it('tables, dotted keys, inline tables, arrays of tables and quoted keys', () => {
    const src = [
      '[tool.trainer]',
      'batch_size = 64',
      'learning_rate = 0.05 # lr = 0.9',
      'optimizer.lr = 2.5e-2',
      'opt = { lr = 0.5, momentum = 0.9 }',
      '[[groups]]',
      '"base_lr" = 1_000',
      'description = "lr = 0.3"',
      '',
    ].join('\n');
    const s = detectToml(src).settings;
    assert.deepEqual(s.map(summary), [
      expected(src, 'learning_rate = 0.05', '0.05', 0.05, 'tool.trainer.learning_rate', 'config_key'),
      expected(src, 'optimizer.lr = 2.5e-2', '2.5e-2', 0.025, 'tool.trainer.optimizer.lr', 'config_key'),
      expected(src, 'lr = 0.5', '0.5', 0.5, 'tool.trainer.opt.lr', 'config_key'),
      expected(src, '= 1_000', '1_000', 1000, 'groups.base_lr', 'config_key'),
    ]);
    assert.equal(s[0].batchSize?.value, 64);
    assert.equal(s[2].momentum?.value, 0.9);
  });

  it('top-level keys share one table for batch size', () => {
    const src = 'lr = 0.1\nbatch_size = 8\n';
    assert.equal(detectToml(src).settings[0].batchSize?.value, 8);
  });

  it('strings, booleans, infinities and a syntax error give nothing', () => {
    assert.deepEqual(detectToml('lr = "0.1"\nmax_lr = inf\nbase_lr = true\n').settings, []);
    const r = detectToml('[optimizer]\nlr = 0.1\nmomentum = = 0.9\n');
    assert.deepEqual(r.settings, []);
    assert.ok(r.error);
  });
});
