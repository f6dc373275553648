import { strict as assert } from 'node:assert';
import { analyzeOptionsFromArgs } from '../../../src/cli/commands/analyze';
import { formatAnalysis, num } from '../../../src/cli/format/analysisText';
import { fixture } from '../report/fixtures';
import { runCli } from '../../support/cli';
import { requireRealLogOrSkip } from '../../support/external';
import { assertValidResult } from '../../support/resultSchema';

describe('heatcap analyze (CLI contract)', () => {
  it('parses the documented flags into AnalyzeOptions, with paths resolved against the cwd', () => {
    const a = analyzeOptionsFromArgs(
      ['runs', '--model', 'm/model.json', '--data', 'x.npy', '--labels', 'y.npy', '--batch-size', '8', '--momentum', '0.9', '--sampling', 'reshuffle', '--optimizer', 'nesterov', '--set-lr', 'a/b=0.01', '--exclude-run', 'c', '--json', '--all'],
      '/work',
    );
    assert.equal(a.opts.root, '/work/runs');
    assert.equal(a.opts.model, '/work/m/model.json');
    assert.equal(a.opts.batchSize, 8);
    assert.equal(a.opts.momentum, 0.9);
    assert.equal(a.opts.sampling, 'reshuffle');
    assert.equal(a.opts.optimizer, 'nesterov');
    assert.deepEqual({ ...a.opts.lrOverrides }, { 'a/b': 0.01 });
    assert.deepEqual(a.opts.excludeRuns, ['c']);
    assert.equal(a.json, true);
    assert.equal(a.all, true);
  });

  it('finite η: --eigenpairs k and --no-finite-eta, not both; the text output shows eigenvalues, limits and the curve', () => {
    assert.equal(analyzeOptionsFromArgs(['x', '--eigenpairs', '20'], '/w').opts.eigenpairs, 20);
    assert.equal(analyzeOptionsFromArgs(['x', '--no-finite-eta'], '/w').opts.finiteEta, false);
    assert.equal(analyzeOptionsFromArgs(['x'], '/w').opts.finiteEta, undefined);
    assert.throws(() => analyzeOptionsFromArgs(['x', '--eigenpairs', '0'], '/w'), /--eigenpairs must be ≥ 1/);
    assert.throws(() => analyzeOptionsFromArgs(['x', '--no-finite-eta', '--eigenpairs', '5'], '/w'), /give one or the other/);
    const text = formatAnalysis(fixture('finite-eta'));
    for (const needle of [
      'finite η         L(η) − L* predicted up to 0.9 of the mean-square limit 2.572 (deterministic limit 4.2956).',
      '  lanczos, HVP central_difference_float64, 10 directions, 650 parameters, 234 gradient passes, 9.6 s',
      '  eigenvalues    0.4656 (res 3e-11), 0.3482 (res 4e-11),',
      '  limits         mean-square η 2.572 · deterministic η 4.296 (2/λ_max with the momentum factor)',
      '  L(η) − L*      stationary second moment in the top-k subspace, leading order elsewhere',
    ]) {
      assert.ok(text.includes(needle), `missing ${JSON.stringify(needle)} in\n${text}`);
    }
    assert.match(text, /^ {4}η +% of limit +curve +linear +additive +observed$/m);
    assert.match(text, /^ {4}0\.02 +0\.78% +5\.293e-4 +5\.289e-4 +5\.291e-4 +5\.304e-4 ± 4e-6$/m);
  });

  it('rejects bad flag values with one line naming the flag', async () => {
    for (const [args, re] of [
      [['x', '--momentum', '1.5'], /--momentum must be < 1/],
      [['x', '--sampling', 'random'], /--sampling must be one of/],
      [['x', '--batch-size', '2.5'], /--batch-size must be an integer/],
      [['x', '--set-lr', 'run=-1'], /--set-lr expects/],
      [['x', '--data', 'x.npy'], /need --model/],
    ] as const) {
      const r = await runCli(['analyze', ...args]);
      assert.equal(r.code, 1, String(args));
      assert.match(r.err, re);
      assert.equal(r.err.trim().split('\n').length, 1);
    }
  });

  it('names the folder when it does not exist', async () => {
    const r = await runCli(['analyze', '/nonexistent/heatcap-runs']);
    assert.equal(r.code, 1);
    assert.match(r.err, /\/nonexistent\/heatcap-runs: no such file or folder/);
  });

  it('on real Keras logs without a learning rate: no invented η, a readable report, exit 0', async function () {
    const r = await runCli(['analyze', requireRealLogOrSkip(this, 'keras-tf2-mnist'), '--all']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /No learning rate stated for/);
    assert.doesNotMatch(r.out, /NaN|undefined/);
  });

  it('--json prints a schema-valid array with --all', async function () {
    const r = await runCli(['analyze', requireRealLogOrSkip(this, 'keras-tf2-mnist'), '--all', '--json']);
    assert.equal(r.code, 0, r.err);
    const results = JSON.parse(r.out) as unknown[];
    assert.ok(Array.isArray(results) && results.length >= 2);
    results.forEach(assertValidResult);
  });

  it('a point left out of the fit says why; a good point with no fit to join (one η) says "no fit", not an empty "left out:"', () => {
    const r = fixture('finite-eta');
    const points = r.observed!.points;
    points[0].used_in_fit = false;
    points[0].excluded_reason = 'excluded by the user';
    points[1].used_in_fit = false;
    delete points[1].excluded_reason;
    points[1].flags = [];
    const text = formatAnalysis(r);
    assert.match(text, /left out: excluded by the user$/m);
    assert.match(text, /  no fit$/m);
    assert.doesNotMatch(text, /left out: *$/m);
  });

  it('formats numbers for people', () => {
    assert.equal(num(1e-5), '1e-5');
    assert.equal(num(0.0553213), '0.05532');
    assert.equal(num(null), '—');
    assert.equal(num(NaN), '—');
  });
});

describe('heatcap CLI: --ipc and odd run ids', () => {
  it('accepts --ipc on any command (the extension forks every command with it)', async function () {
    const r = await runCli(['runs', requireRealLogOrSkip(this, 'hf-trainer-state'), '--json', '--ipc']);
    assert.equal(r.code, 0, r.err);
    assert.ok(JSON.parse(r.out).runs.length >= 1);
  });

  it('keeps the η of a run whose id is __proto__', () => {
    const a = analyzeOptionsFromArgs(['x', '--set-lr', '__proto__=0.5'], '/w');
    assert.equal(a.opts.lrOverrides?.['__proto__'], 0.5);
    assert.deepEqual(Object.keys(a.opts.lrOverrides ?? {}), ['__proto__']);
  });
});
