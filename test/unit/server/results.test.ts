import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HeatcapError, isHeatcapError } from '../../../src/core/errors';
import type { AnalysisResult } from '../../../src/core/result/schema';
import { matchResult, sameLr } from '../../../src/server/results/match';
import { ResultFiles } from '../../../src/server/results/resultFiles';
import { findResultFiles, readResultFile } from '../../../src/server/results/scan';
import { ResultStore, type StoredResult } from '../../../src/server/results/store';
import { parseAnalysisResult } from '../../../src/server/results/validate';
import { fixtureAnalysis } from '../../fixtures/lsp/analysisFixture';
import { assertValidResult, undeclaredKeys } from '../../support/resultSchema';

const FIXTURE_JSON = path.resolve(__dirname, '../../fixtures/lsp/.heatcap/analysis.json');

function throwsHeatcap(fn: () => unknown, what: RegExp): void {
  assert.throws(fn, (e: unknown) => isHeatcapError(e) && (e as HeatcapError).file === 'f.json' && what.test((e as HeatcapError).what));
}

describe('server/results/validate', () => {
  it('the fixture .heatcap/analysis.json is exactly the typed fixture and valid against analysis-result.schema.json', () => {
    const json = JSON.parse(readFileSync(FIXTURE_JSON, 'utf8'));
    assertValidResult(json);
    assert.deepEqual(undeclaredKeys(json), []);
    assert.deepEqual(json, fixtureAnalysis());
  });

  it('accepts any 1.x schema version, with extra fields', () => {
    for (const v of ['1.0.0', '1.7.2', '1.3']) {
      const r = { ...fixtureAnalysis(), schema_version: v, some_future_field: [1] };
      assert.equal(parseAnalysisResult(r, 'f.json').schema_version, v);
    }
  });

  it('rejects other majors and malformed fields with HeatcapError(file, field)', () => {
    throwsHeatcap(() => parseAnalysisResult({ ...fixtureAnalysis(), schema_version: '2.0.0' }, 'f.json'), /schema_version "2\.0\.0" is not 1\.x/);
    throwsHeatcap(() => parseAnalysisResult({ ...fixtureAnalysis(), schema_version: 1 }, 'f.json'), /schema_version/);
    throwsHeatcap(() => parseAnalysisResult([], 'f.json'), /expected an object/);
    throwsHeatcap(() => parseAnalysisResult({ ...fixtureAnalysis(), observed: null }, 'f.json'), /^observed: expected an object/);
    const r = fixtureAnalysis() as unknown as { observed: { slope: unknown }; predicted: { regime: unknown } };
    r.observed.slope = '0.05';
    throwsHeatcap(() => parseAnalysisResult(r, 'f.json'), /observed\.slope: expected a number or null/);
    const q = fixtureAnalysis() as unknown as { predicted: { regime: unknown } };
    q.predicted.regime = 'quantum';
    throwsHeatcap(() => parseAnalysisResult(q, 'f.json'), /predicted\.regime: unknown value "quantum"/);
    const c = fixtureAnalysis();
    c.predicted!.reshuffle_curve = { lr: [0.1, 0.2], excess: [0.001] };
    throwsHeatcap(() => parseAnalysisResult(c, 'f.json'), /reshuffle_curve/);
    const runs = fixtureAnalysis() as unknown as { runs: unknown };
    runs.runs = {};
    throwsHeatcap(() => parseAnalysisResult(runs, 'f.json'), /runs: expected an array/);
  });
});

function stored(result: AnalysisResult, origin: StoredResult['origin'], extraScope?: string): StoredResult {
  return { result, scopes: [result.root, ...(extraScope ? [extraScope] : [])], origin };
}

function resultAt(root: string, lrs: number[], generatedAt = '2025-01-01T00:00:00Z'): AnalysisResult {
  const r = fixtureAnalysis(root);
  r.generated_at = generatedAt;
  r.runs = r.runs.slice(0, lrs.length).map((run, i) => ({ ...run, lr: lrs[i] }));
  r.observed.points = r.observed.points.slice(0, lrs.length).map((p, i) => ({ ...p, lr: lrs[i] }));
  return r;
}

describe('server/results/match', () => {
  const file = (root: string) => ({ kind: 'file' as const, file: path.join(root, '.heatcap/analysis.json') });

  it('the result whose scope is the nearest folder above the document wins', () => {
    const outer = stored(resultAt('/ws', [0.5]), file('/ws'));
    const inner = stored(resultAt('/ws/exp1', [0.5]), file('/ws/exp1'));
    assert.equal(matchResult('/ws/exp1/src/train.py', 0.1, [outer, inner]), inner);
    assert.equal(matchResult('/ws/other/train.py', 0.1, [outer, inner]), outer);
    assert.equal(matchResult('/ws/exp10/train.py', 0.1, [outer, inner]), outer, '/ws/exp1 is not a folder above /ws/exp10');
  });

  it('with no folder above the document, a result with a run at this η is used', () => {
    const a = stored(resultAt('/logs/a', [0.01, 0.02]), file('/logs/a'));
    const b = stored(resultAt('/logs/b', [0.1, 0.2]), file('/logs/b'));
    assert.equal(matchResult('/code/train.py', 0.1, [a, b]), b);
    assert.equal(matchResult('/code/train.py', 0.3, [a, b]), undefined);
    assert.equal(matchResult(undefined, 0.02, [a, b]), a, 'untitled documents match by η only');
  });

  it('ties go to a result with this η, then the newest, then pushed over files', () => {
    const old = stored(resultAt('/ws', [0.1], '2025-01-01T00:00:00Z'), file('/ws'));
    const newer = stored(resultAt('/ws', [0.2], '2025-02-01T00:00:00Z'), file('/ws'));
    assert.equal(matchResult('/ws/t.py', 0.1, [newer, old]), old);
    assert.equal(matchResult('/ws/t.py', 0.3, [old, newer]), newer);
    const pushed = stored(resultAt('/ws', [0.2], '2025-02-01T00:00:00Z'), { kind: 'pushed', root: '/ws' });
    assert.equal(matchResult('/ws/t.py', 0.3, [newer, pushed]), pushed);
  });

  it('among results with a run at this η, one with a slope beats a lone run that has none (analyze --all next to a sweep)', () => {
    const sweep = stored(resultAt('/ws', [0.005, 0.01, 0.02], '2025-01-01T00:00:00Z'), { kind: 'pushed', root: '/ws' });
    const lone = stored(resultAt('/ws', [0.01], '2025-01-01T00:00:00Z'), { kind: 'pushed', root: '/ws' });
    lone.result.observed.slope = null;
    lone.result.observed.slope_stderr = null;
    lone.result.predicted = null;
    assert.equal(matchResult('/ws/train.py', 0.01, [lone, sweep]), sweep);
    assert.equal(matchResult('/ws/train.py', 0.01, [sweep, lone]), sweep);
  });

  it('an observed slope beats a lone run that has only a prediction, even a newer one (a checkpoint set in the settings)', () => {
    const sweep = stored(resultAt('/ws', [0.005, 0.01, 0.02], '2025-01-01T00:00:00Z'), { kind: 'pushed', root: '/ws' });
    const lone = stored(resultAt('/ws', [0.01], '2025-01-01T00:00:01Z'), { kind: 'pushed', root: '/ws' });
    lone.result.observed.slope = null;
    lone.result.observed.slope_stderr = null;
    assert.ok(lone.result.predicted?.slope != null, 'the fixture lone run should carry a prediction');
    assert.equal(matchResult('/ws/train.py', 0.01, [lone, sweep]), sweep);
    assert.equal(matchResult('/ws/train.py', 0.01, [sweep, lone]), sweep);
    // With no observed slope anywhere, a prediction still beats nothing.
    const bare = stored(resultAt('/ws', [0.01], '2025-01-01T00:00:02Z'), { kind: 'pushed', root: '/ws' });
    bare.result.observed.slope = null;
    bare.result.predicted = null;
    assert.equal(matchResult('/ws/train.py', 0.01, [bare, lone]), lone);
  });

  it('the folder holding .heatcap/ is a scope even when the result root is elsewhere', () => {
    const store = new ResultStore();
    store.setFile('/ws/.heatcap/analysis.json', [resultAt('/mnt/logs/sweep', [0.5])]);
    assert.equal(matchResult('/ws/configs/a.yaml', 0.1, store.all())?.origin.kind, 'file');
  });

  it('sameLr compares written numbers up to float round-off', () => {
    assert.ok(sameLr(0.1, 0.1 + 1e-17));
    assert.ok(sameLr(3e-4, 0.0003));
    assert.ok(!sameLr(0.1, 0.10001));
  });
});

describe('server/results/store', () => {
  it('pushed results replace those pushed for the same root; an empty push forgets it', () => {
    const store = new ResultStore();
    store.setPushed('/ws', [resultAt('/ws', [0.1])]);
    store.setPushed('/ws', [resultAt('/ws', [0.2]), resultAt('/ws', [0.3])]);
    assert.equal(store.all().length, 2);
    store.setPushed('/ws/', []);
    assert.equal(store.all().length, 0);
  });
});

describe('server/results/scan and ResultFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'heatcap-lsp-scan-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeResult = (rel: string, result: unknown): string => {
    const f = path.join(dir, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, typeof result === 'string' ? result : JSON.stringify(result));
    return f;
  };

  it('finds .heatcap/analysis*.json to the depth limit, skipping node_modules and hidden folders', async () => {
    const a = writeResult('.heatcap/analysis.json', fixtureAnalysis());
    const b = writeResult('x/y/.heatcap/analysis-sweep2.json', fixtureAnalysis());
    writeResult('x/y/.heatcap/other.json', fixtureAnalysis());
    writeResult('node_modules/p/.heatcap/analysis.json', fixtureAnalysis());
    writeResult('.git/.heatcap/analysis.json', fixtureAnalysis());
    writeResult('d1/d2/d3/.heatcap/analysis.json', fixtureAnalysis());
    assert.deepEqual(await findResultFiles([dir], { maxDepth: 2, maxFolders: 1000 }), [a, b].sort());
  });

  it('stops after maxFolders folders (bounded work on huge workspaces)', async () => {
    for (let i = 0; i < 20; i++) mkdirSync(path.join(dir, `d${String(i).padStart(2, '0')}`));
    writeResult('d19/.heatcap/analysis.json', fixtureAnalysis());
    assert.deepEqual(await findResultFiles([dir], { maxDepth: 3, maxFolders: 5 }), []);
  });

  it('readResultFile reads one result or an array of them (heatcap analyze --all --json)', async () => {
    const one = writeResult('a/.heatcap/analysis.json', resultAt('/r', [0.1]));
    const many = writeResult('b/.heatcap/analysis-all.json', [resultAt('/r1', [0.1]), resultAt('/r2', [0.2])]);
    assert.deepEqual((await readResultFile(one)).map((r) => r.root), ['/r']);
    assert.deepEqual((await readResultFile(many)).map((r) => r.root), ['/r1', '/r2']);
    const bad = writeResult('c/.heatcap/analysis.json', [resultAt('/r1', [0.1]), { schema_version: '1.0.0' }]);
    await assert.rejects(readResultFile(bad), (e: unknown) => isHeatcapError(e) && /\[1\]$/.test((e as HeatcapError).file ?? ''));
  });

  it('readResultFile names the file for invalid JSON and for a wrong schema', async () => {
    const bad = writeResult('.heatcap/analysis.json', '{"schema_version": ');
    await assert.rejects(readResultFile(bad), (e: unknown) => isHeatcapError(e) && (e as HeatcapError).file === bad && /not valid JSON/.test((e as HeatcapError).what));
  });

  it('ResultFiles: loads, re-reads on change, forgets deleted files, logs and skips invalid ones', async () => {
    const store = new ResultStore();
    const logs: string[] = [];
    const files = new ResultFiles(store, () => [dir], (m) => logs.push(m));
    const f = writeResult('.heatcap/analysis.json', resultAt('/r', [0.1]));
    writeResult('sub/.heatcap/analysis.json', { schema_version: '2.0.0' });
    assert.equal(await files.refresh(), true);
    assert.equal(store.all().length, 1);
    assert.ok(logs.some((l) => /ignored .*sub.*schema_version "2\.0\.0" is not 1\.x/.test(l)), logs.join('\n'));
    assert.equal(await files.refresh(), false, 'nothing changed');

    writeFileSync(f, JSON.stringify(resultAt('/r', [0.7])));
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    assert.equal(await files.reload([f]), true);
    assert.equal(store.all()[0].result.runs[0].lr, 0.7);

    rmSync(f);
    assert.equal(await files.refresh(), true);
    assert.equal(store.all().length, 0);
  });
});
