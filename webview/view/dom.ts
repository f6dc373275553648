/**
 * The only way the panel creates DOM: elements from a fixed set of attributes and text nodes. No
 * innerHTML, no `style` attribute (blocked by the CSP), no inline event-handler attributes, so an
 * untrusted run name, tag or path can only ever become text.
 */
import type { Cell } from '../../src/core/report/format';

export type Child = Node | string | null | undefined | false;

type Attr =
  | 'class'
  | 'id'
  | 'role'
  | 'title'
  | 'type'
  | 'value'
  | 'for'
  | 'name'
  | 'tabindex'
  | 'scope'
  | 'step'
  | 'min'
  | 'lang'
  | 'colspan'
  | 'inputmode'
  | `aria-${string}`
  | `data-${string}`;

export interface Props {
  attrs?: Partial<Record<Attr, string>>;
  /** Boolean attributes: present when true. */
  flags?: Partial<Record<'hidden' | 'disabled' | 'checked' | 'open', boolean>>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (ev: HTMLElementEventMap[K]) => void }>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props?.attrs) for (const [k, v] of Object.entries(props.attrs)) if (v !== undefined) el.setAttribute(k, v);
  if (props?.flags) for (const [k, v] of Object.entries(props.flags)) if (v) el.setAttribute(k, '');
  if (props?.on) {
    for (const [k, fn] of Object.entries(props.on)) if (fn) el.addEventListener(k, fn as EventListener);
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** A table cell's content: the value, or a dash whose reason is a tooltip and read by screen readers. */
export function cellContent(c: Cell): Node {
  if (!c.missing) return document.createTextNode(c.text);
  return h(
    'span',
    { attrs: { class: 'missing', title: c.missing } },
    h('span', { attrs: { 'aria-hidden': 'true' } }, c.text),
    h('span', { attrs: { class: 'sr-only' } }, `not available: ${c.missing}`),
  );
}

/** A button with an accessible name; `pressed` makes it a toggle (aria-pressed). */
export function button(label: string, onClick: () => void, opts: { title?: string; pressed?: boolean; cls?: string; ariaLabel?: string } = {}): HTMLButtonElement {
  const attrs: Props['attrs'] = { type: 'button', class: opts.cls ?? 'btn' };
  if (opts.title) attrs.title = opts.title;
  if (opts.ariaLabel) attrs['aria-label'] = opts.ariaLabel;
  if (opts.pressed !== undefined) attrs['aria-pressed'] = String(opts.pressed);
  return h('button', { attrs, on: { click: () => onClick() } }, label);
}
