import { strict as assert } from 'node:assert';
import { AnalysisStore, resultKey, sameLr, type StoreChange } from '../../../src/extension/state/analysisStore';
import { fixtureResult, withChanges } from './support/results';

function storeWithTwoRoots() {
  const store = new AnalysisStore();
  store.setWorkspaceFolders([
    { path: '/w/a', name: 'a' },
    { path: '/w/b', name: 'b' },
  ]);
  const iid = withChanges(fixtureResult('iid-sweep'), (r) => (r.root = '/w/a'));
  const resh = withChanges(fixtureResult('reshuffle-sweep'), (r) => (r.root = '/w/b'));
  store.setResults('/w/a', [iid]);
  store.setResults('/w/b', [resh]);
  return { store, iid, resh };
}

describe('extension: analysis store', () => {
  it('tracks workspace folders, keeps folders added from outside, and tells listeners', () => {
    const store = new AnalysisStore();
    const seen: StoreChange[] = [];
    store.onDidChange((c) => seen.push(c));
    store.setWorkspaceFolders([{ path: '/w/a', name: 'a' }]);
    store.addRoot('/elsewhere', 'elsewhere');
    store.setWorkspaceFolders([{ path: '/w/b', name: 'b' }]);
    assert.deepEqual(
      store.roots().map((e) => e.root),
      ['/w/b', '/elsewhere'],
    );
    assert.deepEqual(seen, ['roots', 'roots', 'roots']);
  });

  it('an analysis error keeps the previous results readable', () => {
    const { store, iid } = storeWithTwoRoots();
    store.setResults('/w/a', { error: 'metrics.csv: line 3: bad number' });
    const e = store.get('/w/a')!;
    assert.equal(e.results?.[0], iid);
    assert.equal(e.analysisError, 'metrics.csv: line 3: bad number');
    store.setResults('/w/a', [iid]);
    assert.equal(store.get('/w/a')!.analysisError, null);
  });

  it('shows the first result until one is selected; the selection survives a re-analysis', () => {
    const { store, iid, resh } = storeWithTwoRoots();
    assert.equal(store.selected()?.result, iid);
    store.select('/w/b', resultKey(resh));
    assert.equal(store.selected()?.result, resh);
    const again = structuredClone(resh);
    store.setResults('/w/b', [again]);
    assert.equal(store.selected()?.result, again, 'same sweep id, new object');
    store.setResults('/w/b', []);
    assert.equal(store.selected()?.result, iid, 'a vanished selection falls back');
  });

  it('keys results by sweep id, or by run for a single run', () => {
    const r = fixtureResult('schedule-events');
    const single = withChanges(r, (x) => (x.sweep = null));
    assert.match(resultKey(fixtureResult('iid-sweep')), /^sweep:/);
    assert.equal(resultKey(single), `run:${single.runs[0].id}`);
  });

  it('finds the analysis behind a learning rate: exact η first, then the range, scoped to the lens root', () => {
    const { store, iid, resh } = storeWithTwoRoots();
    const lrA = iid.observed.points[2].lr!;
    assert.equal(store.findForLr(lrA)?.result, iid);
    assert.equal(store.findForLr(lrA * (1 + 1e-9))?.result, iid, 'float noise is the same η');
    const lrsB = resh.observed.points.map((p) => p.lr!).sort((x, y) => x - y);
    assert.equal(store.findForLr((lrsB[0] + lrsB[1]) / 2, '/w/b')?.result, resh);
    assert.equal(store.findForLr(123, '/w/b')?.result, resh, "outside every range: the lens root's result");
    assert.equal(store.findForLr(123, '/nowhere'), null);
    assert.equal(new AnalysisStore().findForLr(0.1), null);
  });

  it('keeps the focused η and the busy state for the panel', () => {
    const store = new AnalysisStore();
    store.setFocusLr(0.02);
    store.setBusy({ message: 'reading', fraction: 0.5, cancellable: true });
    assert.equal(store.focusLr, 0.02);
    assert.equal(store.busy?.fraction, 0.5);
  });

  it('sameLr is a relative comparison', () => {
    assert.ok(sameLr(0.1, 0.1 + 1e-12));
    assert.ok(!sameLr(0.1, 0.1001));
    assert.ok(sameLr(1e-5, 1e-5 * (1 + 1e-8)));
  });
});
