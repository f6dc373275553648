/** A Table (src/core/report/tables.ts) as an accessible HTML table, with optional extra columns. */
import type { Cell } from '../../src/core/report/format';
import type { Table } from '../../src/core/report/tables';
import { cellContent, h } from './dom';

export interface ExtraColumn {
  header: string;
  render: (row: number) => Node | string;
}

export interface TableOptions {
  /** Replaces the content of one cell (e.g. a run name that becomes a "reveal" button). */
  override?: (row: number, col: number, cell: Cell) => Node | null;
  extra?: ExtraColumn[];
  /** Hide the caption when the section heading already says it. */
  captionHidden?: boolean;
}

export function renderTable(t: Table, opts: TableOptions = {}): HTMLElement {
  const extra = opts.extra ?? [];
  const head = h('tr', null, ...t.columns.map((c) => h('th', { attrs: { scope: 'col' } }, c)), ...extra.map((c) => h('th', { attrs: { scope: 'col' } }, c.header)));
  const body = t.rows.map((row, r) =>
    h(
      'tr',
      null,
      ...row.map((cell, c) => h(c === 0 ? 'th' : 'td', c === 0 ? { attrs: { scope: 'row' } } : null, opts.override?.(r, c, cell) ?? cellContent(cell))),
      ...extra.map((x) => h('td', null, x.render(r))),
    ),
  );
  const table = h(
    'table',
    { attrs: { class: 'data', 'data-table': t.id } },
    h('caption', { attrs: { class: opts.captionHidden ? 'sr-only' : 'caption' } }, t.caption),
    h('thead', null, head),
    h('tbody', null, ...body),
  );
  if (t.rows.length === 0) {
    return h('div', { attrs: { class: 'table-wrap' } }, h('p', { attrs: { class: 'empty' } }, `${t.caption}: nothing to show.`));
  }
  return h('div', { attrs: { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t.caption } }, table, t.note ? h('p', { attrs: { class: 'note' } }, t.note) : null);
}
