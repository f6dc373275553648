/** Shows one training example sent by the host: an image, a table row, or text. */
import type { ExamplePayload } from '../../src/shared/webviewProtocol';
import { h } from './dom';

/** Pixel values → 0..255 using the payload's black/white range, clamped. */
export function toRgba(p: Extract<ExamplePayload, { kind: 'image' }>): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(p.width * p.height * 4));
  const [lo, hi] = p.range;
  const scale = 255 / (hi - lo);
  for (let i = 0; i < p.width * p.height; i++) {
    const px = p.pixels.slice(i * p.channels, (i + 1) * p.channels).map((v) => (v - lo) * scale);
    const [r, g, b] = p.channels === 1 ? [px[0], px[0], px[0]] : [px[0], px[1], px[2]];
    out[i * 4] = r;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = b;
    out[i * 4 + 3] = p.channels === 4 ? px[3] : 255;
  }
  return out;
}

function body(p: ExamplePayload): Node {
  switch (p.kind) {
    case 'image': {
      const canvas = h('canvas', { attrs: { class: 'example-image', role: 'img', 'aria-label': `${p.width}×${p.height} image` } });
      canvas.width = p.width;
      canvas.height = p.height;
      canvas.getContext('2d')?.putImageData(new ImageData(toRgba(p), p.width, p.height), 0, 0);
      // Small images (8×8 digits) are scaled up with crisp pixels (image-rendering in the CSS).
      const scale = Math.max(1, Math.floor(192 / Math.max(p.width, p.height)));
      canvas.style.width = `${p.width * scale}px`;
      canvas.style.height = `${p.height * scale}px`;
      return canvas;
    }
    case 'row':
      return h(
        'table',
        { attrs: { class: 'data' } },
        h('tbody', null, ...p.columns.map((c, i) => h('tr', null, h('th', { attrs: { scope: 'row' } }, c), h('td', null, p.values[i] === null ? '—' : String(p.values[i]))))),
      );
    case 'text':
      return h('pre', { attrs: { class: 'example-text' } }, p.text);
    case 'unavailable':
      return h('p', { attrs: { class: 'note' } }, p.reason);
  }
}

export function renderExample(index: number, label: string | number | null, p: ExamplePayload | null): HTMLElement {
  return h(
    'div',
    { attrs: { class: 'example', role: 'region', 'aria-live': 'polite', 'aria-label': `Training example ${index}` } },
    h('h3', null, `Example #${index}`, label !== null ? ` — label ${String(label)}` : ''),
    p ? body(p) : h('p', { attrs: { class: 'note' } }, 'Loading the example…'),
  );
}
