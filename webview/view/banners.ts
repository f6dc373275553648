/** Progress, error and protocol banners at the top of the panel. */
import type { BusyState } from '../../src/shared/webviewProtocol';
import { button, h } from './dom';

export function renderBusy(busy: BusyState | null, onCancel: () => void): HTMLElement | null {
  if (!busy) return null;
  const progress = h('progress', { attrs: { max: '1', 'aria-label': busy.message } as Record<string, string> });
  if (busy.fraction !== null) progress.value = busy.fraction;
  return h(
    'div',
    { attrs: { class: 'banner busy', role: 'status' } },
    h('span', null, busy.message),
    progress,
    busy.cancellable ? button('Cancel', onCancel) : null,
  );
}

export function renderError(error: { message: string; file: string | null } | null, onDismiss: () => void): HTMLElement | null {
  if (!error) return null;
  return h(
    'div',
    { attrs: { class: 'banner error', role: 'alert' } },
    h('span', null, error.file ? h('code', null, error.file) : null, error.file ? ': ' : '', error.message),
    button('Dismiss', onDismiss),
  );
}

export function renderProtocolError(reason: string | null): HTMLElement | null {
  if (!reason) return null;
  return h(
    'div',
    { attrs: { class: 'banner error', role: 'alert' } },
    `The panel could not read a message from the extension (${reason}). If the extension was just updated, reload the window.`,
  );
}
