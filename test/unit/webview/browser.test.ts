/**
 * The built webview bundle (dist/webview.js, dist/webview.css) in headless Chromium, in two hosts:
 * the self-contained HTML report of each fixture result, and the VS Code panel HTML with a stand-in
 * `acquireVsCodeApi` (the message protocol end to end). `npm test` builds dist/ first; alone, run
 * `node esbuild.mjs` before `npx mocha test/unit/webview/browser.test.ts`.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { findWebviewAssets, renderHtmlReport } from '../../../src/core/report/html';
import { parseExampleOutput } from '../../../src/extension/compute/cliOutput';
import { ChartPngRequests } from '../../../src/extension/panel/chartRequests';
import { handlePanelMessage, type PanelActions } from '../../../src/extension/panel/messageHandler';
import { type ChartName, type HostToPanel, NO_CAPABILITIES, type PanelCapabilities, type PanelToHost, parsePanelToHost, PROTOCOL_VERSION } from '../../../src/shared/webviewProtocol';
import { buildPanelHtml } from '../../../src/shared/webviewHtml';
import { runCli } from '../../support/cli';
import { DIGITS_CSV } from '../../support/external';
import { HOSTILE } from '../../fixtures/results/generate';
import { fixture, FIXTURE_NAMES, type FixtureName } from '../report/fixtures';
import { chartsDrawn, drawnPixels, launchChromium, reportFile, type Watched, watchedPage } from './chromium';

/** Host actions for messages a test does not look at. */
const ignoreActions: PanelActions = {
  post: () => undefined,
  sendSnapshot: () => undefined,
  saveChartPng: async () => undefined,
  chartPngAnswer: () => false,
  chartPngDone: () => false,
  exportReport: async () => undefined,
  revealRun: async () => undefined,
  setRunIncluded: async () => undefined,
  setRunLr: async () => undefined,
  openSettings: async () => undefined,
  selectLr: () => undefined,
  requestExample: async () => undefined,
  cancel: () => undefined,
  log: () => undefined,
};

/** Fewer changed pixels than this means an empty chart (axes and labels alone draw several thousand). */
const MIN_DRAWN = 2000;

describe('webview in headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | null = null;
  const pages: Watched[] = [];

  before(async function () {
    browser = await launchChromium();
    if (!browser) this.skip();
  });

  after(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    for (const w of pages.splice(0)) await w.context.close();
  });

  /** Everything a clean page must satisfy: no error, no CSP violation, no request leaving the page. */
  async function assertClean(w: Watched): Promise<void> {
    assert.deepEqual(w.errors, [], 'uncaught exceptions');
    assert.deepEqual(w.console.filter((c) => c.type === 'error' || c.type === 'warning'), [], 'console errors');
    assert.deepEqual(await w.cspViolations(), [], 'CSP violations');
    assert.deepEqual(w.requests, [], 'network requests');
  }

  /** A number the panel could not format must never reach the screen (the log's own words aside). */
  async function assertNoRawNumbers(w: Watched): Promise<void> {
    const text = (await w.page.innerText('body')).replace('loss became NaN at step 20', '');
    assert.doesNotMatch(text, /\b(NaN|undefined|null|Infinity)\b/);
  }

  async function openReport(name: FixtureName, colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> {
    const url = reportFile(renderHtmlReport(fixture(name)), name);
    const w = await watchedPage(browser as Browser, { allowed: (u) => u === url, colorScheme });
    pages.push(w);
    await w.page.goto(url);
    await w.page.waitForSelector('.slot-footer p');
    return w;
  }

  describe('HTML report', () => {
    it('i.i.d. sweep: verdict, ratio, CI and formula as text, all four charts drawn, nothing requested', async () => {
      const w = await openReport('iid-sweep');
      const { page } = w;
      await chartsDrawn(page);
      assert.equal(await page.textContent('#verdict-h'), 'Observed dL/dη agrees with the prediction');
      assert.equal(await page.textContent('[data-testid=ratio]'), '1.001');
      assert.equal(await page.textContent('[data-testid=ratio-ci]'), '95% CI [0.979, 1.024]');
      assert.equal(await page.textContent('[data-testid=formula]'), 's = tr Σ / (4B) = 0.8462 / (4·8) = 0.02644');
      for (const chart of ['sweep', 'curves', 'histogram', 'weights']) {
        const n = await drawnPixels(page, `canvas[data-chart=${chart}]`);
        assert.ok(n > MIN_DRAWN, `${chart}: ${n} drawn pixels`);
      }
      const label = await page.getAttribute('canvas[data-chart=sweep]', 'aria-label');
      assert.match(label ?? '', /4 runs in the fit, 1 excluded/);
      assert.equal(await page.locator('button', { hasText: 'Export JSON' }).count(), 1);
      assert.equal(await page.locator('button', { hasText: 'Export HTML' }).count(), 0, 'a report does not export itself');
      await assertNoRawNumbers(w);
      await assertClean(w);
    });

    // iid-sweep, hostile and gaps get the same checks in their own tests below.
    for (const name of FIXTURE_NAMES.filter((n) => !['iid-sweep', 'hostile', 'gaps'].includes(n))) {
      it(`renders fixture ${name} with no error, CSP violation, request, or NaN/undefined/null shown`, async () => {
        const w = await openReport(name);
        await chartsDrawn(w.page);
        await assertNoRawNumbers(w);
        await assertClean(w);
      });
    }

    it('shows hostile run names, tags, paths and values as text: no script runs, no element is injected', async () => {
      const w = await openReport('hostile');
      const { page } = w;
      await chartsDrawn(page);
      // textContent also covers collapsed <details> and the table cells of hidden tables.
      const body = (await page.textContent('#app')) ?? '';
      for (const s of [HOSTILE.img, HOSTILE.script, HOSTILE.attr, HOSTILE.iframe, HOSTILE.template, HOSTILE.style, HOSTILE.link]) {
        assert.ok(body.includes(s), `shown as text: ${s}`);
      }
      assert.ok(body.includes('</script><script>window.__pwned=3</script><!--'));
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined);
      assert.equal(w.console.filter((c) => c.text.includes('pwned')).length, 0);
      assert.equal(await page.locator('img, iframe, svg, link, object, embed, frame').count(), 0);
      assert.equal(await page.locator('script').count(), 2, 'the data block and the bundle');
      assert.equal(await page.locator('style').count(), 1);
      assert.equal(await page.locator('a[href]').count(), 0);
      await assertNoRawNumbers(w);
      await assertClean(w);
    });

    it('finite η: the curve, both limits once "η to the limits" is pressed, eigenvalues and the curve table', async () => {
      const w = await openReport('finite-eta');
      const { page } = w;
      await chartsDrawn(page);
      const card = page.locator('[data-section=finite-eta]');
      assert.match(await card.innerText(), /ok \(predicted\): L\(η\) − L\* predicted up to 0\.9 of the mean-square limit 2\.572/);
      assert.match(await card.innerText(), /mean-square η 2\.572 · deterministic η 4\.296/);
      assert.equal(await card.locator('table[data-table=eigenvalues] tbody tr').count(), 10);
      assert.equal(await card.locator('table[data-table=finite-eta] tbody tr').count(), 8);
      const sweep = page.locator('[data-section=sweep]');
      assert.match(await sweep.innerText(), /Beyond the η range drawn: mean-square limit 2\.572/);
      const before = await page.getAttribute('canvas[data-chart=sweep]', 'aria-label');
      assert.match(before ?? '', /Finite-η predicted curve drawn/);
      await sweep.locator('button', { hasText: 'η to the limits' }).click();
      await page.waitForSelector('button[aria-pressed=true]:has-text("η to the limits")');
      await chartsDrawn(page);
      assert.doesNotMatch(await page.innerText('[data-section=sweep]'), /Beyond the η range drawn/);
      assert.ok((await drawnPixels(page, 'canvas[data-chart=sweep]')) > MIN_DRAWN);
      await assertNoRawNumbers(w);
      await assertClean(w);
    });

    it('finite η with hostile notes, message, method and form: shown as text, nothing injected', async () => {
      const w = await openReport('hostile');
      const { page } = w;
      await chartsDrawn(page);
      const text = (await page.textContent('[data-section=finite-eta]')) ?? '';
      for (const s of [HOSTILE.img, HOSTILE.script, HOSTILE.attr, HOSTILE.breakout, HOSTILE.iframe]) assert.ok(text.includes(s), `shown as text: ${s}`);
      assert.equal(await page.locator('[data-section=finite-eta] *:is(img, iframe, svg, script, style, link)').count(), 0);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined);
      await assertClean(w);
    });

    it('explains gaps with a dash and a reason instead of drawing nothing silently', async () => {
      const w = await openReport('gaps');
      const { page } = w;
      assert.match(await page.innerText('[data-section=sweep]'), /Fewer than two runs have both a learning rate and a converged loss/);
      assert.match(await page.innerText('[data-section=sweep]'), /Not drawn: a \(η unknown\)/);
      const missing = await page.locator('.missing').first().getAttribute('title');
      assert.ok(missing && missing.length > 0, 'a dash carries its reason as a tooltip');
      assert.match(await page.innerText('[data-section=histogram]'), /No example has a non-zero ‖g_b‖²/);
      await assertNoRawNumbers(w);
      await assertClean(w);
    });

    it('is keyboard operable: Tab reaches the log-η toggle, Enter switches the axis, Table shows every point', async () => {
      const w = await openReport('iid-sweep');
      const { page } = w;
      await chartsDrawn(page);
      let guard = 0;
      while ((await page.evaluate(() => document.activeElement?.textContent)) !== 'log η' && guard++ < 30) await page.keyboard.press('Tab');
      assert.ok(guard < 30, 'log η reachable by Tab');
      await page.keyboard.press('Enter');
      await page.waitForSelector('button[aria-pressed=true]:has-text("log η")');
      await chartsDrawn(page);
      assert.ok((await drawnPixels(page, 'canvas[data-chart=sweep]')) > MIN_DRAWN);
      await page.locator('[data-section=sweep] button', { hasText: 'Table' }).press('Enter');
      const rows = page.locator('[data-section=sweep] table[data-table=sweep] tbody tr');
      assert.equal(await rows.count(), 5);
      assert.equal(await rows.nth(4).locator('th').textContent(), 'lr_0.04');
      await assertClean(w);
    });

    it('offers each chart as a PNG download and the result as a JSON download', async () => {
      const w = await openReport('schedule-events');
      const { page } = w;
      await chartsDrawn(page);
      const [png] = await Promise.all([page.waitForEvent('download'), page.locator('[data-section=curves] button', { hasText: 'PNG' }).click()]);
      assert.equal(png.suggestedFilename(), 'heatcap-curves.png');
      const bytes = readFileSync((await png.path()) as string);
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
      const [json] = await Promise.all([page.waitForEvent('download'), page.locator('button', { hasText: 'Export JSON' }).click()]);
      assert.equal(json.suggestedFilename(), 'heatcap-result.json');
      assert.deepEqual(JSON.parse(readFileSync((await json.path()) as string, 'utf8')), fixture('schedule-events'));
      await assertClean(w);
    });

    it('uses the dark palette when the reader prefers dark', async () => {
      const w = await openReport('iid-sweep', 'dark');
      await chartsDrawn(w.page);
      const [r, g, b] = await w.page.$eval('canvas[data-chart=sweep]', (el) => [...(el as HTMLCanvasElement).getContext('2d')!.getImageData(2, 2, 1, 1).data]);
      assert.ok(r + g + b < 150, `dark chart background, got rgb(${r}, ${g}, ${b})`);
      await assertClean(w);
    });
  });

  describe('VS Code panel (stand-in acquireVsCodeApi)', () => {
    const ORIGIN = 'https://panel.test';
    const CAPS: PanelCapabilities = { exportReport: ['html', 'md', 'json'], exportChart: true, examples: true, editRuns: true, revealRun: true, openSettings: true };

    /** The host side of the harness: records posted messages; state survives reloads in sessionStorage. */
    const FAKE_API = `window.__posted = [];
      window.acquireVsCodeApi = () => ({
        postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
        getState: () => JSON.parse(sessionStorage.getItem('state') || 'null'),
        setState: (s) => sessionStorage.setItem('state', JSON.stringify(s)),
      });`;

    async function openPanel(): Promise<Watched> {
      const dir = findWebviewAssets();
      const html = buildPanelHtml({ nonce: randomBytes(18).toString('base64'), cspSource: ORIGIN, scriptUri: `${ORIGIN}/dist/webview.js`, styleUri: `${ORIGIN}/dist/webview.css` });
      const files: Record<string, { body: string; contentType: string }> = {
        [`${ORIGIN}/index.html`]: { body: html, contentType: 'text/html' },
        [`${ORIGIN}/dist/webview.js`]: { body: readFileSync(join(dir, 'webview.js'), 'utf8'), contentType: 'text/javascript' },
        [`${ORIGIN}/dist/webview.css`]: { body: readFileSync(join(dir, 'webview.css'), 'utf8'), contentType: 'text/css' },
      };
      const w = await watchedPage(browser as Browser, { allowed: (u) => u in files, serve: (u) => files[u] ?? null, init: FAKE_API });
      pages.push(w);
      await w.page.goto(`${ORIGIN}/index.html`);
      await w.page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
      return w;
    }

    const posted = async (w: Watched): Promise<unknown[]> => w.page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
    const send = async (w: Watched, msg: HostToPanel | Record<string, unknown>): Promise<void> => w.page.evaluate((m) => window.postMessage(m, '*'), msg as unknown as Record<string, unknown>);
    const snapshot = (name: FixtureName, caps: PanelCapabilities = CAPS): HostToPanel => ({ type: 'snapshot', protocol: PROTOCOL_VERSION, result: fixture(name), focusLr: null, busy: null, capabilities: caps });

    it('says ready, draws a snapshot, and posts only messages the host’s validator accepts', async () => {
      const w = await openPanel();
      const { page } = w;
      assert.deepEqual(await posted(w), [{ type: 'ready', protocol: PROTOCOL_VERSION }]);
      await send(w, snapshot('iid-sweep'));
      await page.waitForSelector('#verdict-h');
      await chartsDrawn(page);
      assert.equal(await page.textContent('[data-testid=ratio]'), '1.001');
      await page.locator('button', { hasText: 'Export Markdown' }).click();
      await page.locator('[data-section=sweep] button', { hasText: 'PNG' }).click();
      await page.locator('button', { hasText: 'lr_0.01' }).first().click();
      await page.locator('input[aria-label="Include lr_0.04 in the fit"]').check();
      await page.locator('input[aria-label="Learning rate of lr_0.04"]').fill('0.03');
      await page.locator('input[aria-label="Learning rate of lr_0.04"]').press('Enter');
      const msgs = (await posted(w)).slice(1);
      const types = msgs.map((m) => (m as { type: string }).type);
      assert.deepEqual(types, ['exportReport', 'exportChart', 'revealRun', 'setRunIncluded', 'setRunLr']);
      for (const m of msgs) assert.ok(parsePanelToHost(m).ok, JSON.stringify(m).slice(0, 120));
      assert.deepEqual(msgs[3], { type: 'setRunIncluded', runId: 'sweeps/iid/lr_0.04', included: true });
      assert.deepEqual(msgs[4], { type: 'setRunLr', runId: 'sweeps/iid/lr_0.04', lr: 0.03 });
      await assertClean(w);
    });

    it('asks for an example and draws the image the host sends back', async () => {
      const w = await openPanel();
      const { page } = w;
      await send(w, snapshot('iid-sweep'));
      await page.locator('button[aria-label="Show example 905"]').click();
      assert.deepEqual((await posted(w)).at(-1), { type: 'requestExample', index: 905 });
      await page.waitForSelector('.example >> text=Loading the example');
      // An 8×8 "3" in UCI digits' 0..16 grey levels.
      const pixels = Array.from({ length: 64 }, (_, i) => ((i % 8 > 1 && i % 8 < 6) && [1, 3, 4, 6].includes(Math.floor(i / 8)) ? 16 : 0));
      await send(w, { type: 'example', index: 905, label: 3, example: { kind: 'image', width: 8, height: 8, channels: 1, pixels, range: [0, 16] } });
      await page.waitForSelector('canvas.example-image');
      assert.equal(await page.textContent('.example h3'), 'Example #905 — label 3');
      assert.ok((await drawnPixels(page, 'canvas.example-image')) >= 16);
      await assertClean(w);
    });

    it('draws the digit `heatcap example` reads from the UCI digits data, as the extension forwards it', async () => {
      const cli = await runCli(['example', `--data=${DIGITS_CSV}`, '--index=905', '--json']);
      assert.equal(cli.code, 0, cli.err);
      const answer = parseExampleOutput(JSON.parse(cli.out));
      const w = await openPanel();
      const { page } = w;
      await send(w, snapshot('iid-sweep'));
      await page.locator('button[aria-label="Show example 905"]').click();
      await send(w, answer);
      await page.waitForSelector('canvas.example-image');
      assert.equal(await page.textContent('.example h3'), `Example #905 — label ${answer.label}`);
      assert.equal(await page.getAttribute('canvas.example-image', 'aria-label'), '8×8 image');
      assert.ok((await drawnPixels(page, 'canvas.example-image')) >= 16);
      await assertClean(w);
    });

    it('answers requestChartPng with each drawn chart, through the host’s own message handler and request tracker', async () => {
      const w = await openPanel();
      const { page } = w;
      await send(w, snapshot('iid-sweep'));
      await chartsDrawn(page);
      // The host side as the extension runs it: the request tracker, and every posted message through
      // handlePanelMessage (parsePanelToHost, PNG decoding) into it.
      const requests = new ChartPngRequests();
      const actions = {
        ...ignoreActions,
        chartPngAnswer: (id: number, chart: ChartName, png: Uint8Array) => requests.onPng(id, chart, png),
        chartPngDone: (id: number, charts: ChartName[]) => requests.onDone(id, charts),
      };
      let delivered = (await posted(w)).length;
      const pump = async <T>(until: Promise<T>): Promise<T> => {
        let done = false;
        void until.finally(() => (done = true)).catch(() => undefined);
        while (!done) {
          const msgs = await posted(w);
          for (const m of msgs.slice(delivered)) await handlePanelMessage(m, actions);
          delivered = msgs.length;
          await new Promise((r) => setTimeout(r, 20));
        }
        return until;
      };
      const all = await pump(requests.request('all', (m) => void send(w, m)));
      assert.deepEqual(all.map((x) => x.chart), ['sweep', 'histogram', 'weights', 'curves']);
      for (const x of all) assert.deepEqual([...x.png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${x.chart}: PNG signature`);
      const answered = (await posted(w)).filter((m) => (m as { requestId?: number }).requestId === 1) as PanelToHost[];
      assert.deepEqual(answered.map((m) => m.type), ['exportChart', 'exportChart', 'exportChart', 'exportChart', 'chartPngDone']);
      for (const m of answered) assert.ok(parsePanelToHost(m).ok);

      // A chart shown as a table is not drawn: asked for alone, the answer is empty.
      await page.locator('[data-section=curves] button', { hasText: 'Table' }).click();
      assert.deepEqual(await pump(requests.request('curves', (m) => void send(w, m))), []);
      const one = await pump(requests.request('sweep', (m) => void send(w, m)));
      assert.deepEqual(one.map((x) => x.chart), ['sweep']);
      assert.equal((await posted(w)).filter((m) => (m as { type: string }).type === 'exportChart' && (m as { requestId?: number }).requestId === undefined).length, 0, 'no unrequested PNG');
      await assertClean(w);
    });

    it('follows focusLr and busy messages, and reports a message it cannot read', async () => {
      const w = await openPanel();
      const { page } = w;
      await send(w, snapshot('iid-sweep'));
      await send(w, { type: 'focusLr', lr: 0.01 });
      await page.waitForSelector('#focus-h');
      assert.equal(await page.textContent('#focus-h'), 'At η = 0.01');
      await send(w, { type: 'busy', busy: { message: 'Computing gradient norms…', fraction: 0.4, cancellable: true } });
      await page.locator('.banner.busy button', { hasText: 'Cancel' }).click();
      assert.deepEqual((await posted(w)).at(-1), { type: 'cancel' });
      await send(w, { type: 'snapshot', protocol: PROTOCOL_VERSION, result: { schema_version: '9.0.0' }, focusLr: null, busy: null, capabilities: NO_CAPABILITIES });
      await page.waitForSelector('.banner.error');
      assert.match(await page.innerText('.banner.error'), /could not read a message from the extension \(invalid analysis result: schema_version/);
      assert.equal((await posted(w) as { type: string }[]).at(-1)?.type, 'panelError');
      assert.equal(await page.textContent('[data-testid=ratio]'), '1.001', 'the last good result stays on screen');
    });

    it('restores its state after a reload before the host answers, then says ready again', async () => {
      const w = await openPanel();
      const { page } = w;
      await send(w, snapshot('schedule-events'));
      await page.locator('button', { hasText: 'log loss' }).click();
      await chartsDrawn(page);
      await page.reload();
      await page.waitForSelector('#verdict-h');
      assert.equal(await page.textContent('[data-testid=ratio]'), '1.075');
      assert.equal(await page.getAttribute('button:has-text("log loss")', 'aria-pressed'), 'true');
      assert.deepEqual(await posted(w), [{ type: 'ready', protocol: PROTOCOL_VERSION }]);
      await assertClean(w);
    });

    it('redraws the charts in the new colours when VS Code switches theme', async () => {
      const w = await openPanel();
      const { page } = w;
      await send(w, snapshot('iid-sweep'));
      await chartsDrawn(page);
      await page.evaluate(() => {
        document.documentElement.style.setProperty('--vscode-sideBar-background', 'rgb(10, 20, 30)');
        document.body.className = 'vscode-dark';
      });
      await page.waitForFunction(() => {
        const c = document.querySelector('canvas[data-chart=sweep]') as HTMLCanvasElement | null;
        const d = c?.getContext('2d')?.getImageData(2, 2, 1, 1).data;
        return d !== undefined && d[0] === 10 && d[1] === 20 && d[2] === 30;
      });
      await assertClean(w);
    });
  });
});
