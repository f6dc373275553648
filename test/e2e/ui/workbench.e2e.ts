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
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { installExtension, makeProfile, startCodeServer, type CodeServer } from '../support/codeServer';
import { CONFIG_YAML_LR, HOSTILE_RUN, makeFixture, TRAIN_PY_LR, type Fixture } from '../support/fixture';
import { ARTIFACTS, REPO_ROOT } from '../support/paths';
import { alive, cliJobs, processGroup } from '../support/processes';
import { captureFailure, openFile, openWorkbench, panelFrame, runCommand, showRunsView, toast, until } from '../support/workbench';

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
    assert.match(await lens.first().innerText(), /Analyze heat capacity/);
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

  it('after the analysis a CodeLens with the heat capacity appears above lr= (Python) and lr: (YAML)', async function () {
    const slope = expected.observed.slope as number;
    const lensNumber = async (file: string, text: string, lr: number): Promise<string> => {
      await openFile(page, file, text);
      const lens = page.locator('.codelens-decoration', { hasText: `η=${lr} · heat capacity` }).first();
      await lens.waitFor({ timeout: 60_000 });
      const t = await lens.innerText();
      const m = /heat capacity ([\d.e+-]+)\/η \(observed\)/.exec(t);
      assert.ok(m, `unexpected lens text: ${t}`);
      assert.ok(Math.abs(Number(m[1]) - slope) / slope < 0.05, `lens slope ${m[1]} vs CLI ${slope}`);
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
    const lens = page.locator('.codelens-decoration a', { hasText: `η=${TRAIN_PY_LR} · heat capacity` }).first();
    await lens.waitFor({ timeout: 60_000 });
    // The code with its lens, the editor across the whole width (the panel is closed).
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-lens.png'), clip: { x: 0, y: 0, width: 1600, height: 260 } });
    await lens.click();
    const focus = panelFrame(page).locator('section.card.focus');
    await focus.waitFor({ timeout: 60_000 });
    assert.match(await focus.innerText(), new RegExp(String(TRAIN_PY_LR).replace('.', '\\.')));
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
    assert.equal(await page.locator('.part.statusbar .statusbar-item', { hasText: /C = [\d.]+\/η/ }).count(), 1, 'the status bar lost the analysis on show');
    assert.deepEqual(dialogs, []);
  });
});
