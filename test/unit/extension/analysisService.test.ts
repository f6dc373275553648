import { errorMessages, progressUis } from './support/vscodeStub';
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalysisResult } from '../../../src/core/result/schema';
import { AnalysisService } from '../../../src/extension/compute/analysisService';
import { DEFAULT_SETTINGS } from '../../../src/extension/config';
import type { Ctx } from '../../../src/extension/ctx';
import type { HeatcapLanguageClient } from '../../../src/extension/languageClient';
import { AnalysisStore } from '../../../src/extension/state/analysisStore';
import { RunOverrides } from '../../../src/extension/state/runOverrides';
import { fixtureResult } from './support/results';

const FAKE_CLI = join(__dirname, 'fixtures', 'fake-cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'heatcap-svc-'));
  const resultFile = join(dir, 'result.json');
  writeFileSync(resultFile, JSON.stringify([fixtureResult('iid-sweep')]));
  process.env.FAKE_CLI_RESULT = resultFile;
  const store = new AnalysisStore();
  // Real folders (the CLI runs in its root); the fake CLI picks its behaviour from the name.
  const root = (name: string) => join(dir, name);
  for (const n of ['ok', 'hang', 'broken']) mkdirSync(root(n));
  store.setWorkspaceFolders(['ok', 'hang', 'broken'].map((n) => ({ path: root(n), name: n })));
  const logs: string[] = [];
  const log = (level: string) => (m: string) => logs.push(`${level}: ${m}`);
  const ctx = {
    store,
    cliPath: FAKE_CLI,
    log: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug'), show: () => undefined },
    overrides: RunOverrides.empty(),
    settingsFor: () => DEFAULT_SETTINGS,
    folderOf: () => undefined,
    settingsFolderOf: () => undefined,
  } as unknown as Ctx;
  const pushed: { root: string; results: readonly AnalysisResult[] }[] = [];
  const client = { pushResults: (root: string, results: readonly AnalysisResult[]) => pushed.push({ root, results }) } as unknown as HeatcapLanguageClient;
  progressUis.length = 0;
  errorMessages.length = 0;
  return { store, jobs: new AnalysisService(ctx, client), pushed, logs, root };
}

describe('extension: analysis jobs (with a stand-in vscode module)', () => {
  it('runs the CLI under a cancellable notification, stores the results and pushes them to the server', async () => {
    const { store, jobs, pushed, logs, root } = setup();
    const busy: unknown[] = [];
    store.onDidChange((c) => c === 'busy' && busy.push(store.busy));
    const outcome = await jobs.analyze([root('ok')], { quiet: false });
    assert.equal(outcome, true);
    assert.equal(store.get(root('ok'))?.results?.length, 1);
    assert.deepEqual(pushed.map((p) => p.root), [root('ok')]);
    assert.equal(progressUis[0].options.cancellable, true);
    assert.equal(progressUis[0].options.location, 15);
    assert.deepEqual(progressUis[0].reports.map((r) => r.message), ['reading']);
    assert.ok(busy.length >= 2 && busy.at(-1) === null, 'busy while running, cleared after');
    assert.ok(logs.some((l) => l.startsWith(`info: running: heatcap analyze ${root('ok')} --all --max-depth=8 --json`)), 'the command line is logged');
    assert.equal(jobs.busy, false);
  });

  it('Cancel on the notification kills the job; the previous results stay', async () => {
    const { store, jobs, root } = setup();
    await jobs.analyze([root('ok')], { quiet: true });
    const before = store.get(root('ok'))?.results;
    const job = jobs.analyze([root('hang')], { quiet: false });
    await sleep(300);
    const started = Date.now();
    progressUis.at(-1)!.cancel();
    assert.equal(await job, undefined);
    assert.ok(Date.now() - started < 2500);
    assert.equal(store.get(root('ok'))?.results, before);
    assert.equal(store.get(root('hang'))?.results, null);
    assert.equal(store.busy, null);
  });

  it('a newer job cancels the running one', async () => {
    const { store, jobs, root } = setup();
    const first = jobs.analyze([root('hang')], { quiet: true });
    await sleep(300);
    const second = jobs.analyze([root('ok')], { quiet: true });
    assert.equal(await first, undefined);
    assert.equal(await second, true);
    assert.equal(store.get(root('ok'))?.results?.length, 1);
    assert.equal(store.busy, null, 'the older job finishing does not clear the newer one’s state early, nor leave it set');
  });

  it('cancel() (the panel’s button) stops the running job', async () => {
    const { jobs, root } = setup();
    const job = jobs.analyze([root('hang')], { quiet: true });
    await sleep(300);
    jobs.cancel();
    assert.equal(await job, undefined);
  });

  it('an error naming the file goes to the store and, unless quiet, to a message; other folders still run', async () => {
    const { store, jobs, root } = setup();
    const outcome = await jobs.analyze([root('broken'), root('ok')], { quiet: false });
    assert.equal(outcome, false);
    assert.equal(store.get(root('broken'))?.analysisError, `${root('broken')}/metrics.csv: line 2: not a number`);
    assert.equal(store.get(root('ok'))?.results?.length, 1);
    assert.deepEqual(errorMessages, [`Heat Capacity: ${root('broken')}/metrics.csv: line 2: not a number`]);
    await jobs.analyze([root('broken')], { quiet: true });
    assert.equal(errorMessages.length, 1, 'a background refresh does not pop up errors');
  });

  it('discovery lists runs without IPC and without blocking on a running analysis', async () => {
    const { store, jobs, root } = setup();
    const analysis = jobs.analyze([root('hang')], { quiet: true });
    await sleep(200);
    await jobs.discover([root('ok')]);
    assert.deepEqual(store.get(root('ok'))?.listing?.runs, []);
    jobs.cancel();
    await analysis;
  });
});
