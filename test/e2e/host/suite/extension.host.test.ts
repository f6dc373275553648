/**
 * Runs inside the extension host (code-server's, or desktop VS Code's with HEATCAP_E2E_DESKTOP=1), with
 * the extension under development loaded from the repository and the fixture workspace of
 * ../../support/fixture.ts open. Everything goes through the public `vscode` API: the extension's
 * commands, its configuration, the language client's CodeLens (`vscode.executeCodeLensProvider`) and
 * the panel's messages to and from the webview (a chart export is a round trip host → panel → host).
 *
 * These files live inside the extension's folder, so `require('vscode')` here returns the very API object
 * the extension uses: replacing `window.showQuickPick` & co. answers the extension's own questions.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG_YAML_LR, TRAIN_PY_LR } from '../../support/fixture';
import { descendants } from '../../support/processes';

const EXTENSION_ID = 'sgd-heat-capacity.sgd-heat-capacity';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Manifest {
  contributes: { commands: { command: string }[]; configuration: { properties: Record<string, { default: unknown }> } };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The heat-capacity lenses of a file, resolved (titles and commands filled in). */
async function lenses(file: vscode.Uri): Promise<vscode.CodeLens[]> {
  await vscode.workspace.openTextDocument(file);
  const all = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file, 100)) ?? [];
  return all.filter((l) => l.command?.command.startsWith('heatcap.'));
}

function lensAt(lr: number, title: RegExp) {
  return async (file: vscode.Uri): Promise<vscode.CodeLens | undefined> => (await lenses(file)).find((l) => l.command?.title.startsWith(`η=${lr} `) && title.test(l.command.title));
}

/**
 * Replaces some `vscode.window` functions while `body` runs, then puts them back (the extension calls
 * them through the same object).
 */
async function withWindowStubs<T>(stubs: Partial<Record<'showQuickPick' | 'showOpenDialog' | 'showSaveDialog', unknown>>, body: () => Thenable<T>): Promise<T> {
  const win = vscode.window as unknown as Record<string, unknown>;
  const saved = Object.fromEntries(Object.keys(stubs).map((k) => [k, win[k]]));
  Object.assign(win, stubs);
  try {
    return await body();
  } finally {
    Object.assign(win, saved);
  }
}

describe('the extension inside a real extension host', function () {
  this.timeout(180_000);
  let ext: vscode.Extension<unknown>;
  let manifest: Manifest;
  let folder: vscode.Uri;
  let trainPy: vscode.Uri;
  let configYaml: vscode.Uri;
  /** The CLI's own answer for the workspace, from the extension's bundled CLI. */
  let cliSlope: number;
  let cliRatio: number;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'heatcap-host-'));

  before(async () => {
    const found = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(found, `${EXTENSION_ID} is not loaded`);
    ext = found;
    manifest = ext.packageJSON as Manifest;
    const ws = vscode.workspace.workspaceFolders?.[0];
    assert.ok(ws, 'no workspace folder is open');
    folder = ws.uri;
    trainPy = vscode.Uri.joinPath(folder, 'train.py');
    configYaml = vscode.Uri.joinPath(folder, 'config.yaml');
    const all = JSON.parse(execFileSync(process.execPath, [path.join(ext.extensionPath, 'dist', 'cli.js'), 'analyze', folder.fsPath, '--all', '--json'], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } })) as {
      sweep: { name: string } | null;
      ratio: number | null;
      observed: { slope: number | null };
    }[];
    const sweep = all.find((r) => r.sweep?.name === 'softmax-iid');
    assert.ok(sweep?.ratio && sweep.observed.slope);
    cliSlope = sweep.observed.slope;
    cliRatio = sweep.ratio;
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('was activated by the workspace contents and registers every command it contributes', async () => {
    // Nothing in this suite has called into it yet: the event files of the fixture activated it.
    await until('activation', async () => (ext.isActive ? true : undefined), 30_000);
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = manifest.contributes.commands.map((c) => c.command);
    assert.ok(contributed.length >= 10);
    assert.deepEqual(contributed.filter((c) => !registered.has(c)), []);
  });

  it('contributes its settings with the defaults of package.json, read per workspace folder', () => {
    const cfg = vscode.workspace.getConfiguration('heatcap', folder);
    for (const [key, schema] of Object.entries(manifest.contributes.configuration.properties)) {
      const inspected = cfg.inspect(key.replace(/^heatcap\./, ''));
      assert.ok(inspected, `${key} is not a known setting`);
      assert.deepEqual(inspected.defaultValue, schema.default, key);
    }
    assert.equal(cfg.get('codeLens.enabled'), true);
  });

  it('starts its language client: the server process runs and answers CodeLens requests before any analysis', async () => {
    // This test runs in the extension host, the language server's parent.
    const server = descendants(process.pid).find((p) => /dist\/server\.js/.test(p.args));
    assert.ok(server, 'no dist/server.js process below the extension host');
    const lens = await until('the "Analyze dL/dη…" lens in train.py', () => lensAt(TRAIN_PY_LR, /Analyze dL\/dη…/)(trainPy));
    assert.equal(lens.command?.command, 'heatcap.analyzeWorkspace');
    assert.equal(lens.range.start.line, 4, 'the lens belongs to the line with lr=');
  });

  it('heatcap.analyzeWorkspace analyses the sweep and pushes the result: lenses above lr= and lr: give the CLI’s dL/dη', async () => {
    await vscode.commands.executeCommand('heatcap.analyzeWorkspace');
    for (const [file, lr, line] of [
      [trainPy, TRAIN_PY_LR, 4],
      [configYaml, CONFIG_YAML_LR, 2],
    ] as const) {
      const lens = await until(`the dL/dη lens of ${path.basename(file.fsPath)}`, () => lensAt(lr, /dL\/dη = [\d.]+ \(observed\)/)(file));
      const shown = Number(/dL\/dη = ([\d.]+) \(observed\)/.exec(lens.command?.title ?? '')?.[1]);
      assert.ok(Math.abs(shown - cliSlope) / cliSlope < 0.05, `${lens.command?.title} vs the CLI's slope ${cliSlope}`);
      assert.equal(lens.range.start.line, line);
      assert.equal(lens.command?.command, 'heatcap.openPanelAt');
      const args = lens.command?.arguments?.[0] as { lr?: number } | undefined;
      assert.equal(args?.lr, lr);
    }
  });

  it('a lens’s command opens the analysis panel', async () => {
    const lens = await lensAt(TRAIN_PY_LR, /observed/)(trainPy);
    assert.ok(lens?.command);
    await vscode.commands.executeCommand(lens.command.command, ...(lens.command.arguments ?? []));
    const tab = await until(
      'the panel tab',
      async () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('heatcap.analysis')),
      30_000,
    );
    assert.match(tab.label, /softmax-iid/);
  });

  it('the panel’s message round trip: Export Report → Charts as PNG asks the webview for its charts and saves what it sends back', async () => {
    const out = mkdtempSync(path.join(scratch, 'charts-'));
    const picks: string[] = [];
    await withWindowStubs(
      {
        // Export Report… asks for a format, then which chart, then a folder.
        showQuickPick: async (items: unknown) => {
          const list = (await items) as { label: string; format?: string; chart?: string }[];
          const pick = list.find((i) => i.format === 'png') ?? list.find((i) => i.chart === 'all');
          picks.push(pick?.label ?? '(none)');
          return pick;
        },
        showOpenDialog: async () => [vscode.Uri.file(out)],
      },
      () => vscode.commands.executeCommand('heatcap.exportReport'),
    );
    assert.deepEqual(picks, ['Charts as PNG', 'All charts']);
    const files = readdirSync(out).sort();
    for (const chart of ['sweep', 'curves']) assert.ok(files.some((f) => f.endsWith(`-${chart}.png`)), `no ${chart} chart among ${files.join(', ')}`);
    for (const f of files) {
      const bytes = readFileSync(path.join(out, f));
      assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), `${f} is not a PNG`);
      assert.ok(bytes.length > 5_000, `${f} is only ${bytes.length} bytes: an empty chart?`);
    }
  });

  it('Export Report → Analysis result (JSON) saves the result on show: the CLI’s numbers', async () => {
    const target = vscode.Uri.file(path.join(scratch, 'result.json'));
    await withWindowStubs(
      {
        showQuickPick: async (items: unknown) => ((await items) as { format?: string }[]).find((i) => i.format === 'json'),
        showSaveDialog: async () => target,
      },
      () => vscode.commands.executeCommand('heatcap.exportReport'),
    );
    const saved = JSON.parse(readFileSync(target.fsPath, 'utf8')) as { ratio: number; sweep: { name: string } };
    assert.equal(saved.sweep.name, 'softmax-iid');
    assert.ok(Math.abs(saved.ratio - cliRatio) < 1e-9, `${saved.ratio} vs ${cliRatio}`);
  });

  it('heatcap.codeLens.enabled = false removes the lenses; back on, they return', async () => {
    const cfg = vscode.workspace.getConfiguration('heatcap', folder);
    await cfg.update('codeLens.enabled', false, vscode.ConfigurationTarget.Workspace);
    try {
      await until('the lenses to go', async () => ((await lenses(trainPy)).length === 0 ? true : undefined), 30_000);
    } finally {
      await cfg.update('codeLens.enabled', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await until('the lenses to return', () => lensAt(TRAIN_PY_LR, /observed/)(trainPy), 30_000);
  });
});
