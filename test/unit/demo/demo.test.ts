import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoTable, findDemoFolder, type DemoSweep } from '../../../src/cli/commands/demo';
import { readLabManifest } from '../../../src/core/lab/manifest';
import type { AnalysisResult } from '../../../src/core/result/schema';
import { runCli } from '../../support/cli';

/**
 * The demo's claims (issue #8), checked on the sweeps that ship in examples/digits (made by
 * `heatcap sweep`, see its README), through `heatcap demo`, i.e. the same pipeline as `heatcap analyze`:
 *  - i.i.d. sampling: observed/predicted has a 95% CI that contains 1 and lies within ±10%
 *    (THEORY.md §3 measured 0.96–1.03 on this setup; §5 expects max(3 SE, 3%) on convex problems);
 *  - random reshuffling: the product says the linear law does not apply, and the observed small-η slope
 *    is suppressed far below the i.i.d. figure (THEORY.md §3: 0.045–0.25 of it, smallest at small η).
 */
describe('heatcap demo (bundled digits sweeps)', function () {
  // The finite-η curvature of softmax-iid (≈ 10 s on 2 cores) runs in the before hook too.
  this.timeout(240000);
  const cwd = mkdtempSync(join(tmpdir(), 'heatcap-demo-'));
  after(() => rmSync(cwd, { recursive: true, force: true }));
  let results: AnalysisResult[];
  let out: { code: number; out: string; err: string };

  before(async () => {
    out = await runCli(['demo', '--json'], cwd);
    assert.equal(out.code, 0, out.err);
    results = JSON.parse(out.out) as AnalysisResult[];
  });

  const byName = (name: string) => {
    const r = results.find((x) => x.sweep?.name === name);
    assert.ok(r, `sweep ${name} analysed (got ${results.map((x) => x.sweep?.name).join(', ')})`);
    return r;
  };

  it('finds the demo folder from the code’s location', () => {
    const dir = findDemoFolder();
    assert.ok(dir && existsSync(join(dir, 'sweeps', 'softmax-iid', 'sweep.json')));
  });

  it('i.i.d. sampling: the ratio’s 95% CI contains 1 and lies within ±10%', () => {
    const r = byName('softmax-iid');
    assert.equal(r.predicted?.regime, 'linear');
    assert.equal(r.predicted?.sampling, 'with_replacement');
    assert.equal(r.predicted?.batch_size, 8);
    assert.ok(r.ratio_ci, 'a CI');
    const [lo, hi] = r.ratio_ci;
    assert.ok(lo <= 1 && hi >= 1, `CI ${lo}–${hi} contains 1`);
    assert.ok(lo >= 0.9 && hi <= 1.1, `CI ${lo}–${hi} within ±10%`);
    assert.equal(r.verdict.status, 'agree');
    assert.match(r.observed.fit.notes.join(' '), /secants/, 'slope from the secant fit with the checkpoint’s L*');
  });

  it('random reshuffling: the linear law does not apply, and the observed slope is suppressed', () => {
    const r = byName('softmax-reshuffle');
    assert.equal(r.predicted?.regime, 'reshuffle_suppressed');
    assert.match(r.verdict.message, /linear law does not apply/);
    const upper = r.predicted?.upper_bound ?? NaN;
    const iid = byName('softmax-iid');
    assert.ok(Math.abs(upper / (iid.predicted?.slope ?? NaN) - 1) < 0.01, 'i.i.d. figure shown as the upper bound');
    assert.ok(r.observed.slope !== null && r.observed.slope < 0.1 * upper, `observed ${r.observed.slope} ≪ ${upper}`);
  });

  it('the report’s sweep (softmax-iid) carries the finite-η prediction; the other sweeps skip its cost', () => {
    const fe = byName('softmax-iid').predicted?.finite_eta;
    assert.equal(fe?.status, 'ok', fe?.message);
    assert.ok((fe?.limits.mean_square ?? 0) > 0 && (fe?.limits.deterministic ?? 0) > (fe?.limits.mean_square ?? 0));
    assert.equal(byName('softmax-reshuffle').predicted?.finite_eta, undefined);
    assert.equal(byName('mlp-iid').predicted?.finite_eta, undefined);
  });

  it('writes report.html (the i.i.d. sweep) in the current folder and prints a table', async () => {
    const html = readFileSync(join(cwd, 'report.html'), 'utf8');
    assert.match(html, /^<!DOCTYPE html>/i);
    assert.match(html, /softmax-iid/);
    const sweeps: DemoSweep[] = [];
    for (const r of results) {
      const dir = join(findDemoFolder() as string, 'sweeps', r.sweep?.name as string);
      sweeps.push({ name: r.sweep?.name as string, dir, manifest: (await readLabManifest(dir))!, result: r });
    }
    const table = demoTable(sweeps).split('\n');
    assert.match(table[0], /^sweep\s+model\s+sampling\s+observed slope\s+predicted slope\s+ratio\s+95% CI\s+verdict$/);
    assert.match(table[1], /^softmax-iid\s+softmax\s+with_replacement\s+\d\.\d+ ± .*\s+agree$/);
    assert.match(table[2], /^softmax-reshuffle\s+softmax\s+reshuffle\s+.*\(i\.i\.d\. ≤ 0\.03\d+\)\s+[\d.]+\*\s+.*no linear law/);
  });
});
