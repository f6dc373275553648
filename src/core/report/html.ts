/**
 * `renderHtmlReport(result)`: the self-contained HTML report, with the same charts as the panel
 * because it is the panel: the built webview bundle and stylesheet are inlined next to the result.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AnalysisResult } from '../result/schema';
import { HeatcapError } from '../errors';
import { buildReportHtml } from '../../shared/webviewHtml';

const BUNDLE = 'webview.js';
const STYLE = 'webview.css';

/**
 * The folder holding dist/webview.js: next to the running bundle (`__dirname` is dist/ once esbuild
 * has bundled the CLI or extension), or `<repo>/dist` when running from sources under tsx.
 */
export function findWebviewAssets(start: string = __dirname): string {
  if (existsSync(join(start, BUNDLE))) return start;
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist', BUNDLE))) return join(dir, 'dist');
    if (dirname(dir) === dir) break;
  }
  throw new HeatcapError(join(start, BUNDLE), 'the webview bundle is missing; build it with `node esbuild.mjs`');
}

/** A development build inlines its source map (megabytes); a report does not need it. */
export function stripSourceMap(text: string): string {
  return text.replace(/\n?\/\/# sourceMappingURL=data:[^\n]*\s*$/, '\n').replace(/\n?\/\*# sourceMappingURL=data:[^*]*\*\/\s*$/, '\n');
}

function readAsset(dir: string, name: string): string {
  const file = join(dir, name);
  try {
    return stripSourceMap(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HeatcapError(file, `cannot read the webview asset (${e instanceof Error ? e.message : String(e)}); build it with \`node esbuild.mjs\``);
  }
}

export interface HtmlReportOptions {
  /** Folder holding webview.js and webview.css (default: found by `findWebviewAssets`). */
  assetsDir?: string;
}

export function renderHtmlReport(result: AnalysisResult, options: HtmlReportOptions = {}): string {
  const dir = options.assetsDir ?? findWebviewAssets();
  const name = result.sweep?.name ?? result.root;
  return buildReportHtml({
    script: readAsset(dir, BUNDLE),
    style: readAsset(dir, STYLE),
    result,
    title: `SGD heat capacity — ${name}`,
  });
}
