import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { ListedRun, RunsListing } from '../../../src/extension/compute/cliOutput';
import type { RootEntry } from '../../../src/extension/state/analysisStore';
import { RunOverrides } from '../../../src/extension/state/runOverrides';
import { buildRunsTree, ContextValues, displayText, findRunNode, Icons, runNodes, type TreeNodeVM } from '../../../src/extension/runsView/viewModel';
import { fixtureResult, withChanges } from './support/results';

const ROOT = path.resolve('/w/proj');

function listed(id: string, change: Partial<ListedRun> = {}): ListedRun {
  return { id, path: id, absPath: path.join(ROOT, id), name: path.posix.basename(id), format: 'tfevents', lr: null, lrSource: null, batchSize: null, momentum: null, optimizer: null, files: [], tags: [], warnings: [], ...change };
}

function entry(change: Partial<RootEntry> = {}): RootEntry {
  return { root: ROOT, label: 'proj', isWorkspaceFolder: true, listing: null, listingError: null, results: null, analysisError: null, restored: false, ...change };
}

const listing: RunsListing = {
  root: ROOT,
  runs: [listed('sweep/lr_0.1', { lr: 0.1, lrSource: 'directory name', batchSize: 32 }), listed('sweep/lr_0.2', { lr: 0.2 }), listed('single', { format: 'csv', warnings: ['metrics.csv: 2 rows skipped'] })],
  sweeps: [{ id: 'sweep', name: 'sweep', path: 'sweep', runIds: ['sweep/lr_0.1', 'sweep/lr_0.2'] }],
  warnings: [],
};

const none = RunOverrides.empty();
const labels = (nodes: readonly TreeNodeVM[]) => nodes.map((n) => n.label);

describe('extension: runs view model', () => {
  it('is empty when nothing was found (the view then shows its welcome text)', () => {
    assert.deepEqual(buildRunsTree([], none), []);
    assert.deepEqual(buildRunsTree([entry()], none), []);
    assert.deepEqual(buildRunsTree([entry({ listing: { ...listing, runs: [], sweeps: [] } })], none), []);
  });

  it('from discovery alone: sweeps then single runs, with η, B and format; not analysed yet', () => {
    const tree = buildRunsTree([entry({ listing })], none);
    assert.deepEqual(labels(tree), ['sweep', 'single']);
    const sweep = tree[0];
    assert.equal(sweep.kind, 'sweep');
    assert.equal(sweep.contextValue, ContextValues.sweep);
    assert.equal(sweep.description, '2 runs');
    assert.equal(sweep.collapsible, 'expanded');
    const run = sweep.children[0];
    assert.equal(run.label, 'lr_0.1');
    assert.equal(run.description, 'η 0.1 · B 32 · tfevents');
    assert.deepEqual(run.icon, Icons.notAnalysed);
    assert.equal(run.contextValue, 'run-included');
    assert.match(run.tooltip, /η: 0\.1 \(directory name\)/);
    assert.match(run.tooltip, /not analysed yet/);
    assert.equal(run.result, undefined, 'nothing to open in the panel yet');
    const single = tree[1];
    assert.deepEqual(single.icon, Icons.warning, 'a run with reader warnings says so');
    assert.match(single.tooltip, /⚠ metrics\.csv: 2 rows skipped/);
    assert.equal(single.contextValue, 'run-included-no-lr');
    assert.equal(single.description, 'η ? · csv');
  });

  it('with an analysis: converged loss ± SE, stationarity icons, the slope and verdict on the sweep', () => {
    const result = fixtureResult('iid-sweep');
    const tree = buildRunsTree([entry({ results: [result] })], none);
    assert.equal(tree.length, 1);
    const sweep = tree[0];
    assert.equal(sweep.contextValue, ContextValues.sweepAnalysed);
    assert.deepEqual(sweep.icon, Icons.agree);
    assert.match(sweep.description, /^5 runs · dL\/dη 0\.02\d+ ± 0\.000\d+ · pred\. 0\.0264 · ratio 1\.0\d/);
    assert.deepEqual(sweep.result, { root: ROOT, key: 'sweep:sweeps/iid' });
    const run = sweep.children[0];
    const summary = result.runs[0];
    assert.match(run.description, /^η 0\.0025 · B \d+ · L \d\.\d+ ± \d\.\d+ · \w+$/);
    assert.deepEqual(run.icon, summary.stationary ? Icons.stationary : Icons.notStationary);
    assert.match(run.tooltip, /used in the fit|left out of the fit/);
    assert.deepEqual(run.result, sweep.result, 'clicking a run opens its sweep');
  });

  it('marks a run that is not stationary, one left out by the fit, and a diverged one', () => {
    const result = withChanges(fixtureResult('iid-sweep'), (r) => {
      r.runs[0].stationary = false;
      r.observed.points.find((p) => p.run === r.runs[1].id)!.used_in_fit = false;
      r.observed.points.find((p) => p.run === r.runs[1].id)!.excluded_reason = 'beyond the linear range';
      r.observed.points.find((p) => p.run === r.runs[2].id)!.flags = ['diverged'];
    });
    const runs = buildRunsTree([entry({ results: [result] })], none)[0].children;
    assert.deepEqual(runs[0].icon, Icons.notStationary);
    assert.match(runs[0].tooltip, /stationary: no/);
    assert.deepEqual(runs[1].icon, Icons.leftOutByFit);
    assert.match(runs[1].tooltip, /left out of the fit: beyond the linear range/);
    assert.deepEqual(runs[2].icon, Icons.broken);
  });

  it('a lone run (no sweep fit) shows its stationarity, not "left out"; no loss means no L', () => {
    const lone = withChanges(fixtureResult('iid-sweep'), (r) => {
      r.sweep = null;
      r.runs = [r.runs[0]];
      r.runs[0].stationary = true;
      r.runs[0].converged_loss = null;
      r.observed.fit.method = 'none';
      r.observed.points = [{ ...r.observed.points[0], run: r.runs[0].id, used_in_fit: false }];
    });
    const [node] = buildRunsTree([entry({ results: [lone] })], none);
    assert.equal(node.kind, 'run');
    assert.deepEqual(node.icon, Icons.stationary);
    assert.ok(!node.description.includes('L '), node.description);
    assert.match(node.tooltip, /converged loss: none/);
    assert.ok(!/left out of the fit/.test(node.tooltip));
    assert.deepEqual(node.result, { root: ROOT, key: `run:${lone.runs[0].id}` });
  });

  it('shows the user overrides: excluded runs and η set by hand', () => {
    const o = none.withExcluded(ROOT, 'sweep/lr_0.2', true).withLr(ROOT, 'single', 0.05);
    const tree = buildRunsTree([entry({ listing })], o);
    const excluded = tree[0].children[1];
    assert.deepEqual(excluded.icon, Icons.excludedByUser);
    assert.equal(excluded.contextValue, 'run-excluded');
    assert.match(excluded.tooltip, /excluded from the fit by you/);
    const set = tree[1];
    assert.equal(set.contextValue, 'run-included-lr-set');
    assert.match(set.description, /^η 0\.05 \(set\)/);
    assert.equal(set.run?.lr, 0.05);
  });

  it('runs discovery found after the analysis appear as not analysed; errors as messages', () => {
    const result = fixtureResult('iid-sweep');
    const extra = listed('new_run', { lr: 0.3 });
    const tree = buildRunsTree([entry({ results: [result], listing: { ...listing, runs: [extra], sweeps: [] }, analysisError: 'runs/x/metrics.csv: bad row' })], none);
    assert.equal(tree[0].kind, 'message');
    assert.equal(tree[0].label, 'runs/x/metrics.csv: bad row');
    assert.deepEqual(tree[0].icon, Icons.broken);
    assert.equal(tree.at(-1)?.label, 'new_run');
    assert.deepEqual(tree.at(-1)?.icon, Icons.notAnalysed);
  });

  it('several folders: one node per folder, outside folders marked', () => {
    const other = entry({ root: path.resolve('/elsewhere/x'), label: 'x', isWorkspaceFolder: false, listing: { ...listing, root: path.resolve('/elsewhere/x') } });
    const tree = buildRunsTree([entry({ listing }), other], none);
    assert.deepEqual(labels(tree), ['proj', 'x']);
    assert.equal(tree[0].description, '3 runs');
    assert.equal(tree[1].description, '3 runs · outside the workspace');
    assert.equal(new Set(runNodes(tree).map((n) => n.id)).size, 6, 'ids stay unique across folders');
  });

  it('hostile names stay text: no control characters, no bidi overrides, long names shortened', () => {
    const result = fixtureResult('hostile');
    const tree = buildRunsTree([entry({ results: [result] })], none);
    const all = [...tree, ...runNodes(tree)];
    for (const n of all) {
      assert.ok(!/[\u0000-\u001f\u202a-\u202e\u2066-\u2069]/.test(n.label + n.description), JSON.stringify(n.label));
      assert.ok([...n.label].length <= 80);
    }
    assert.equal(displayText('a\nb\u202Ec'), 'a\\u000ab\\u202ec');
    const long = 'x'.repeat(50) + 'MIDDLE' + 'y'.repeat(50);
    const shown = displayText(long);
    assert.equal([...shown].length, 80);
    assert.ok(shown.startsWith('xxxx') && shown.endsWith('yyyy') && shown.includes('…'));
    assert.equal(displayText('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>', 'tree labels are plain text: shown as typed');
  });

  it('finds run nodes for reveal', () => {
    const tree = buildRunsTree([entry({ listing })], none);
    assert.equal(findRunNode(tree, ROOT, 'sweep/lr_0.2')?.label, 'lr_0.2');
    assert.equal(findRunNode(tree, ROOT, 'nope'), undefined);
    assert.equal(runNodes(tree).length, 3);
  });
});
