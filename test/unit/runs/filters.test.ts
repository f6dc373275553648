import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { analyzeFolder } from '../../../src/core/analysis/pipeline';
import { isHeatcapError } from '../../../src/core/errors';
import { discoverRuns } from '../../../src/core/runs/discover';
import { compileGlobs, isIncluded, matchesPath, selfAndAncestors } from '../../../src/core/runs/globs';
import { resolveHparams } from '../../../src/core/runs/hparams';
import type { ParamSource } from '../../../src/core/logs/types';
import { analyzeArgs, runsArgs } from '../../../src/extension/compute/cliArgs';
import { DEFAULT_SETTINGS } from '../../../src/extension/config';
import { RunOverrides } from '../../../src/extension/state/runOverrides';
import { runCli } from '../../support/cli';
import { cleanupTempDirs, tempDir, writeJsonl, writeText, writeTfeventsRun } from '../../support/logs/fixtures';

const src = (label: string, values: ParamSource['values']): ParamSource => ({ label, values });
const loss = (n: number, scale: number): [number, number][] => Array.from({ length: n }, (_, i) => [i, scale + 1 / (i + 1)]);

describe('discovery filters (include/exclude globs) and user learning-rate keys', () => {
  describe('glob helpers', () => {
    it('matches a folder as itself and as a folder, so "x/**" and "**/x/**" name x too', () => {
      const [below, deep] = compileGlobs(['exp/**', '**/cache/**'], 'include pattern');
      assert.ok(matchesPath('exp', [below]));
      assert.ok(matchesPath('exp/a/b', [below]));
      assert.ok(!matchesPath('other/exp', [below]));
      assert.ok(matchesPath('a/cache', [deep]));
      assert.ok(matchesPath('cache', [deep]));
      assert.ok(!matchesPath('cached', [deep]));
    });

    it('keeps a run when its folder or a folder above it matches; no patterns keep everything', () => {
      assert.deepEqual(selfAndAncestors('a/b/c'), ['a/b/c', 'a/b', 'a', '']);
      assert.deepEqual(selfAndAncestors(''), ['']);
      const inc = compileGlobs(['**/lr_*'], 'include pattern');
      assert.ok(isIncluded('sweep/lr_0.1/version_0', inc), 'the Lightning version folder under lr_0.1');
      assert.ok(!isIncluded('sweep/base/version_0', inc));
      assert.ok(isIncluded('anything', []));
      assert.ok(isIncluded('', compileGlobs(['**'], 'include pattern')), 'the root run under the default "**"');
    });

    it('refuses patterns that cannot name a folder below the root, naming the pattern', () => {
      for (const bad of ['', '  ', '/abs/**', 'C:/runs', '../up/**', 'a/../../b']) {
        assert.throws(
          () => compileGlobs([bad], '--include-glob'),
          (e: unknown) => isHeatcapError(e) && e.what.startsWith(`--include-glob '${bad}'`),
          bad,
        );
      }
      assert.equal(compileGlobs(['./runs/**'], 'x').length, 1, 'a leading ./ is dropped');
    });
  });

  describe('user learning-rate keys', () => {
    it('are tried before the built-in aliases, in the user’s order, and recorded in the source', () => {
      const sources = [src('hparams plugin', { lr: 0.5 }), src('config.yaml', { 'train.my_lr': 0.1, other_lr: 0.2 })];
      const plain = resolveHparams({ sources, scalars: {}, names: [] });
      assert.deepEqual(plain.hparams.lr, { value: 0.5, source: 'hparams plugin: lr' });
      const r = resolveHparams({ sources, scalars: {}, names: [], lrKeys: ['missing', 'my_lr', 'other_lr'] });
      assert.deepEqual(r.hparams.lr, { value: 0.1, source: 'config.yaml: train.my_lr (user lr key)' });
      assert.deepEqual(r.notes, [], 'no conflict note: the user chose the key');
      const second = resolveHparams({ sources, scalars: {}, names: [], lrKeys: ['OTHER_LR', 'my_lr'] });
      assert.equal(second.hparams.lr?.value, 0.2, 'case-insensitive, first key in the user’s order wins');
    });

    it('match whole trailing segments only, skip scheduler keys and unusable values, else fall back', () => {
      const sources = [src('cfg', { my_lrx: 9, 'scheduler.my_lr': 3, 'opt/my_lr': 'abc', lr: 0.01 })];
      const r = resolveHparams({ sources, scalars: {}, names: [], lrKeys: ['my_lr'] });
      assert.deepEqual(r.hparams.lr, { value: 0.01, source: 'cfg: lr' }, 'nothing usable under my_lr: the built-in aliases decide');
      const dotted = resolveHparams({ sources: [src('cfg', { 'model.opt.lr': 0.3, 'opt.lr': 0.2 })], scalars: {}, names: [], lrKeys: ['opt.lr'] });
      assert.deepEqual(dotted.hparams.lr, { value: 0.2, source: 'cfg: opt.lr (user lr key)' }, 'the shallowest match within a source');
    });
  });

  describe('discoverRuns, heatcap runs and heatcap analyze', () => {
    let root: string;
    before(async () => {
      root = await tempDir('heatcap-filters-');
      for (const lr of ['0.1', '0.2', '0.4']) await writeTfeventsRun(join(root, 'keep', `lr_${lr}`), { loss: loss(30, Number(lr)) });
      await writeTfeventsRun(join(root, 'old', 'lr_0.3'), { loss: loss(30, 0.3) });
      await writeTfeventsRun(join(root, 'keep', 'scratch', 'lr_0.5'), { loss: loss(30, 0.5) });
      for (const [name, lr] of [['a', 0.05], ['b', 0.1]] as const) {
        await writeJsonl(join(root, 'custom', name, 'train.jsonl'), Array.from({ length: 30 }, (_, s) => ({ step: s, loss: lr + 1 / (s + 1) })));
        await writeText(join(root, 'custom', name, 'config.json'), JSON.stringify({ train: { step_size: lr }, lr: 1 }));
      }
    });
    after(cleanupTempDirs);

    const paths = (d: { runs: { path: string }[] }) => d.runs.map((r) => r.path).sort();

    it('exclude prunes the walk; include keeps runs under matching folders', async () => {
      const all = await discoverRuns(root);
      assert.deepEqual(paths(all), ['custom/a', 'custom/b', 'keep/lr_0.1', 'keep/lr_0.2', 'keep/lr_0.4', 'keep/scratch/lr_0.5', 'old/lr_0.3']);
      const d = await discoverRuns(root, { include: ['keep/**'], exclude: ['**/scratch/**'] });
      assert.deepEqual(paths(d), ['keep/lr_0.1', 'keep/lr_0.2', 'keep/lr_0.4']);
      assert.deepEqual(d.sweeps.map((s) => s.id), ['keep']);
      const noOld = await discoverRuns(root, { exclude: ['old'] });
      assert.ok(!paths(noOld).includes('old/lr_0.3'));
      const defaults = await discoverRuns(root, { include: ['**'], exclude: [] });
      assert.deepEqual(paths(defaults), paths(all), 'the settings’ defaults change nothing');
    });

    it('lrKeys reach the runs: a key the aliases do not know becomes η, with its source', async () => {
      const before = await discoverRuns(join(root, 'custom'));
      assert.deepEqual(before.runs.map((r) => r.hparams.lr?.value), [1, 1]);
      const d = await discoverRuns(join(root, 'custom'), { lrKeys: ['step_size'] });
      assert.deepEqual(d.runs.map((r) => r.hparams.lr), [
        { value: 0.05, source: 'config.json: train.step_size (user lr key)' },
        { value: 0.1, source: 'config.json: train.step_size (user lr key)' },
      ]);
      assert.equal(d.sweeps.length, 1, 'two distinct η now form a sweep');
    });

    it('heatcap runs accepts --include-glob, --exclude-glob and --lr-key (repeatable)', async () => {
      const r = await runCli(['runs', root, '--json', '--include-glob=keep/**', '--include-glob=custom/**', '--exclude-glob=**/scratch/**', '--lr-key=step_size']);
      assert.equal(r.code, 0, r.err);
      const doc = JSON.parse(r.out);
      assert.deepEqual(doc.runs.map((x: { path: string }) => x.path), ['custom/a', 'custom/b', 'keep/lr_0.1', 'keep/lr_0.2', 'keep/lr_0.4']);
      assert.equal(doc.runs[0].hparams.lr, 0.05);
      assert.equal(doc.runs[0].hparam_sources.lr, 'config.json: train.step_size (user lr key)');
      const bad = await runCli(['runs', root, '--include-glob=/etc/**']);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /^heatcap: error: include pattern '\/etc\/\*\*': patterns are relative/);
      const empty = await runCli(['runs', root, '--lr-key=']);
      assert.equal(empty.code, 1);
      assert.match(empty.err, /--lr-key expects a key name/);
    });

    it('the command lines the extension builds from the settings are ones the CLI accepts', async () => {
      const s = { ...structuredClone(DEFAULT_SETTINGS), runs: { include: ['keep/**'], exclude: ['**/scratch/**'], maxDepth: 8 }, lrKeys: ['step_size'] };
      const args = runsArgs(root, s);
      assert.ok(args.includes('--include-glob=keep/**') && args.includes('--exclude-glob=**/scratch/**') && args.includes('--lr-key=step_size'), args.join(' '));
      const r = await runCli(args);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out).runs.map((x: { path: string }) => x.path), ['keep/lr_0.1', 'keep/lr_0.2', 'keep/lr_0.4']);
      const a = await runCli(analyzeArgs({ root, all: true, checkpoint: null, overrides: RunOverrides.empty().for(root) }, s));
      assert.equal(a.code, 0, a.err);
      assert.equal(JSON.parse(a.out).length, 1);
    });

    it('heatcap analyze passes them through AnalyzeOptions to discovery', async () => {
      const r = await runCli(['analyze', root, '--all', '--json', '--include-glob=custom/**', '--lr-key=step_size']);
      assert.equal(r.code, 0, r.err);
      const results = JSON.parse(r.out) as { runs: { id: string; lr: number | null }[] }[];
      assert.deepEqual(results.map((x) => x.runs.map((run) => [run.id, run.lr])), [[['custom/a', 0.05], ['custom/b', 0.1]]]);
      const { discovery } = await analyzeFolder({ root, exclude: ['custom/**', 'old/**', '**/scratch/**'] }, { toolVersion: 'test' });
      assert.deepEqual(paths(discovery), ['keep/lr_0.1', 'keep/lr_0.2', 'keep/lr_0.4']);
    });
  });
});
