import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { RunsListing } from '../../../src/extension/compute/cliOutput';
import { inSkippedFolder, knownRunPaths, noChanges, refreshAction, touchesRuns } from '../../../src/extension/runsView/changes';
import { isInside } from '../../../src/extension/util/paths';
import { RefreshScheduler } from '../../../src/extension/util/refreshScheduler';
import { fixtureResult, withChanges } from './support/results';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('extension: refresh scheduler (debounce + single flight)', () => {
  it('runs once after a burst, when it has been quiet', async () => {
    let runs = 0;
    const s = new RefreshScheduler(async () => void runs++, { quietMs: 200, maxWaitMs: 5000 });
    for (let i = 0; i < 5; i++) {
      s.trigger();
      await sleep(5);
    }
    assert.equal(runs, 0, 'not during the burst');
    await sleep(400);
    assert.equal(runs, 1);
    s.dispose();
  });

  it('runs at the latest maxWait after the first trigger while triggers keep coming', async () => {
    let runs = 0;
    const s = new RefreshScheduler(async () => void runs++, { quietMs: 40, maxWaitMs: 80 });
    const until = Date.now() + 200;
    while (Date.now() < until) {
      s.trigger();
      await sleep(10);
    }
    assert.ok(runs >= 1, 'a log that never stops growing still refreshes');
    s.dispose();
  });

  it('never runs twice at once, and runs once more after a change during a run', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const s = new RefreshScheduler(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        await sleep(40);
        running--;
      },
      { quietMs: 5, maxWaitMs: 100 },
    );
    s.trigger();
    await sleep(15);
    s.trigger();
    s.trigger();
    await s.idle();
    assert.equal(maxRunning, 1);
    assert.equal(runs, 2);
    s.dispose();
  });

  it('keeps working after the task throws, and stops after dispose', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const s = new RefreshScheduler(
      async () => {
        runs++;
        throw new Error('boom');
      },
      { quietMs: 5, maxWaitMs: 50, onError: (e) => errors.push(e) },
    );
    s.trigger();
    await sleep(20);
    s.trigger();
    await sleep(20);
    assert.equal(runs, 2);
    assert.equal(errors.length, 2);
    s.dispose();
    s.trigger();
    await sleep(20);
    assert.equal(runs, 2);
  });
});

describe('extension: which log changes trigger what', () => {
  const root = path.resolve('/w/p');
  const run = path.join(root, 'sweep', 'lr_0.1');
  const listing: RunsListing = {
    root,
    runs: [{ id: 'sweep/lr_0.1', path: 'sweep/lr_0.1', absPath: run, name: 'lr_0.1', format: 'csv', lr: 0.1, lrSource: null, batchSize: null, momentum: null, optimizer: null, files: [], tags: [], warnings: [] }],
    sweeps: [],
    warnings: [],
  };
  const changes = (kind: 'created' | 'changed' | 'deleted', ...files: string[]) => {
    const c = noChanges();
    files.forEach((f) => c[kind].add(f));
    return c;
  };

  it('a folder not analysed only re-lists', () => {
    assert.equal(refreshAction(root, changes('changed', path.join(run, 'metrics.csv')), false, [run]), 'discover');
  });

  it('an analysed folder is re-analysed when a run grows or a log appears or vanishes', () => {
    assert.equal(refreshAction(root, changes('changed', path.join(run, 'metrics.csv')), true, [run]), 'analyze');
    assert.equal(refreshAction(root, changes('created', path.join(root, 'sweep', 'lr_0.2', 'metrics.csv')), true, [run]), 'analyze');
    assert.equal(refreshAction(root, changes('deleted', path.join(run, 'metrics.csv')), true, [run]), 'analyze');
  });

  it('a growing file that belongs to no run, or lives where discovery never looks, changes nothing', () => {
    assert.equal(refreshAction(root, changes('changed', path.join(root, 'data', 'train.jsonl')), true, [run]), 'none');
    assert.equal(refreshAction(root, changes('created', path.join(root, 'node_modules', 'x', 'a.jsonl')), true, [run]), 'none');
    assert.equal(refreshAction(root, changes('created', path.join(root, '.venv', 'a.jsonl')), false, [run]), 'none');
    assert.equal(refreshAction(root, noChanges(), true, [run]), 'none');
    assert.ok(inSkippedFolder(root, path.join(root, '.git', 'x.jsonl')));
    assert.ok(!inSkippedFolder(root, path.join(root, 'runs', 'x.jsonl')));
  });

  it('knows run paths from discovery and from the analysis', () => {
    const result = withChanges(fixtureResult('iid-sweep'), (r) => (r.root = root));
    const paths = knownRunPaths(root, listing, [result]);
    assert.ok(paths.includes(run));
    assert.ok(paths.includes(path.resolve(root, result.runs[0].path)));
    assert.ok(touchesRuns([path.join(run, 'events.out.tfevents.1')], paths));
    assert.ok(!touchesRuns([path.join(root, 'other.jsonl')], paths));
  });

  it('path containment does not confuse siblings with common prefixes', () => {
    assert.ok(isInside(path.join(root, 'a', 'b'), root));
    assert.ok(isInside(root, root));
    assert.ok(!isInside(path.resolve('/w/p2/x'), root));
    assert.ok(!isInside(path.resolve('/w'), root));
    assert.ok(isInside(path.join(root, '..foo'), root), 'a folder named "..foo" is inside');
  });
});
