/**
 * Regenerates the README screenshots of the analysis panel from the i.i.d. fixture's HTML report:
 *   node esbuild.mjs && npx tsx test/unit/webview/screenshots.ts
 * writes docs/images/panel.png (light) and docs/images/panel-dark.png (dark).
 */
import { join } from 'node:path';
import { renderHtmlReport } from '../../../src/core/report/html';
import { fixture } from '../report/fixtures';
import { chartsDrawn, launchChromium, reportFile, watchedPage } from './chromium';

async function main(): Promise<void> {
  const browser = await launchChromium();
  if (!browser) throw new Error('Chromium is needed for the screenshots');
  const url = reportFile(renderHtmlReport(fixture('iid-sweep')), 'iid-sweep');
  const out = join(__dirname, '..', '..', '..', 'docs', 'images');
  for (const scheme of ['light', 'dark'] as const) {
    const w = await watchedPage(browser, { allowed: (u) => u === url, colorScheme: scheme });
    await w.page.setViewportSize({ width: 1000, height: 1500 });
    await w.page.goto(url);
    await chartsDrawn(w.page);
    await w.page.screenshot({ path: join(out, scheme === 'light' ? 'panel.png' : 'panel-dark.png'), clip: { x: 0, y: 0, width: 1000, height: 1500 } });
    await w.context.close();
  }
  await browser.close();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
