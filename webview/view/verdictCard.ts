/** The verdict card (ratio, CI, formula, every warning) and the focused-η card. */
import type { Fact, VerdictView } from '../../src/core/report/verdict';
import type { FocusView } from '../model/focus';
import { button, cellContent, h } from './dom';

function factList(facts: Fact[]): HTMLElement {
  return h('dl', { attrs: { class: 'facts' } }, ...facts.flatMap((f) => [h('dt', null, f.label), h('dd', null, cellContent(f.cell))]));
}

const SEVERITY_LABEL = { error: 'Error', warning: 'Warning', info: 'Note' } as const;

export function renderVerdict(v: VerdictView): HTMLElement {
  const warnings = v.warnings.length
    ? h(
        'ul',
        { attrs: { class: 'warnings', 'aria-label': 'Warnings' } },
        ...v.warnings.map((w) =>
          h(
            'li',
            { attrs: { class: `sev-${w.severity}`, 'data-code': w.code } },
            h('span', { attrs: { class: 'sev' } }, `${SEVERITY_LABEL[w.severity] ?? w.severity}: `),
            w.message,
            w.where ? h('span', { attrs: { class: 'where' } }, ` (${w.where})`) : null,
            h('code', { attrs: { class: 'code' } }, w.code),
          ),
        ),
      )
    : h('p', { attrs: { class: 'note' } }, 'No warnings.');
  return h(
    'section',
    { attrs: { class: `card verdict tone-${v.tone}`, 'aria-labelledby': 'verdict-h', 'data-status': v.status } },
    h('h2', { attrs: { id: 'verdict-h' } }, v.headline),
    h(
      'div',
      { attrs: { class: 'ratio' } },
      h('span', { attrs: { class: 'ratio-label' } }, v.ratioLabel),
      h('span', { attrs: { class: 'ratio-value', 'data-testid': 'ratio' } }, cellContent(v.ratio)),
      h('span', { attrs: { class: 'ratio-ci', 'data-testid': 'ratio-ci' } }, '95% CI ', cellContent(v.ratioCi)),
    ),
    v.message ? h('p', { attrs: { class: 'message' } }, v.message) : null,
    v.formula
      ? h(
          'div',
          { attrs: { class: 'formula' } },
          h('span', { attrs: { class: 'formula-label' } }, 'Formula used'),
          h('code', { attrs: { 'data-testid': 'formula' } }, v.formula),
          v.formulaId ? h('span', { attrs: { class: 'where' } }, ` (${v.formulaId})`) : null,
        )
      : null,
    v.regime ? h('p', { attrs: { class: 'regime' } }, 'Regime: ', v.regime) : null,
    factList(v.facts),
    v.assumptions.length ? h('details', null, h('summary', null, `Assumptions (${v.assumptions.length})`), h('ul', null, ...v.assumptions.map((a) => h('li', null, a)))) : null,
    v.sources.length
      ? h('details', null, h('summary', null, 'Where each setting came from'), h('dl', { attrs: { class: 'facts' } }, ...v.sources.flatMap(([k, s]) => [h('dt', null, k), h('dd', null, s)])))
      : null,
    h('h3', null, `Warnings (${v.warnings.length})`),
    warnings,
    v.notes.length ? h('ul', { attrs: { class: 'notes', 'aria-label': 'Notes' } }, ...v.notes.map((n) => h('li', null, n))) : null,
  );
}

export function renderFocus(f: FocusView, onClear: () => void): HTMLElement {
  return h(
    'section',
    { attrs: { class: 'card focus', 'aria-labelledby': 'focus-h' } },
    h('div', { attrs: { class: 'card-head' } }, h('h2', { attrs: { id: 'focus-h' } }, f.title), button('Clear', onClear, { ariaLabel: 'Clear the focused learning rate' })),
    factList(f.facts),
    f.notes.length ? h('ul', { attrs: { class: 'notes' } }, ...f.notes.map((n) => h('li', null, n))) : null,
  );
}
