/**
 * Headless Chromium for the webview tests, driven by playwright-core (never `playwright install`).
 * Every page records what would betray an unsafe or broken panel: console errors, uncaught
 * exceptions, CSP violations, and any request other than the page itself and its own assets.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Launches Chromium, or returns null (the caller skips) when it is not installed outside CI. */
export async function launchChromium(): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium package`);
    console.warn(`      skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
    return null;
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: { ...process.env, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'heatcap-xdg-')) } });
}

export interface Watched {
  page: Page;
  context: BrowserContext;
  console: { type: string; text: string }[];
  errors: string[];
  /** URLs requested other than the allowed ones (the page and its own assets). */
  requests: string[];
  cspViolations(): Promise<string[]>;
}

/**
 * A fresh context and page. Requests to `allowed` URLs go through (`serve` may answer them); every
 * other request is recorded and aborted, so a test can assert that none was attempted.
 */
export async function watchedPage(
  browser: Browser,
  opts: { allowed: (url: string) => boolean; serve?: (url: string) => { body: string; contentType: string } | null; colorScheme?: 'light' | 'dark'; init?: string },
): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, colorScheme: opts.colorScheme ?? 'light' });
  const w: Watched = {
    page: await context.newPage(),
    context,
    console: [],
    errors: [],
    requests: [],
    cspViolations: async () => w.page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []),
  };
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (!opts.allowed(url)) {
      w.requests.push(url);
      return route.abort();
    }
    const served = opts.serve?.(url);
    return served ? route.fulfill({ status: 200, body: served.body, contentType: served.contentType }) : route.continue();
  });
  // Init scripts run before the page's own and are not subject to its CSP: they only observe.
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => { (window.__csp ||= []).push(e.violatedDirective + ' ' + e.blockedURI); });`);
  if (opts.init) await context.addInitScript(opts.init);
  w.page.on('console', (m) => w.console.push({ type: m.type(), text: m.text() }));
  w.page.on('pageerror', (e) => w.errors.push(e.message));
  return w;
}

/** Writes an HTML report to a temporary file and returns its file:// URL. */
export function reportFile(html: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'heatcap-report-'));
  const file = join(dir, `${name}.html`);
  writeFileSync(file, html);
  return pathToFileURL(file).href;
}

/** Pixels of a canvas that differ from its top-left (background) pixel by more than a faint tint. */
export async function drawnPixels(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (el) => {
    const c = el as HTMLCanvasElement;
    const ctx = c.getContext('2d');
    if (!ctx || c.width === 0 || c.height === 0) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[0]) + Math.abs(d[i + 1] - d[1]) + Math.abs(d[i + 2] - d[2]) > 30) n++;
    return n;
  });
}

/** Waits until every chart canvas on the page has been drawn. */
export async function chartsDrawn(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const canvases = [...document.querySelectorAll('canvas[data-chart]')] as HTMLCanvasElement[];
    return canvases.length > 0 && canvases.every((c) => c.width > 0 && c.height > 0 && c.dataset.drawn !== undefined);
  });
}
