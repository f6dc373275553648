import { strict as assert } from 'node:assert';
import { escapeMarkdownLine, renderMarkdownReport } from '../../../src/core/report/markdown';
import { HOSTILE } from '../../fixtures/results/generate';
import { fixture, FIXTURE_NAMES } from './fixtures';

// Oracle: markdown-it, the CommonMark renderer VS Code's Markdown preview uses, with raw HTML allowed
// (html: true), so any HTML that escaping let through would come out as a tag.
interface Token {
  type: string;
  tag: string;
  content: string;
  children: Token[] | null;
}
interface MarkdownIt {
  parse(src: string, env: object): Token[];
  render(src: string): string;
}
const MarkdownItCtor = require('markdown-it') as new (opts: object) => MarkdownIt;
const md = new MarkdownItCtor({ html: true, linkify: false });

function inlineText(tokens: Token[]): string {
  return tokens
    .flatMap((t) => (t.children ?? []).filter((c) => c.type === 'text' || c.type === 'code_inline').map((c) => c.content))
    .join(' ');
}

describe('report/markdown', () => {
  it('escapes untrusted text so markdown-it renders exactly that text, with no HTML, link, image or emphasis', () => {
    for (const s of Object.values(HOSTILE)) {
      const tokens = md.parse(escapeMarkdownLine(s), {});
      const kinds = tokens.flatMap((t) => [t.type, ...(t.children ?? []).map((c) => c.type)]);
      assert.deepEqual([...new Set(kinds)].sort(), ['inline', 'paragraph_close', 'paragraph_open', 'text'].sort(), s);
      assert.equal(inlineText(tokens), s.replace(/[\r\n\u2028\u2029]+/g, ' ').trim(), s);
    }
  });

  for (const name of FIXTURE_NAMES) {
    it(`renders fixture ${name} as Markdown whose tables keep their shape and whose HTML has only our tags`, () => {
      const text = renderMarkdownReport(fixture(name));
      const html = md.render(text);
      const tags = new Set([...html.matchAll(/<([a-z][a-z0-9]*)/g)].map((m) => m[1]));
      for (const t of tags) assert.ok(['h1', 'h2', 'h3', 'p', 'br', 'strong', 'em', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li'].includes(t), `unexpected <${t}> in ${name}`);
      assert.doesNotMatch(html, /<[a-z][a-z0-9]*\s[^>]*>/, 'no tag carries attributes');
      // Each table row has as many cells as its header.
      const tokens = md.parse(text, {});
      let header = 0;
      let cells = 0;
      for (const t of tokens) {
        if (t.type === 'thead_open') header = -1;
        if (t.type === 'tr_open') cells = 0;
        if (t.type === 'th_open' || t.type === 'td_open') cells++;
        if (t.type === 'tr_close') {
          if (header === -1) header = cells;
          else assert.equal(cells, header, `row width in ${name}`);
        }
      }
      assert.equal((html.match(/<h1>/g) ?? []).length, 1);
    });
  }

  it('keeps every hostile string readable as text in the rendered report', () => {
    const tokens = md.parse(renderMarkdownReport(fixture('hostile')), {});
    const text = inlineText(tokens);
    for (const s of [HOSTILE.img, HOSTILE.script, HOSTILE.iframe, HOSTILE.style, HOSTILE.breakout, HOSTILE.attr]) assert.ok(text.includes(s), s);
  });

  // Oracle: the fixture's hand-made block (THEORY.md §6 limits for digits; 10 eigenvalues; curve with the sweep's η).
  it('has a finite-η section: status, both limits, form, eigenvalues with residuals, the curve beside the runs, notes', () => {
    const text = renderMarkdownReport(fixture('finite-eta'));
    assert.match(text, /^## Finite η: predicted loss and stability limits$/m);
    assert.ok(text.includes('**ok** (predicted): L(η) − L\\* predicted up to 0.9 of the mean-square limit 2.572'), text);
    assert.match(text, /^Stability limits: mean-square η 2\.572 · deterministic η 4\.296 \(2\/λ\\_max with the momentum factor\)/m);
    assert.match(text, /^Curve: stationary second moment in the top-k subspace, leading order elsewhere \(second\\_moment\\_subspace\)$/m);
    assert.match(text, /^Computed by: lanczos, HVP central\\_difference\\_float64, 10 directions, 650 parameters, 234 gradient passes, 9\.6 s/m);
    assert.match(text, /^\| 1 \| 0\.4656 \| 3e-11 \|$/m);
    assert.match(text, /^\| 10 \| 0\.0421 \| /m);
    // The sweep's η = 0.01 row: the curve, the linear law and the run's observed excess over L*.
    const row = text.split('\n').find((l) => l.startsWith('| 0.01 |'));
    assert.ok(row, text);
    assert.equal(row.split('|').length - 2, 6, row);
    assert.match(text, /^### Finite-η notes$/m);
  });

  it('shows a finite-η block without a curve honestly: not near a minimum, no curve table', () => {
    const r = fixture('finite-eta');
    const fe = r.predicted!.finite_eta!;
    r.predicted!.finite_eta = { ...fe, status: 'not_near_minimum', message: 'The checkpoint does not look like a minimum (negative curvature); no curve.', curve: null, limits: { deterministic: 4.2956, mean_square: null }, form: null };
    const text = renderMarkdownReport(r);
    assert.match(text, /^\*\*not\\_near\\_minimum\*\* \(the checkpoint is not near a minimum: no curve\): The checkpoint does not look like a minimum/m);
    assert.match(text, /^Stability limits: deterministic η 4\.296/m);
    assert.doesNotMatch(text, /Predicted excess loss/);
    const skipped = fixture('iid-sweep');
    assert.doesNotMatch(renderMarkdownReport(skipped), /Finite η/, 'no block, no section (1.0/1.1 results)');
  });

  it('leads with the verdict, the ratio and its interval', () => {
    const text = renderMarkdownReport(fixture('iid-sweep'));
    assert.match(text, /^# SGD heat capacity — iid$/m);
    assert.match(text, /^## Verdict: Observed dL\/dη agrees with the prediction$/m);
    assert.match(text, /\*\*Observed \/ predicted dL\/dη: 1\.001\*\* \(95% CI \\\[0\.979, 1\.024\\\]\)/);
    assert.match(text, /Formula used: s = tr Σ \/ \(4B\) = 0\.8462 \/ \(4·8\) = 0\.02644 \(iid\\_with\\_replacement\)/);
    const gaps = renderMarkdownReport(fixture('gaps'));
    assert.match(gaps, /— \(η unknown\)/);
    // The only NaN is the log's own words, quoted in a run warning.
    assert.doesNotMatch(gaps.replace('loss became NaN at step 20', ''), /\b(NaN|undefined|Infinity|null)\b/);
  });
});
