import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHeatcapError } from '../../../src/core/errors';
import { findWebviewAssets, renderHtmlReport, stripSourceMap } from '../../../src/core/report/html';
import { buildPanelHtml, buildReportHtml, embedJson, escapeHtml } from '../../../src/shared/webviewHtml';
import { HOSTILE } from '../../fixtures/results/generate';
import { fixture } from './fixtures';

const sha = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function csp(html: string): string {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(m, 'CSP meta present');
  return m[1].replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

describe('shared/webviewHtml and report/html', () => {
  it('embeds JSON with no <, >, & or U+2028/9 left, and JSON.parse reads back the same value (oracle: JSON.parse)', () => {
    const value = { names: Object.values(HOSTILE), nested: { s: '</script><!--<script>' } };
    const text = embedJson(value);
    assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
    assert.deepEqual(JSON.parse(text), value);
  });

  it('builds a report whose CSP allows exactly its inline script and style by SHA-256 (oracle: node:crypto on the extracted text)', () => {
    const script = 'document.body.dataset.ok = "1";';
    const style = 'body { color: red; }';
    const result = fixture('hostile');
    const html = buildReportHtml({ script, style, result, title: HOSTILE.script });
    const policy = csp(html);
    assert.match(policy, /^default-src 'none'; /);
    assert.ok(policy.includes(`script-src ${sha(script)}`), policy);
    assert.ok(policy.includes(`style-src ${sha(style)}`), policy);
    assert.doesNotMatch(policy, /unsafe|https?:|\*/);
    // Two script elements and one style element, however hostile the embedded strings are.
    assert.equal((html.match(/<\/script>/gi) ?? []).length, 2);
    assert.equal((html.match(/<script/gi) ?? []).length, 2);
    assert.equal((html.match(/<\/style>/gi) ?? []).length, 1);
    const data = /<script type="application\/json" id="heatcap-result">([^<]*)<\/script>/.exec(html);
    assert.ok(data);
    assert.deepEqual(JSON.parse(data[1]), result);
    assert.ok(html.includes(`<title>${escapeHtml(HOSTILE.script)}</title>`));
  });

  it('refuses to inline a bundle or stylesheet that would end its element early', () => {
    const result = fixture('iid-sweep');
    assert.throws(() => buildReportHtml({ script: 'let s = "</SCRIPT>";', style: '', result, title: 't' }), /cannot be inlined/);
    assert.throws(() => buildReportHtml({ script: 'x<!--y', style: '', result, title: 't' }), /cannot be inlined/);
    assert.throws(() => buildReportHtml({ script: '', style: 'a{}</style>', result, title: 't' }), /cannot be inlined/);
  });

  it('builds the panel HTML with a nonce-only script policy and escaped resource URIs', () => {
    const html = buildPanelHtml({
      nonce: 'AbCdEf0123456789xyzXYZ==',
      cspSource: 'https://*.vscode-cdn.net',
      scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js?a=1&b="2"',
      styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.css',
      title: HOSTILE.img,
    });
    assert.equal(
      csp(html),
      "default-src 'none'; img-src https://*.vscode-cdn.net data:; style-src https://*.vscode-cdn.net; script-src 'nonce-AbCdEf0123456789xyzXYZ=='; font-src https://*.vscode-cdn.net; base-uri 'none'; form-action 'none'",
    );
    assert.ok(html.includes('<script nonce="AbCdEf0123456789xyzXYZ==" src="https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js?a=1&amp;b=&quot;2&quot;"></script>'));
    assert.ok(!html.includes(HOSTILE.img));
    assert.throws(() => buildPanelHtml({ nonce: 'short', cspSource: 'x', scriptUri: '', styleUri: '' }), /nonce/);
    assert.throws(() => buildPanelHtml({ nonce: 'a'.repeat(32), cspSource: "x; script-src 'unsafe-inline'", scriptUri: '', styleUri: '' }), /cspSource/);
    assert.throws(() => buildPanelHtml({ nonce: 'a'.repeat(32), cspSource: 'x" onload="y', scriptUri: '', styleUri: '' }), /cspSource/);
    // code-server's webview.cspSource quotes 'self'.
    assert.match(buildPanelHtml({ nonce: 'a'.repeat(32), cspSource: "'self' https://*.vscode-cdn.net", scriptUri: '', styleUri: '' }), /img-src &#39;self&#39; https:\/\/\*\.vscode-cdn\.net data:|img-src 'self' https:\/\/\*\.vscode-cdn\.net data:/);
  });

  it('strips an inline source map from a development bundle', () => {
    assert.equal(stripSourceMap('code();\n//# sourceMappingURL=data:application/json;base64,AAAA\n'), 'code();\n');
    assert.equal(stripSourceMap('a{}\n/*# sourceMappingURL=data:application/json;base64,AAAA */\n'), 'a{}\n');
    assert.equal(stripSourceMap('code();\n'), 'code();\n');
  });

  it('renders a self-contained report from the built bundle (npm test builds dist/ first)', () => {
    const dir = findWebviewAssets();
    assert.ok(existsSync(join(dir, 'webview.js')), `${dir} holds webview.js`);
    const html = renderHtmlReport(fixture('iid-sweep'));
    assert.ok(html.length > 100_000 && html.length < readFileSync(join(dir, 'webview.js'), 'utf8').length + 200_000);
    assert.doesNotMatch(html, /sourceMappingURL=data:/);
    assert.match(html, /<title>SGD heat capacity — iid<\/title>/);
  });

  it('names the missing bundle when dist/ was not built', () => {
    const empty = mkdtempSync(join(tmpdir(), 'heatcap-assets-'));
    try {
      assert.throws(
        () => renderHtmlReport(fixture('iid-sweep'), { assetsDir: empty }),
        (e: unknown) => isHeatcapError(e) && e.file === join(empty, 'webview.js') && /esbuild/.test(e.what),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
