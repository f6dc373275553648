/**
 * Panel and report benchmark: how long the Markdown and HTML reports take to build (next to
 * JSON.stringify of the same result, as a yardstick), how big the self-contained HTML report is, and
 * how long headless Chromium takes from opening the report to having every chart drawn, for the i.i.d.
 * fixture and for a large result (40 runs × 2,000 curve points, the schema's downsampling limit).
 *
 *   node esbuild.mjs [--production] && npx tsx bench/panel.ts
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AnalysisResult } from '../src/core/result/schema';
import { findWebviewAssets, renderHtmlReport } from '../src/core/report/html';
import { renderMarkdownReport } from '../src/core/report/markdown';
import { fixture } from '../test/unit/report/fixtures';
import { chartsDrawn, launchChromium, reportFile, watchedPage } from '../test/unit/webview/chromium';

function time<T>(f: () => T, reps: number): number {
  f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1e6 / reps;
}

/** 40 runs of 2,000 points each: the largest curves a result carries after downsampling. */
function largeResult(): AnalysisResult {
  const r = fixture('iid-sweep');
  const base = r.runs[0];
  r.runs = Array.from({ length: 40 }, (_, i) => {
    const steps = Array.from({ length: 2000 }, (_, k) => k * 100);
    const values = steps.map((s, k) => 0.1 + 2.2 * Math.exp(-s / 20000) + 0.001 * Math.sin(k * (i + 1)));
    return { ...base, id: `run_${i}`, name: `run_${i}`, path: `runs/run_${i}`, lr: 0.001 * (i + 1), curve: { steps, values } };
  });
  return r;
}

const kb = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;

export async function run(): Promise<string> {
  const lines: string[] = ['## Analysis panel and reports', ''];
  const cases: [string, AnalysisResult][] = [
    ['i.i.d. fixture (5 runs × 300 points)', fixture('iid-sweep')],
    ['large (40 runs × 2,000 points)', largeResult()],
  ];
  lines.push('| result | JSON.stringify | Markdown report | HTML report | HTML size (gzip) |', '|---|---|---|---|---|');
  const htmls: string[] = [];
  for (const [name, r] of cases) {
    const json = time(() => JSON.stringify(r), 20);
    const md = time(() => renderMarkdownReport(r), 20);
    const html = time(() => renderHtmlReport(r), 10);
    const text = renderHtmlReport(r);
    htmls.push(text);
    lines.push(
      `| ${name} | ${json.toFixed(2)} ms | ${md.toFixed(2)} ms (${(md / json).toFixed(1)}×) | ${html.toFixed(2)} ms (${(html / json).toFixed(1)}×) | ${kb(text.length)} (${kb(gzipSync(text).length)}) |`,
    );
  }
  const bundle = readFileSync(join(findWebviewAssets(), 'webview.js'), 'utf8');
  const development = bundle.includes('sourceMappingURL=data:');
  lines.push('', `Webview bundle as built: ${kb(bundle.length)} (${development ? 'development build; its inline source map is stripped from reports' : 'minified `--production` build'}).`, '');

  const browser = await launchChromium();
  if (browser) {
    lines.push('| result | open report → all charts drawn (headless Chromium, software rendering) |', '|---|---|');
    for (const [i, [name]] of cases.entries()) {
      const url = reportFile(htmls[i], `bench-${i}`);
      const samples: number[] = [];
      for (let k = 0; k < 4; k++) {
        const w = await watchedPage(browser, { allowed: (u) => u === url });
        const t0 = Date.now();
        await w.page.goto(url);
        await chartsDrawn(w.page);
        samples.push(Date.now() - t0);
        await w.context.close();
      }
      samples.sort((a, b) => a - b);
      lines.push(`| ${name} | median ${samples[2]} ms (min ${samples[0]}, max ${samples[3]}; 4 loads) |`);
    }
    await browser.close();
  } else {
    lines.push('(Chromium not installed: browser timings skipped.)');
  }
  lines.push('', `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}.`);
  return lines.join('\n');
}

if (require.main === module) {
  run().then((md) => console.log(md));
}
