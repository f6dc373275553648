/**
 * The extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3, a real Node extension host),
 * installed from the packaged `.vsix` into an isolated profile and driven through the UI by headless
 * Chromium, as a user would: palette, editor, Runs view, analysis panel (a nested webview iframe),
 * notifications. One server and one browser for the whole file (the workbench load dominates); the
 * tests run in order and build on each other (analysis first, then what shows it).
 *
 * Needs `bash test/e2e/setup.sh` once and the `.vsix` (`npm run package`); `npm run test:e2e` does both.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { installExtension, makeProfile, startCodeServer, type CodeServer } from '../support/codeServer';
import { CONFIG_YAML_LR, HOSTILE_RUN, makeFixture, TRAIN_PY_LR, type Fixture } from '../support/fixture';
import { ARTIFACTS, REPO_ROOT } from '../support/paths';
import { alive, cliJobs, processGroup } from '../support/processes';
import {
  answerFileDialog,
  answerInputBox,
  captureFailure,
  clearNotifications,
  contextMenu,
  openFile,
  openWorkbench,
  panelFrame,
  pickQuickItem,
  runCommand,
  showRunsView,
  toast,
  until,
} from '../support/workbench';

const VSIX = process.env.HEATCAP_E2E_VSIX ?? path.join(REPO_ROOT, `sgd-heat-capacity-${require('../../../package.json').version}.vsix`);

interface CliResult {
  sweep: { name: string } | null;
  ratio: number | null;
  ratio_ci: [number, number] | null;
  observed: { slope: number | null };
}

/** Parses a number as the panel prints it (`0.995`, `-0.012`, `1.2e-3`, Unicode minus). */
function num(text: string | null): number {
  const m = /[-−]?\d+(?:\.\d+)?(?:e[-−+]?\d+)?/i.exec(text ?? '');
  assert.ok(m, `no number in ${JSON.stringify(text)}`);
  return Number(m[0].replace(/−/g, '-'));
}

describe('the extension in a real VS Code host (code-server + Chromium)', function () {
  this.timeout(180_000);
  let fixture: Fixture;
  let profile: ReturnType<typeof makeProfile>;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let cliPath: string;
  /** What `heatcap analyze` says about the same workspace, from the very build that was installed. */
  let expected: CliResult;
  const dialogs: string[] = [];
  const killOnExit = (): void => {
    // Backstop for an interrupted run: the after hook normally stops everything first.
    if (server && alive(server.pid)) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  const removeTempDirs = (): void => {
    for (const dir of [fixture?.base, profile && path.dirname(profile.home)]) if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    killOnExit();
    removeTempDirs();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };

  before(async function () {
    this.timeout(300_000);
    assert.ok(existsSync(VSIX), `${VSIX} is missing: run \`npm run package\` first (npm run test:e2e does)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    // What a previous run left (failure screenshots, logs) must not pass for this run's.
    for (const f of readdirSync(ARTIFACTS)) if (/^(failed-|ui-)/.test(f)) rmSync(path.join(ARTIFACTS, f), { recursive: true, force: true });
    fixture = makeFixture();
    profile = makeProfile(undefined, {
      // A plain editor for the lens screenshot; lenses and the panel are what is looked at.
      'editor.minimap.enabled': false,
      'workbench.editor.enablePreview': false,
      'breadcrumbs.enabled': false,
      // Larger than the default 14 px so the lens text is legible in the screenshots.
      'editor.fontSize': 17,
    });
    installExtension(VSIX, profile);
    const installed = readdirSync(profile.extensionsDir).find((d) => d.startsWith('sgd-heat-capacity.sgd-heat-capacity-'));
    assert.ok(installed, `the .vsix did not install into ${profile.extensionsDir}`);
    cliPath = path.join(profile.extensionsDir, installed, 'dist', 'cli.js');
    const all = JSON.parse(execFileSync(process.execPath, [cliPath, 'analyze', fixture.workspace, '--all', '--json'], { encoding: 'utf8', timeout: 120_000 })) as CliResult[];
    const sweep = all.find((r) => r.sweep?.name === 'softmax-iid');
    assert.ok(sweep?.ratio && sweep.ratio_ci && sweep.observed.slope, 'the CLI found no comparison in the fixture sweep');
    expected = sweep;

    process.once('exit', killOnExit);
    // Ctrl+C or a CI timeout: Node's default handling would exit without the 'exit' event, leaving the
    // detached server behind.
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, onSignal);
    server = await startCodeServer({ workspace: fixture.workspace, profile, logFile: path.join(ARTIFACTS, 'ui-code-server.log') });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    // Any alert/confirm/prompt, from the workbench or a webview, is recorded (and dismissed): none may fire.
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => undefined);
    });
    await openWorkbench(page, server.url, fixture.workspace);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await captureFailure(page, this.currentTest.title, profile?.userDataDir);
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (server) {
      // Every process it started (extension host, language server, CLI jobs) was in its process group.
      const pgid = server.pid;
      const left = await until('code-server’s process group to be empty', () => (processGroup(pgid).length === 0 ? [] : undefined), 10_000).catch(() => processGroup(pgid));
      assert.deepEqual(left, [], 'processes of the code-server group are still running');
    }
    process.removeListener('exit', killOnExit);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.removeListener(sig, onSignal);
    removeTempDirs();
  });

  it('activates on opening the folder and starts its language server: a lens above lr= before any analysis', async function () {
    // Nothing of the extension has been invoked: a lens can only come from the language server that
    // activate() starts, triggered by the workspace's event files.
    await openFile(page, 'train.py', 'torch.optim.SGD');
    const lens = page.locator('.codelens-decoration', { hasText: `η=${TRAIN_PY_LR}` });
    await lens.first().waitFor({ timeout: 60_000 });
    assert.match(await lens.first().innerText(), /Analyze dL\/dη…/);
    assert.equal(await page.locator('.activitybar .action-item a[aria-label^="Heat Capacity"]').count(), 1, 'the Heat Capacity activity bar item is missing');
  });

  it('"Heat Capacity: Analyze Workspace Runs" from the command palette opens the panel with the verdict, the ratio and its CI', async function () {
    // The panel opens beside the active editor; with none open it gets the whole editor area (for the screenshot).
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'Heat Capacity: Analyze Workspace Runs');
    const panel = panelFrame(page);
    const ratio = panel.locator('[data-testid=ratio]');
    await ratio.waitFor({ timeout: 120_000 });
    const card = panel.locator('section.card.verdict');
    assert.equal(await card.getAttribute('data-status'), 'agree');
    assert.match(await card.locator('h2').innerText(), /agrees with the prediction/);
    const shownRatio = num(await ratio.textContent());
    const ci = (await panel.locator('[data-testid=ratio-ci]').textContent()) ?? '';
    const [lo, hi] = [...ci.matchAll(/\d+\.\d+/g)].map((m) => Number(m[0]));
    assert.ok(lo < shownRatio && shownRatio < hi, `ratio ${shownRatio} outside its CI "${ci}"`);
    // The same numbers as the CLI on the same folder, to the digits shown.
    assert.ok(Math.abs(shownRatio - (expected.ratio as number)) < 0.0015, `panel ratio ${shownRatio} vs CLI ${expected.ratio}`);
    assert.ok(Math.abs(lo - (expected.ratio_ci as number[])[0]) < 0.0015 && Math.abs(hi - (expected.ratio_ci as number[])[1]) < 0.0015, `panel CI "${ci}" vs CLI ${expected.ratio_ci}`);
    assert.match(await panel.locator('[data-testid=formula]').textContent() ?? '', /tr Σ/);
    await page.locator('iframe.webview.ready').screenshot({ path: path.join(ARTIFACTS, 'e2e-panel.png') });
  });

  it('draws its chart canvases (pixels on the loss-vs-η and loss-curve charts)', async function () {
    const panel = panelFrame(page);
    for (const chart of ['sweep', 'curves']) {
      const canvas = panel.locator(`canvas[data-chart=${chart}]`);
      await canvas.scrollIntoViewIfNeeded({ timeout: 30_000 });
      const painted = await until(
        `the ${chart} chart to be drawn`,
        async () => {
          const n = await canvas.evaluate((c: HTMLCanvasElement) => {
            if (!c.width || !c.height) return 0;
            const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
            let opaque = 0;
            for (let i = 3; data && i < data.length; i += 4) if (data[i] > 0) opaque++;
            return opaque;
          });
          return n > 1000 ? n : undefined;
        },
        30_000,
      );
      assert.ok(painted > 1000, `${chart}: ${painted} painted pixels`);
    }
    await panel.locator('canvas[data-chart=sweep]').scrollIntoViewIfNeeded();
    await page.locator('iframe.webview.ready').screenshot({ path: path.join(ARTIFACTS, 'e2e-panel-chart.png') });
  });

  it('the Runs view lists the sweep and every run with its η, analysed, and the hostile name as plain text', async function () {
    const rows = await showRunsView(page);
    await rows.filter({ hasText: 'softmax-iid' }).first().waitFor({ timeout: 30_000 });
    for (const lr of ['0.0025', '0.005', '0.01', '0.02']) {
      const row = rows.filter({ hasText: `lr_${lr}` }).first();
      await row.waitFor({ timeout: 30_000 });
      // Analysed runs carry their converged loss ± SE in the description.
      await until(`lr_${lr} to show its converged loss`, async () => ((await row.innerText()).includes('±') ? true : undefined), 30_000);
      assert.match(await row.innerText(), new RegExp(`η ${lr.replace('.', '\\.')}`));
    }
    const hostile = rows.filter({ hasText: HOSTILE_RUN }).first();
    await hostile.waitFor({ timeout: 30_000 });
    assert.ok((await hostile.locator('.label-name').innerText()).includes(HOSTILE_RUN));
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'an <img> element was injected into the workbench');
  });

  it('the hostile run name shows as text in the panel too, and no dialog or script fired', async function () {
    const rows = await showRunsView(page);
    await rows.filter({ hasText: HOSTILE_RUN }).first().click();
    const panel = panelFrame(page);
    // Its own analysis (a lone run) is now on show; its runs table names it.
    const cell = panel.locator('table td, table th', { hasText: HOSTILE_RUN });
    await cell.first().waitFor({ timeout: 60_000 });
    assert.equal((await cell.first().innerText()).trim(), HOSTILE_RUN);
    assert.equal(await panel.locator('img').count(), 0, 'an <img> element was injected into the panel');
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.deepEqual(dialogs, []);
    // Back to the sweep for what follows.
    await rows.filter({ hasText: 'softmax-iid' }).first().click();
    await panel.locator('section.card.verdict[data-status=agree]').waitFor({ timeout: 60_000 });
  });

  it('after the analysis a CodeLens with dL/dη, the excess loss and the change on halving η appears above lr= (Python) and lr: (YAML)', async function () {
    const slope = expected.observed.slope as number;
    const lensNumber = async (file: string, text: string, lr: number): Promise<string> => {
      await openFile(page, file, text);
      const lens = page.locator('.codelens-decoration', { hasText: `η=${lr} · dL/dη = ` }).first();
      await lens.waitFor({ timeout: 60_000 });
      const t = await lens.innerText();
      // η=0.01 · dL/dη = 0.035 (observed) · excess loss ≈ +0.00035 · halving η: −0.00017
      const m = /dL\/dη = ([\d.e+-]+) \(observed\) · excess loss ≈ \+([\d.e-]+) · halving η: −([\d.e-]+)/.exec(t);
      assert.ok(m, `unexpected lens text: ${t}`);
      assert.doesNotMatch(t, /heat capacity|\/η/, 'the lens still labels the number as a heat capacity per η');
      assert.ok(Math.abs(Number(m[1]) - slope) / slope < 0.05, `lens slope ${m[1]} vs CLI ${slope}`);
      assert.ok(Math.abs(Number(m[2]) - slope * lr) / (slope * lr) < 0.05, `lens excess loss ${m[2]} vs CLI ${slope * lr}`);
      assert.ok(Math.abs(Number(m[3]) - (slope * lr) / 2) / ((slope * lr) / 2) < 0.05, `lens halving ${m[3]} vs CLI ${(slope * lr) / 2}`);
      return t;
    };
    await lensNumber('config.yaml', 'optimizer', CONFIG_YAML_LR);
    const box = await page.locator('.part.editor').boundingBox();
    if (box) await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-lens-yaml.png'), clip: { x: box.x, y: box.y, width: box.width, height: 220 } });
    await lensNumber('train.py', 'torch.optim.SGD', TRAIN_PY_LR);
  });

  it('clicking the lens opens the panel on that η', async function () {
    await runCommand(page, 'View: Close All Editors');
    await until('the panel to close', async () => ((await page.locator('iframe.webview.ready').count()) === 0 ? true : undefined), 15_000);
    await openFile(page, 'train.py', 'torch.optim.SGD');
    const lens = page.locator('.codelens-decoration a', { hasText: `η=${TRAIN_PY_LR} · dL/dη = ` }).first();
    await lens.waitFor({ timeout: 60_000 });
    // The code with its lens, the editor across the whole width (the panel is closed).
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-lens.png'), clip: { x: 0, y: 0, width: 1600, height: 260 } });
    await lens.click();
    const lensText = await lens.innerText();
    const focus = panelFrame(page).locator('section.card.focus');
    await focus.waitFor({ timeout: 60_000 });
    const focusText = await focus.innerText();
    assert.match(focusText, new RegExp(String(TRAIN_PY_LR).replace('.', '\\.')));
    // The panel says what the lens said, in the same words and to the same digits.
    const slopeShown = /dL\/dη = ([\d.e-]+) \(observed\)/.exec(lensText)?.[1];
    const excessShown = /excess loss ≈ (\+[\d.e-]+)/.exec(lensText)?.[1];
    assert.ok(slopeShown && excessShown, `unexpected lens text: ${lensText}`);
    assert.match(focusText, new RegExp(`dL/dη \\(observed\\)\\s+${slopeShown.replace('.', '\\.')}`), focusText);
    assert.match(focusText, new RegExp(`Excess loss ≈ dL/dη·η\\s+\\${excessShown.replace('.', '\\.')}`), focusText);
    // The code with its lens, and the panel it opened beside it.
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-lens-click.png') });
  });

  it('cancelling a long analysis from its progress notification stops it promptly, shows no result and leaves no child process', async function () {
    const srv = server as CodeServer;
    assert.deepEqual(cliJobs(srv.pid), [], 'a heatcap job was already running');
    // Analyze Folder… on the reshuffle sweep outside the workspace (its Hessian takes ~20 s here),
    // picked in VS Code's own folder dialog by typing its path.
    await runCommand(page, 'Heat Capacity: Analyze Folder…');
    const input = page.locator('.quick-input-widget input.input');
    await until('the folder dialog', async () => ((await input.inputValue()).startsWith('/') ? true : undefined), 15_000);
    // Typing a folder path with a trailing slash makes the dialog list that folder; once it does, its
    // OK button (labelled by the extension) picks it. Enter right after typing can be taken before the
    // dialog has caught up, so wait for the listing and click instead.
    await input.fill(`${fixture.slowSweep}/`);
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'tensorboard' }).first().waitFor({ timeout: 15_000 });
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'Analyze' }).click();
    const progress = toast(page, 'Analyzing softmax-reshuffle');
    await progress.waitFor({ timeout: 60_000 });
    const job = await until('the heatcap analyze child process', () => cliJobs(srv.pid).find((p) => p.args.includes(fixture.slowSweep)), 30_000);
    // Let it get into the heavy part, so that Cancel interrupts real work.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(alive(job.pid), 'the analysis ended before it could be cancelled');
    const clicked = Date.now();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await progress.waitFor({ state: 'detached', timeout: 10_000 });
    await until('the heatcap child process to exit', () => (alive(job.pid) ? undefined : true), 10_000, 100);
    const tookMs = Date.now() - clicked;
    assert.ok(tookMs < 10_000, `cancel took ${tookMs} ms`);
    assert.deepEqual(cliJobs(srv.pid), [], 'a heatcap child process is left');
    // No result and no error: the panel still shows the i.i.d. sweep, nothing reports a failure.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await toast(page, /Heat Capacity:.*(fail|error|stopped|crashed)/i).count(), 0, 'an error was shown after Cancel');
    const rows = await showRunsView(page);
    const slowRow = rows.filter({ hasText: 'softmax-reshuffle' });
    if ((await slowRow.count()) > 0) assert.doesNotMatch(await slowRow.first().innerText(), /C =|agree|±/, 'the cancelled sweep shows a result');
    const panel = panelFrame(page);
    if ((await page.locator('iframe.webview.ready').count()) > 0) {
      assert.equal(num(await panel.locator('[data-testid=ratio]').textContent()).toFixed(3), (expected.ratio as number).toFixed(3), 'the panel no longer shows the i.i.d. sweep');
      assert.doesNotMatch(await panel.locator('body').innerText(), /softmax-reshuffle/);
    }
    assert.equal(await page.locator('.part.statusbar .statusbar-item', { hasText: /dL\/dη = [\d.]+/ }).count(), 1, 'the status bar lost the analysis on show');
    assert.deepEqual(dialogs, []);
  });

  // ——— Every other command a user can pick, in the order a user would meet them. ———

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(ARTIFACTS, name) });

  /** The Runs view with the i.i.d. sweep expanded (a click on its label may have collapsed it). */
  async function runsWithSweepOpen(): Promise<Locator> {
    const rows = await showRunsView(page);
    const sweepRow = rows.filter({ hasText: 'softmax-iid' }).first();
    await sweepRow.waitFor({ timeout: 30_000 });
    if ((await sweepRow.getAttribute('aria-expanded')) === 'false') await sweepRow.locator('.monaco-tl-twistie').click();
    await rows.filter({ hasText: 'lr_0.005' }).first().waitFor({ timeout: 15_000 });
    return rows;
  }

  /**
   * The Runs-view row `child` below the row `parent` (other roots hold runs of the same names: the
   * reshuffle sweep, the lab's). Rows are found by their tree order (`data-index`) and depth
   * (`aria-level`); the locator is by index, so call it again after the tree changes.
   */
  async function rowUnder(parent: string, child: string): Promise<Locator> {
    const rows = page.locator('.part.sidebar .monaco-list-row');
    const found = await until(
      `the row ${child} under ${parent}`,
      async () => {
        const all = await rows.evaluateAll((els) => els.map((e) => ({ text: (e as HTMLElement).innerText, level: Number(e.getAttribute('aria-level')), index: Number(e.getAttribute('data-index')) })));
        all.sort((x, y) => x.index - y.index);
        const start = all.findIndex((r) => r.text.includes(parent));
        if (start < 0) return undefined;
        for (let i = start + 1; i < all.length && all[i].level > all[start].level; i++) if (all[i].text.includes(child)) return all[i].index;
        return undefined;
      },
      15_000,
    );
    return page.locator(`.part.sidebar .monaco-list-row[data-index="${found}"]`);
  }

  /** Puts the i.i.d. sweep's analysis on show in the panel (clicking its row, as a user would). */
  async function showSweepInPanel(): Promise<void> {
    const subtitle = panelFrame(page).locator('[data-testid=subtitle]');
    if ((await page.locator('iframe.webview.ready').count()) > 0 && /softmax-iid/.test((await subtitle.textContent({ timeout: 5_000 }).catch(() => '')) ?? '')) return;
    const rows = await showRunsView(page);
    await rows.filter({ hasText: 'softmax-iid' }).first().locator('.label-name').click();
    await until('the panel to show softmax-iid', async () => (/softmax-iid/.test((await subtitle.textContent({ timeout: 5_000 }).catch(() => '')) ?? '') ? true : undefined), 60_000);
  }

  it('"Select Checkpoint and Training Data…": its four dialogs answered (model, inputs, labels file, loss) store the paths as workspace settings, and it says so', async function () {
    await clearNotifications(page);
    const ws = fixture.workspace;
    await runCommand(page, 'Heat Capacity: Select Checkpoint and Training Data…');
    await answerFileDialog(page, { title: '1/4 Checkpoint at the optimum', path: `${ws}/checkpoints/softmax/model.json`, listed: 'model.json', button: 'Select' });
    await answerFileDialog(page, { title: '2/4 Training inputs', path: `${ws}/data/x.npy`, listed: 'x.npy', button: 'Select' });
    await pickQuickItem(page, '3/4 Training labels', 'Select a labels file (.npy)…');
    await answerFileDialog(page, { title: '3/4 Training labels', path: `${ws}/data/y.npy`, listed: 'y.npy', button: 'Select' });
    await pickQuickItem(page, '4/4 Per-example loss', 'The loss recorded in the model');
    const saved = toast(page, 'checkpoint and training data saved in the settings');
    await saved.waitFor({ timeout: 30_000 });
    for (const next of ['Analyze Runs', 'Compute Gradient Norms']) assert.equal(await saved.locator('.monaco-button', { hasText: next }).count(), 1, `no "${next}" button`);
    await shot('e2e-select-checkpoint.png');
    // Stored relative to the workspace folder, so the settings travel with the project.
    const settings = JSON.parse(readFileSync(path.join(ws, '.vscode', 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(settings['heatcap.checkpoint.model'], 'checkpoints/softmax/model.json');
    assert.equal(settings['heatcap.checkpoint.data'], 'data/x.npy');
    assert.equal(settings['heatcap.checkpoint.labels'], 'data/y.npy');
    assert.equal(settings['heatcap.checkpoint.loss'], '');
  });

  it('"Compute Per-Example Gradient Norms" shows its progress, then the numbers; "Analyze Runs with It" puts the same numbers in the panel', async function () {
    await clearNotifications(page);
    await showSweepInPanel();
    const progressSeen = toast(page, 'Computing per-example gradient norms').waitFor({ timeout: 60_000 });
    await runCommand(page, 'Heat Capacity: Compute Per-Example Gradient Norms');
    await progressSeen;
    await shot('e2e-gradnorms-progress.png');
    const done = toast(page, /\d+ examples: E‖g‖² = /);
    await done.waitFor({ timeout: 120_000 });
    const line = await done.locator('.notification-list-item-message').innerText();
    const m = /(\d+) examples: E‖g‖² = ([^,]+), tr Σ = ([^,]+), ‖ḡ‖² = /.exec(line);
    assert.ok(m, `unexpected notification: ${line}`);
    assert.equal(m[1], '1797', 'the digits training set has 1797 examples');
    // tr Σ = E‖g‖² − ‖ḡ‖² with ‖ḡ‖² ≈ 0 at the optimum.
    assert.equal(num(m[2]).toPrecision(3), num(m[3]).toPrecision(3));
    await shot('e2e-gradnorms.png');
    const footer = panelFrame(page).locator('footer.slot-footer');
    const before = await footer.innerText();
    await done.locator('.monaco-button', { hasText: 'Analyze Runs with It' }).click();
    await until('a fresh analysis in the panel', async () => ((await footer.innerText()) !== before ? true : undefined), 120_000);
    const note = panelFrame(page).locator('section[data-section=histogram] p.note', { hasText: 'examples · mean ‖g_b‖²' }).first();
    await note.waitFor({ timeout: 30_000 });
    const shown = (await note.innerText()).replace(/[,\u202f\u00a0]/g, '');
    assert.ok(shown.includes(`${m[1]} examples`), shown);
    assert.ok(shown.includes(`mean ‖g_b‖² ${m[2]}`), `panel "${shown}" vs notification "${line}"`);
    assert.ok(shown.includes(`tr Σ ${m[3]}`), `panel "${shown}" vs notification "${line}"`);
    await panelFrame(page).locator('section[data-section=histogram]').first().scrollIntoViewIfNeeded();
    await page.locator('iframe.webview.ready').screenshot({ path: path.join(ARTIFACTS, 'e2e-gradnorms-panel.png') });
  });

  it('"Exclude Run from Fit" and "Include Run in Fit" (a run’s context menu) refit without it, then with it again', async function () {
    await clearNotifications(page);
    await showSweepInPanel();
    await runsWithSweepOpen();
    const panel = panelFrame(page);
    // The panel's runs table has an "In fit" checkbox per run; the ratio is the fit's.
    const inFit = panel.locator('section[data-section=runs] input[type=checkbox][aria-label="Include lr_0.005 in the fit"]');
    const ratioText = async (): Promise<string> => ((await panel.locator('[data-testid=ratio]').textContent()) ?? '').trim();
    await inFit.waitFor({ timeout: 30_000 });
    assert.equal(await inFit.isChecked(), true, 'lr_0.005 is not in the fit to begin with');
    const before = await ratioText();
    await contextMenu(page, await rowUnder('softmax-iid', 'lr_0.005'), 'Exclude Run from Fit');
    await until('lr_0.005 out of the fit in the panel', async () => ((await inFit.isChecked().catch(() => true)) ? undefined : true), 60_000);
    await until('the run’s excluded icon', async () => ((await (await rowUnder('softmax-iid', 'lr_0.005')).locator('.codicon-circle-slash').count()) > 0 ? true : undefined), 30_000);
    assert.notEqual(await ratioText(), before, 'the ratio did not change without the run');
    await shot('e2e-exclude-run.png');
    await contextMenu(page, await rowUnder('softmax-iid', 'lr_0.005'), 'Include Run in Fit');
    await until('lr_0.005 back in the fit', async () => ((await inFit.isChecked().catch(() => false)) ? true : undefined), 60_000);
    await until('the ratio of before', async () => ((await ratioText()) === before ? true : undefined), 15_000);
    await until('the excluded icon to go', async () => ((await (await rowUnder('softmax-iid', 'lr_0.005')).locator('.codicon-circle-slash').count()) === 0 ? true : undefined), 30_000);
    // With the checkpoint now in the settings the lone run at η = 0.01 has a prediction too; the lens
    // above lr=0.01 must still give the sweep's measurement.
    const lens = page.locator('.codelens-decoration', { hasText: `η=${TRAIN_PY_LR} · dL/dη = ` }).first();
    await until('the train.py lens to give the observed dL/dη', async () => (/\(observed\)/.test((await lens.textContent({ timeout: 2_000 }).catch(() => '')) ?? '') ? true : undefined), 30_000);
    await shot('e2e-include-run.png');
  });

  it('"Set Learning Rate of Run…" (context menu) asks for η; the run shows it as set, and its analysis uses it', async function () {
    await clearNotifications(page);
    const rows = await runsWithSweepOpen();
    const hostile = rows.filter({ hasText: HOSTILE_RUN }).first();
    await contextMenu(page, hostile, 'Set Learning Rate of Run…');
    await answerInputBox(page, 'Learning rate of', '0.012');
    await until('the run to show η 0.012 (set)', async () => ((await hostile.innerText()).includes('η 0.012 (set)') ? true : undefined), 60_000);
    // Its own analysis (a lone run) fits with that η, and says where it came from.
    await hostile.locator('.label-name').click();
    const cell = panelFrame(page).locator('section[data-section=runs] td', { hasText: /^0\.012 \(/ });
    await cell.first().waitFor({ timeout: 60_000 });
    await cell.first().scrollIntoViewIfNeeded();
    await shot('e2e-set-lr.png');
    assert.deepEqual(dialogs, []);
  });

  it('"Reveal Log File" (context menu) shows the run’s event file in the Explorer', async function () {
    await clearNotifications(page);
    await runsWithSweepOpen();
    await contextMenu(page, await rowUnder('softmax-iid', 'lr_0.02'), 'Reveal Log File');
    const explorer = page.locator('.explorer-folders-view');
    const selected = explorer.locator('.monaco-list-row.selected, .monaco-list-row.focused', { hasText: 'events.out.tfevents' }).first();
    await selected.waitFor({ timeout: 30_000 });
    await until('its folder lr_0.02 to be expanded', async () => ((await explorer.locator('.monaco-list-row[aria-expanded=true]', { hasText: 'lr_0.02' }).count()) > 0 ? true : undefined), 15_000);
    await shot('e2e-reveal-log.png');
  });

  it('"Export Report…" → Markdown report, saved where the user types; "Open" shows the verdict in the same words as the panel', async function () {
    await clearNotifications(page);
    await showSweepInPanel();
    const target = path.join(fixture.base, 'outside', 'report.md');
    await runCommand(page, 'Heat Capacity: Export Report…');
    await pickQuickItem(page, 'Heat Capacity: export', 'Markdown report');
    // The save dialog's button is "OK" (code-server's simple dialog does not take the save label).
    await answerFileDialog(page, { title: 'Export the Markdown report', path: target, listed: 'data', button: 'OK' });
    const saved = toast(page, 'saved report.md');
    await saved.waitFor({ timeout: 30_000 });
    const md = readFileSync(target, 'utf8');
    assert.match(md, /^## Verdict: Observed dL\/dη agrees with the prediction$/m);
    // The ratio on show in the panel (with the checkpoint now set in the settings, the extension's own analysis).
    const shownRatio = ((await panelFrame(page).locator('[data-testid=ratio]').textContent()) ?? '').trim();
    assert.ok(md.includes(`**Observed / predicted dL/dη: ${shownRatio}**`), `the report’s ratio is not the panel’s ${shownRatio}`);
    assert.match(md, /\| Observed dL\/dη \|/);
    await saved.locator('.monaco-button', { hasText: 'Open' }).click();
    await page.locator('.editor-instance .view-lines', { hasText: 'Observed dL/dη agrees with the prediction' }).first().waitFor({ timeout: 30_000 });
    await shot('e2e-export-report.png');
  });

  it('"Run η Sweep…": asks η, steps, B and a folder, shows progress, cancels promptly once; run in full, its runs appear in the Runs view and the panel', async function () {
    const srv = server as CodeServer;
    await clearNotifications(page);
    await runCommand(page, 'View: Close All Editors');
    const ask = async (steps: string): Promise<void> => {
      await runCommand(page, 'Heat Capacity: Run η Sweep…');
      await answerInputBox(page, 'η sweep (1/4): learning rates', '0.01, 0.02');
      await answerInputBox(page, 'η sweep (2/4): SGD steps per learning rate', steps);
      await answerInputBox(page, 'η sweep (3/4): batch size', null);
      await answerFileDialog(page, { title: 'η sweep (4/4): folder to write the runs into', path: `${fixture.lab}/`, listed: 'previous', button: 'Write Runs Here' });
    };
    const progress = toast(page, 'Running the η sweep (2 learning rates)');
    const labJob = (): ReturnType<typeof cliJobs>[number] | undefined => cliJobs(srv.pid).find((p) => /cli\.js sweep\b/.test(p.args));

    // Once cancelled: a long sweep, stopped from its progress notification.
    await ask('100000');
    await progress.waitFor({ timeout: 60_000 });
    const job = await until('the heatcap sweep child process', labJob, 30_000);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(alive(job.pid), 'the sweep ended before it could be cancelled');
    await shot('e2e-sweep-progress.png');
    const clicked = Date.now();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await progress.waitFor({ state: 'detached', timeout: 10_000 });
    await until('the sweep child process to exit', () => (alive(job.pid) ? undefined : true), 10_000, 100);
    assert.ok(Date.now() - clicked < 10_000, `cancel took ${Date.now() - clicked} ms`);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await toast(page, /Heat Capacity:.*(fail|error|stopped|crashed)/i).count(), 0, 'an error was shown after Cancel');
    let rows = await showRunsView(page);
    assert.equal(await rows.filter({ hasText: 'heatcap-sweep-' }).count(), 0, 'the cancelled sweep was added to the Runs view');

    // Then in full: a tiny sweep (300 steps per η), analysed and shown.
    await ask('300');
    await progress.waitFor({ timeout: 60_000 });
    const subtitle = panelFrame(page).locator('[data-testid=subtitle]');
    await until('the panel to show the new sweep', async () => (/heatcap-sweep-/.test((await subtitle.textContent({ timeout: 2_000 }).catch(() => '')) ?? '') ? true : undefined), 180_000);
    for (const lr of ['0.01', '0.02']) await panelFrame(page).locator('section[data-section=runs] th', { hasText: `lr_${lr}` }).first().waitFor({ timeout: 30_000 });
    // The Runs view: the new folder, its sweep and both runs under it, each with its η.
    rows = await showRunsView(page);
    const root = rows.filter({ hasText: 'heatcap-sweep-' }).first();
    await root.waitFor({ timeout: 30_000 });
    const level = Number(await root.getAttribute('aria-level'));
    const below = async (): Promise<{ text: string; level: number; expanded: string | null; index: number }[]> => {
      const all = await page.locator('.part.sidebar .monaco-list-row').evaluateAll((els) =>
        els.map((e) => ({ text: (e as HTMLElement).innerText, level: Number(e.getAttribute('aria-level')), expanded: e.getAttribute('aria-expanded'), index: Number(e.getAttribute('data-index')) })),
      );
      all.sort((a, b) => a.index - b.index);
      const start = all.findIndex((r) => r.text.includes('heatcap-sweep-') && r.level === level);
      const out = [];
      for (let i = start + 1; i < all.length && all[i].level > level; i++) out.push(all[i]);
      return out;
    };
    for (let i = 0; i < 3; i++) {
      if ((await root.getAttribute('aria-expanded')) === 'false') await root.locator('.monaco-tl-twistie').click();
      const closed = (await below()).find((r) => r.expanded === 'false');
      if (!closed) break;
      await page.locator(`.part.sidebar .monaco-list-row[data-index="${closed.index}"] .monaco-tl-twistie`).click();
    }
    const children = await until(
      'both runs under the new folder',
      async () => {
        const c = await below();
        return ['0.01', '0.02'].every((lr) => c.some((r) => r.text.includes(`lr_${lr}`) && r.text.includes(`η ${lr}`))) ? c : undefined;
      },
      30_000,
    );
    assert.ok(children.length >= 2, JSON.stringify(children));
    await shot('e2e-sweep.png');
    assert.deepEqual(dialogs, []);
  });

  it('"Analyze Folder…" on a run being written: a log point appended shows in the panel within seconds, with no refresh', async function () {
    await clearNotifications(page);
    await runCommand(page, 'Heat Capacity: Analyze Folder…');
    await answerFileDialog(page, { title: 'Folder with training runs', path: `${fixture.live}/`, listed: 'lr_0.01', button: 'Analyze' });
    const panel = panelFrame(page);
    const subtitle = panel.locator('[data-testid=subtitle]');
    await until('the panel to show the live run', async () => ((await subtitle.textContent({ timeout: 2_000 }).catch(() => ''))?.includes(fixture.live) ? true : undefined), 120_000);
    // The loss-curve chart as a table: per run (a <th>), its first – last step and the points drawn.
    const curves = panel.locator('section[data-section=curves]');
    await curves.locator('button', { hasText: 'Table' }).click();
    const cells = curves.locator('tr', { hasText: 'lr_0.01' }).first().locator('td');
    await until('the curve table', async () => ((await cells.count()) >= 2 ? true : undefined), 15_000);
    const lastStep = async (): Promise<string> => ((await cells.nth(0).textContent()) ?? '').split('–').pop()?.trim() ?? '';
    assert.equal(await lastStep(), '399500');
    const valuesBefore = Number(await cells.nth(1).textContent());
    await curves.scrollIntoViewIfNeeded();
    await shot('e2e-live-before.png');
    const appended = Date.now();
    appendFileSync(fixture.liveCsv, ',400000,0.36021,0.01,0.3611\n');
    await until('the appended step 400000 in the panel', async () => ((await lastStep()) === '400000' ? true : undefined), 30_000, 100);
    const tookMs = Date.now() - appended;
    assert.equal(Number(await cells.nth(1).textContent()), valuesBefore + 1);
    console.log(`      (the appended point showed after ${(tookMs / 1000).toFixed(1)} s)`);
    assert.ok(tookMs < 10_000, `the appended point took ${tookMs} ms to show`);
    await shot('e2e-live-after.png');
    assert.deepEqual(dialogs, []);
  });
});
