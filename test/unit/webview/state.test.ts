import { strict as assert } from 'node:assert';
import { NO_CAPABILITIES, parsePanelState, PROTOCOL_VERSION } from '../../../src/shared/webviewProtocol';
import { applyMessage, changedParts, initialState, persistedState, updateUi, type ViewState } from '../../../webview/model/state';
import { fixture } from '../report/fixtures';

const caps = { ...NO_CAPABILITIES, examples: true, exportChart: true };

function loaded(): ViewState {
  const s = initialState(parsePanelState(null));
  return applyMessage(s, { type: 'snapshot', protocol: PROTOCOL_VERSION, result: fixture('iid-sweep'), focusLr: null, busy: null, capabilities: caps });
}

describe('webview state (message handling)', () => {
  it('a snapshot replaces the result, focus, busy and capabilities, and asks for a full redraw', () => {
    const before = initialState(parsePanelState(null));
    const after = loaded();
    assert.equal(after.result?.sweep?.name, 'iid');
    assert.deepEqual([...changedParts(before, after)], ['all']);
  });

  it('small messages redraw only their part', () => {
    const s = loaded();
    assert.deepEqual([...changedParts(s, applyMessage(s, { type: 'focusLr', lr: 0.01 }))].sort(), ['focus', 'sweep']);
    assert.deepEqual([...changedParts(s, applyMessage(s, { type: 'busy', busy: { message: 'm', fraction: null, cancellable: false } }))], ['busy']);
    assert.deepEqual([...changedParts(s, applyMessage(s, { type: 'error', error: { message: 'e', file: null } }))], ['error']);
    assert.deepEqual([...changedParts(s, updateUi(s, { logLr: true }))], ['sweep']);
    assert.deepEqual([...changedParts(s, updateUi(s, { etaToLimits: true }))], ['sweep']);
    assert.deepEqual([...changedParts(s, updateUi(s, { zoomTail: false }))], ['curves']);
    assert.deepEqual([...changedParts(s, updateUi(s, { tables: ['weights'] }))], ['gradnorms']);
  });

  it('shows an example only if it answers the latest request', () => {
    let s = updateUi(loaded(), { selectedExample: 905 });
    const stale = applyMessage(s, { type: 'example', index: 1553, label: 8, example: { kind: 'text', text: 'old' } });
    assert.equal(stale, s, 'an answer to an older click is dropped');
    s = applyMessage(s, { type: 'example', index: 905, label: 3, example: { kind: 'text', text: 'new' } });
    assert.deepEqual(s.example, { index: 905, label: 3, example: { kind: 'text', text: 'new' } });
  });

  it('a snapshot of a different analysis clears the shown example but keeps the UI choices', () => {
    let s = updateUi(loaded(), { selectedExample: 905, logLr: true });
    s = applyMessage(s, { type: 'example', index: 905, label: 3, example: { kind: 'text', text: 't' } });
    const other = fixture('iid-sweep');
    other.generated_at = '2030-01-01T00:00:00.000Z';
    const next = applyMessage(s, { type: 'snapshot', protocol: PROTOCOL_VERSION, result: other, focusLr: null, busy: null, capabilities: caps });
    assert.equal(next.example, null);
    assert.equal(next.ui.selectedExample, null);
    assert.equal(next.ui.logLr, true);
  });

  it('persists what a reload needs, and reads it back through the protocol’s own check', () => {
    const s = updateUi(applyMessage(loaded(), { type: 'focusLr', lr: 0.005 }), { logLoss: true, hiddenRuns: ['sweeps/iid/lr_0.04'] });
    const saved = JSON.parse(JSON.stringify(persistedState(s)));
    assert.equal(saved.root, '/home/ada/experiments/digits-softmax');
    assert.equal(saved.sweepId, 'sweeps/iid');
    const restored = initialState(parsePanelState(saved));
    assert.deepEqual(restored.result, s.result);
    assert.equal(restored.focusLr, 0.005);
    assert.deepEqual(restored.ui, s.ui);
  });
});
