/**
 * Regenerates the README screenshots of the analysis panel from the i.i.d. fixture's HTML report:
 *   node esbuild.mjs && npx tsx test/unit/webview/screenshots.ts
 * writes docs/images/panel.png (light) and docs/images/panel-dark.png (dark), and
 * docs/images/panel-finite-eta.png: the sweep chart extended to the stability limits ("η to the limits")
 * with the predicted curve, and the finite-η card (eigenvalues, curve table). That picture comes from a
 * real analysis when given one (`--finite-eta-result result.json`, what `heatcap analyze <sweep> --json`
 * printed; docs/images/make-finite-eta-picture.sh makes the sweep and the result), else from the
 * finite-η fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisResult } from '../../../src/core/result/schema';
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
  const at = process.argv.indexOf('--finite-eta-result');
  const real = at > 0 ? (JSON.parse(readFileSync(process.argv[at + 1], 'utf8')) as AnalysisResult) : undefined;
  const finite = reportFile(renderHtmlReport(real ?? fixture('finite-eta')), 'finite-eta');
  const w = await watchedPage(browser, { allowed: (u) => u === finite, colorScheme: 'light' });
  await w.page.setViewportSize({ width: 1000, height: 2400 });
  await w.page.goto(finite);
  await chartsDrawn(w.page);
  await w.page.locator('[data-section=sweep] button', { hasText: 'η to the limits' }).click();
  await w.page.waitForSelector('button[aria-pressed=true]:has-text("η to the limits")');
  await chartsDrawn(w.page);
  const top = await w.page.locator('[data-section=sweep]').boundingBox();
  const bottom = await w.page.locator('[data-section=finite-eta]').boundingBox();
  if (!top || !bottom) throw new Error('the sweep chart or the finite-η card is missing');
  await w.page.screenshot({ path: join(out, 'panel-finite-eta.png'), clip: { x: 0, y: top.y - 8, width: 1000, height: bottom.y + bottom.height - top.y + 16 } });
  await w.context.close();
  await browser.close();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
