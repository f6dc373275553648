/**
 * Protocol-level tests: the bundled server spawned as a child process and driven over stdio (and IPC)
 * with vscode-languageserver-protocol, on the fixture files of every language in test/fixtures/lsp/.
 * Oracles: lens ranges by plain string search in the fixture text; lens titles by hand arithmetic
 * on the fixture analysis (observed s = 0.050: s·η and −s·η/2 at 2 significant figures).
 */
import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DidChangeConfigurationNotification, type CodeLens, type MarkupContent } from 'vscode-languageserver-protocol';
import {
  AnalysisResultsNotification,
  AnalyzeWorkspaceCommand,
  OpenPanelAtCommand,
  SettingsRequest,
  type OpenPanelAtArgs,
} from '../../../src/shared/lspProtocol';
import { fixtureAnalysis } from '../../fixtures/lsp/analysisFixture';
import { fileUri, LspClient } from './lspClient';

const FIXTURES = path.resolve(__dirname, '../../fixtures/lsp');
const M = '\u2212';

/** One expected lens: its line, the literal (found in `context` on that line) and its title. */
type Expect = [line: number, context: string, literal: string, title: string];

function lensRow(text: string, [line, context, literal, title]: Expect) {
  const lineText = text.split('\n')[line];
  const at = lineText.indexOf(context);
  assert.ok(at >= 0, `${JSON.stringify(context)} not on line ${line}: ${JSON.stringify(lineText)}`);
  const character = at + context.indexOf(literal);
  return { range: { start: { line, character }, end: { line, character: character + literal.length } }, title };
}

function rows(lenses: CodeLens[]) {
  return lenses.map((l) => ({ range: l.range, title: l.command?.title }));
}

const obs = (eta: string, up: string, half: string, extra = '') =>
  `η=${eta} · dL/dη = 0.050 (observed) · excess loss ≈ +${up} · halving η: ${M}${half}${extra}`;

const FILES: { file: string; languageId: string; lenses: Expect[] }[] = [
  {
    file: 'train.py',
    languageId: 'python',
    lenses: [
      [5, 'LEARNING_RATE = 3e-4', '3e-4', obs('3e-4', '1.5e-5', '7.5e-6')],
      [9, 'lr=0.1', '0.1', obs('0.1', '0.0050', '0.0025')],
      [10, 'lr=0.05', '0.05', obs('0.05', '0.0025', '0.0013')],
      [15, 'default=0.2', '0.2', obs('0.2', '0.010', '0.0050')],
      [18, '"lr": 1e-3', '1e-3', obs('0.001', '5.0e-5', '2.5e-5')],
      [19, 'groups, 0.001', '0.001', obs('0.001', '5.0e-5', '2.5e-5')],
    ],
  },
  {
    file: 'config.yaml',
    languageId: 'yaml',
    lenses: [
      [3, 'lr: 0.1', '0.1', obs('0.1', '0.0050', '0.0025')],
      [8, 'max_lr: 0.4', '0.4', obs('0.4', '0.020', '0.010', ' · extrapolated: fit used η ≤ 0.2')],
    ],
  },
  { file: 'config.json', languageId: 'jsonc', lenses: [[5, '"lr": 3e-5', '3e-5', obs('3e-5', '1.5e-6', '7.5e-7')]] },
  {
    file: 'pyproject.toml',
    languageId: 'toml',
    lenses: [
      [6, 'learning_rate = 0.05', '0.05', obs('0.05', '0.0025', '0.0013')],
      [8, 'optimizer.lr = 2.5e-2', '2.5e-2', obs('0.025', '0.0013', '0.00063')],
    ],
  },
  {
    file: 'train.sh',
    languageId: 'shellscript',
    lenses: [
      [3, 'LR=0.1', '0.1', obs('0.1', '0.0050', '0.0025')],
      [5, '--lr 0.05', '0.05', obs('0.05', '0.0025', '0.0013')],
      [6, 'optimizer.lr=0.02', '0.02', obs('0.02', '0.0010', '0.00050')],
      [7, '"3e-4"', '3e-4', obs('3e-4', '1.5e-5', '7.5e-6')],
    ],
  },
];

describe('server: LSP protocol over stdio (spawned dist bundle)', function () {
  this.timeout(30000);
  let client: LspClient;

  before(async () => {
    client = await LspClient.start({ folder: FIXTURES, heatcapSection: {}, refreshAndWatch: true });
    await client.until(() => client.logs.some((l) => l.includes('results: read')));
  });
  after(() => client?.stop());

  for (const { file, languageId, lenses } of FILES) {
    it(`${file}: exact lens ranges and titles, command ${OpenPanelAtCommand} with {lr, resultRoot, uri}`, async () => {
      const text = readFileSync(path.join(FIXTURES, file), 'utf8');
      const uri = fileUri(path.join(FIXTURES, file));
      await client.open(uri, languageId, text);
      const got = await client.codeLenses(uri);
      assert.deepEqual(rows(got), lenses.map((e) => lensRow(text, e)));
      for (const [i, l] of got.entries()) {
        assert.equal(l.command?.command, OpenPanelAtCommand);
        const args = l.command?.arguments?.[0] as OpenPanelAtArgs;
        assert.equal(args.uri, uri);
        assert.equal(args.resultRoot, '/placeholder/lsp-fixture');
        assert.equal(args.lr, Number(lenses[i][2]));
      }
    });
  }

  it('notebook cells (vscode-notebook-cell: URIs): magics, %%bash cells and ! lines', async () => {
    const nb = JSON.parse(readFileSync(path.join(FIXTURES, 'notebook.ipynb'), 'utf8')) as { cells: { cell_type: string; source: string[] }[] };
    const nbPath = path.join(FIXTURES, 'notebook.ipynb');
    const cellUri = (i: number) => `vscode-notebook-cell:${encodeURI(nbPath)}#W${i}sZmlsZQ%3D%3D`;
    const titles: string[][] = [];
    for (const [i, cell] of nb.cells.entries()) {
      if (cell.cell_type !== 'code') continue;
      await client.open(cellUri(i), 'python', cell.source.join(''));
      titles.push(rows(await client.codeLenses(cellUri(i))).map((r) => `${r.range.start.line}:${r.range.start.character} ${r.title}`));
    }
    assert.deepEqual(titles, [
      [`1:30 ${obs('0.1', '0.0050', '0.0025')}`],
      [`1:21 ${obs('0.05', '0.0025', '0.0013')}`],
      [`1:22 ${obs('0.2', '0.010', '0.0050')}`, `2:5 ${obs('0.3', '0.015', '0.0075', ' · extrapolated: fit used η ≤ 0.2')}`],
    ]);
  });

  it('hover: formula, B/momentum/sampling, CI and stability note on the setting; nothing elsewhere', async () => {
    const uri = fileUri(path.join(FIXTURES, 'train.py'));
    const hover = await client.hover(uri, 10, 51);
    const md = (hover?.contents as MarkupContent).value;
    assert.equal((hover?.contents as MarkupContent).kind, 'markdown');
    assert.deepEqual(hover?.range, { start: { line: 10, character: 50 }, end: { line: 10, character: 54 } });
    for (const needle of ['95% CI 0.046–0.054', 'dL/dη·η ≈ **+0.0025**', 'Formula (`iid_with_replacement`, s = dL/dη)', 'B = 32', 'momentum 0', 'i.i.d. batches', 'below ≈0.45', 'This setting: momentum 0.9']) {
      assert.ok(md.includes(needle), `missing ${needle} in\n${md}`);
    }
    assert.equal(await client.hover(uri, 0, 60), null, 'a number in the docstring has no hover');
  });

  it('malformed files (invalid YAML/JSON/TOML, half-typed Python): no lens, no crash, reason logged', async () => {
    for (const [file, languageId] of [
      ['malformed/broken.yaml', 'yaml'],
      ['malformed/broken.json', 'json'],
      ['malformed/broken.toml', 'toml'],
      ['malformed/half_typed.py', 'python'],
    ]) {
      const uri = fileUri(path.join(FIXTURES, file));
      await client.open(uri, languageId, readFileSync(path.join(FIXTURES, file), 'utf8'));
      assert.deepEqual(await client.codeLenses(uri), [], file);
    }
    assert.ok(client.alive);
    assert.ok(client.logs.some((l) => /broken\.yaml v1: /.test(l)));
  });

  it('heatcap/settings lists the settings with key, kind, optimizer and nearby values', async () => {
    const uri = fileUri(path.join(FIXTURES, 'train.py'));
    const r = await client.connection.sendRequest(SettingsRequest, { textDocument: { uri } });
    const sgd = r.settings.find((s) => s.lr === 0.05)!;
    assert.deepEqual(
      { key: sgd.key, kind: sgd.kind, optimizer: sgd.optimizer, momentum: sgd.momentum?.value, text: sgd.text },
      { key: 'lr', kind: 'keyword_argument', optimizer: 'sgd', momentum: 0.9, text: '0.05' },
    );
    assert.equal(r.settings.length, 6);
  });

  it('incremental sync: edits move and change the lenses', async () => {
    const uri = 'untitled:Untitled-1';
    await client.open(uri, 'python', 'x = 1\nlr = 0.1\n');
    await client.change(uri, 2, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '# header\n' }]);
    await client.change(uri, 3, [{ range: { start: { line: 2, character: 5 }, end: { line: 2, character: 8 } }, text: '0.025' }]);
    const got = rows(await client.codeLenses(uri));
    // Untitled: no folder, so matched by η: 0.025 is one of the fixture's runs.
    assert.deepEqual(got, [{ range: { start: { line: 2, character: 5 }, end: { line: 2, character: 10 } }, title: obs('0.025', '0.0013', '0.00063') }]);
  });

  it('pushed results (heatcap/analysisResults) are matched, invalid ones ignored, lenses refreshed', async () => {
    const uri = 'untitled:Untitled-2';
    await client.open(uri, 'python', 'lr = 0.3\n');
    assert.deepEqual(rows(await client.codeLenses(uri)).map((r) => r.title), ['η=0.3 · Analyze dL/dη…']);
    const lens = (await client.codeLenses(uri))[0];
    assert.equal(lens.command?.command, AnalyzeWorkspaceCommand);

    const pushed = fixtureAnalysis('/elsewhere/sweep');
    pushed.runs[0].lr = 0.3;
    pushed.observed.slope = 0.1;
    const refreshes = client.lensRefreshes;
    await client.connection.sendNotification(AnalysisResultsNotification, {
      root: '/elsewhere/sweep',
      results: [pushed, { schema_version: '2.0.0' } as never],
    });
    await client.until(() => client.lensRefreshes > refreshes);
    assert.deepEqual(rows(await client.codeLenses(uri)).map((r) => r.title), [
      `η=0.3 · dL/dη = 0.10 (observed) · excess loss ≈ +0.030 · halving η: ${M}0.015 · extrapolated: fit used η ≤ 0.2`,
    ]);
    assert.ok(client.logs.some((l) => /ignored results\[1\] pushed for \/elsewhere\/sweep: schema_version "2\.0\.0" is not 1\.x/.test(l)));
    await client.connection.sendNotification(AnalysisResultsNotification, { root: '/elsewhere/sweep', results: [] });
    await client.until(async () => (await client.codeLenses(uri))[0]?.command?.title === 'η=0.3 · Analyze dL/dη…');
  });
});

describe('server: settings, file watching, polling and IPC', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'heatcap-lsp-'));
    cpSync(path.join(FIXTURES, 'train.py'), path.join(dir, 'train.py'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeAnalysis = (slope: number) => {
    mkdirSync(path.join(dir, '.heatcap'), { recursive: true });
    const r = fixtureAnalysis(dir);
    r.observed.slope = slope;
    writeFileSync(path.join(dir, '.heatcap', 'analysis.json'), JSON.stringify(r));
  };

  it('heatcap.codeLens.enabled = false turns lenses off (hover stays); a configuration change turns them back on', async () => {
    const client = await LspClient.start({ folder: dir, heatcapSection: { codeLens: { enabled: false } }, refreshAndWatch: true });
    try {
      const uri = fileUri(path.join(dir, 'train.py'));
      await client.open(uri, 'python', readFileSync(path.join(dir, 'train.py'), 'utf8'));
      await client.until(() => client.registrations.includes('workspace/didChangeConfiguration'));
      assert.deepEqual(await client.codeLenses(uri), []);
      assert.ok(await client.hover(uri, 9, 30));
      client.heatcapSection = { codeLens: { enabled: true } };
      await client.configurationChanged();
      await client.until(async () => (await client.codeLenses(uri)).length === 6);
    } finally {
      await client.stop();
    }
  });

  it('a client without workspace/configuration can push the settings in didChangeConfiguration', async () => {
    const client = await LspClient.start({ folder: dir });
    try {
      const uri = fileUri(path.join(dir, 'train.py'));
      await client.open(uri, 'python', readFileSync(path.join(dir, 'train.py'), 'utf8'));
      assert.equal((await client.codeLenses(uri)).length, 6);
      await client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { heatcap: { codeLens: { enabled: false } } } });
      await client.until(async () => (await client.codeLenses(uri)).length === 0);
    } finally {
      await client.stop();
    }
  });

  it('heatcap.server.maxFileSize: a larger document is not searched', async () => {
    const client = await LspClient.start({ folder: dir, heatcapSection: { server: { maxFileSize: 100 } } });
    try {
      const uri = fileUri(path.join(dir, 'train.py'));
      await client.open(uri, 'python', readFileSync(path.join(dir, 'train.py'), 'utf8'));
      assert.deepEqual(await client.codeLenses(uri), []);
      assert.ok(client.logs.some((l) => /above heatcap\.server\.maxFileSize \(100\)/.test(l)), client.logs.join('\n'));
    } finally {
      await client.stop();
    }
  });

  it('workspace/didChangeWatchedFiles re-reads a changed .heatcap/analysis.json', async () => {
    writeAnalysis(0.05);
    const client = await LspClient.start({ folder: dir, heatcapSection: {}, refreshAndWatch: true });
    try {
      await client.until(() => client.registrations.includes('workspace/didChangeWatchedFiles'));
      const uri = fileUri(path.join(dir, 'train.py'));
      await client.open(uri, 'python', readFileSync(path.join(dir, 'train.py'), 'utf8'));
      await client.until(async () => (await client.codeLenses(uri))[1]?.command?.title === obs('0.1', '0.0050', '0.0025'));
      writeAnalysis(0.2);
      await client.watchedFilesChanged([{ uri: fileUri(path.join(dir, '.heatcap', 'analysis.json')), type: 2 }]);
      await client.until(
        async () =>
          (await client.codeLenses(uri))[1]?.command?.title ===
          `η=0.1 · dL/dη = 0.20 (observed) · excess loss ≈ +0.020 · halving η: ${M}0.010`,
      );
    } finally {
      await client.stop();
    }
  });

  it('--node-ipc, no watcher support: polling picks up a result file written after start', async () => {
    const client = await LspClient.start({ transport: 'ipc', folder: dir, initializationOptions: { resultPollMs: 100 } });
    try {
      const uri = fileUri(path.join(dir, 'train.py'));
      await client.open(uri, 'python', readFileSync(path.join(dir, 'train.py'), 'utf8'));
      assert.equal((await client.codeLenses(uri))[1]?.command?.title, 'η=0.1 · Analyze dL/dη…');
      writeAnalysis(0.05);
      await client.until(async () => (await client.codeLenses(uri))[1]?.command?.title === obs('0.1', '0.0050', '0.0025'));
    } finally {
      await client.stop();
    }
  });
});
