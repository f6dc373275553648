/**
 * The analysis panel's HTML, in two variants built from the same webview bundle:
 *  - `buildPanelHtml`: the VS Code webview. Script and stylesheet are loaded from `dist/` through
 *    `asWebviewUri`; the CSP allows only those (cspSource) and the nonce'd script.
 *  - `buildReportHtml`: the self-contained HTML report. Bundle and CSS are inlined and allowed by
 *    their SHA-256 hashes; the result is embedded as an inert JSON data block. `default-src 'none'`
 *    means the page can make no network request at all.
 *
 * Neither variant needs 'unsafe-inline': Chart.js sizes its canvases through the CSSOM
 * (`canvas.style.width = …`), which CSP does not restrict, and the panel code never writes a `style`
 * attribute or markup (it builds the DOM with textContent only).
 */
import { createHash } from 'node:crypto';
import type { AnalysisResult } from '../core/result/schema';
import { RESULT_ELEMENT_ID } from './webviewProtocol';

export interface PanelHtmlParts {
  /** At least 16 characters from a CSPRNG (crypto.randomBytes), new for every render. */
  nonce: string;
  /** `webview.cspSource`. */
  cspSource: string;
  /** `webview.asWebviewUri(dist/webview.js)`, as a string. */
  scriptUri: string;
  /** `webview.asWebviewUri(dist/webview.css)`, as a string. */
  styleUri: string;
  title?: string;
}

export interface ReportHtmlParts {
  /** The webview bundle's text (dist/webview.js). */
  script: string;
  /** The webview stylesheet's text (dist/webview.css). */
  style: string;
  result: AnalysisResult;
  title: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * JSON that is safe inside a `<script type="application/json">` block: no `<`, `>` or `&` can end the
 * block or open a comment, and U+2028/U+2029 are escaped for readers that treat them as line ends.
 * JSON.parse reads the escapes back to the original characters.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function assertCspToken(name: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value)) throw new Error(`webview HTML: ${name} ${JSON.stringify(value.slice(0, 80))} is not a valid CSP token`);
}

export function panelCsp(nonce: string, cspSource: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function buildPanelHtml(parts: PanelHtmlParts): string {
  assertCspToken('nonce', parts.nonce, /^[A-Za-z0-9+/_=-]{16,256}$/);
  // cspSource is a space-separated list of sources such as "https://*.vscode-cdn.net"; code-server
  // gives "'self' https://*.vscode-cdn.net", so quoted keywords are allowed (never ';', which would end
  // the directive, nor '"', which would end the attribute).
  assertCspToken('cspSource', parts.cspSource, /^[A-Za-z0-9*.:/_+' -]{1,1024}$/);
  const title = escapeHtml(parts.title ?? 'SGD Heat Capacity');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(panelCsp(parts.nonce, parts.cspSource))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(parts.styleUri)}">
<title>${title}</title>
</head>
<body data-host="vscode">
<main id="app" aria-busy="true"><p class="empty">Loading the analysis…</p></main>
<script nonce="${escapeHtml(parts.nonce)}" src="${escapeHtml(parts.scriptUri)}"></script>
</body>
</html>
`;
}

export function reportCsp(script: string, style: string): string {
  return [
    "default-src 'none'",
    'img-src data: blob:',
    `style-src ${sha256Source(style)}`,
    `script-src ${sha256Source(script)}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * The self-contained report. Throws when the bundle or stylesheet contains a sequence that would end
 * its inline element early (`</script`, `<!--`, `</style`): inlining must never change the markup.
 */
export function buildReportHtml(parts: ReportHtmlParts): string {
  if (/<\/script|<!--/i.test(parts.script)) throw new Error('webview bundle contains "</script" or "<!--" and cannot be inlined');
  if (/<\/style/i.test(parts.style)) throw new Error('webview stylesheet contains "</style" and cannot be inlined');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(reportCsp(parts.script, parts.style))}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="heatcap ${escapeHtml(parts.result.tool?.version ?? '')}">
<title>${escapeHtml(parts.title)}</title>
<style>${parts.style}</style>
</head>
<body data-host="report">
<main id="app" aria-busy="true"><p class="empty">This report needs JavaScript to draw its charts.</p></main>
<script type="application/json" id="${RESULT_ELEMENT_ID}">${embedJson(parts.result)}</script>
<script>${parts.script}</script>
</body>
</html>
`;
}
