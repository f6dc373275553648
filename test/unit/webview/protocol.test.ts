import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  DEFAULT_UI,
  type HostToPanel,
  NO_CAPABILITIES,
  type PanelToHost,
  parseHostToPanel,
  parsePanelState,
  parsePanelToHost,
  PROTOCOL_VERSION,
} from '../../../src/shared/webviewProtocol';
import { fixture } from '../report/fixtures';

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

describe('shared/webviewProtocol', () => {
  it('accepts every well-formed panel → host message unchanged', () => {
    const msgs: PanelToHost[] = [
      { type: 'ready', protocol: PROTOCOL_VERSION },
      { type: 'requestExample', index: 1553 },
      { type: 'exportChart', chart: 'sweep', pngDataUrl: PNG },
      { type: 'exportChart', chart: 'weights', pngDataUrl: PNG, requestId: 7 },
      { type: 'chartPngDone', requestId: 7, charts: ['sweep', 'weights'] },
      { type: 'chartPngDone', requestId: 0, charts: [] },
      { type: 'exportReport', format: 'md' },
      { type: 'revealRun', runId: 'sweeps/iid/lr_0.01' },
      { type: 'setRunIncluded', runId: 'a', included: false },
      { type: 'setRunLr', runId: 'a', lr: 0.01 },
      { type: 'openSettings', query: null },
      { type: 'selectLr', lr: 0.02 },
      { type: 'cancel' },
      { type: 'panelError', message: 'boom' },
    ];
    for (const m of msgs) assert.deepEqual(parsePanelToHost(JSON.parse(JSON.stringify(m))), { ok: true, value: m });
  });

  it('refuses malformed panel → host messages with a reason', () => {
    const bad: unknown[] = [
      null,
      'ready',
      { type: 'nope' },
      { type: 'requestExample', index: -1 },
      { type: 'requestExample', index: 1.5 },
      { type: 'exportChart', chart: 'sweep', pngDataUrl: 'javascript:alert(1)' },
      { type: 'exportChart', chart: 'sweep', pngDataUrl: 'data:image/svg+xml;base64,PHN2Zz4=' },
      { type: 'exportChart', chart: '../../etc/passwd', pngDataUrl: PNG },
      { type: 'exportChart', chart: 'sweep', pngDataUrl: PNG, requestId: -1 },
      { type: 'exportChart', chart: 'sweep', pngDataUrl: PNG, requestId: '1' },
      { type: 'exportChart', chart: 'sweep', pngDataUrl: PNG, requestId: null },
      { type: 'chartPngDone', requestId: 1 },
      { type: 'chartPngDone', requestId: 1.5, charts: [] },
      { type: 'chartPngDone', requestId: 1, charts: ['sweep', 'sweep'] },
      { type: 'chartPngDone', requestId: 1, charts: ['all'] },
      { type: 'exportReport', format: 'exe' },
      { type: 'revealRun', runId: 'x'.repeat(5000) },
      { type: 'setRunLr', runId: 'a', lr: -1 },
      { type: 'setRunLr', runId: 'a', lr: Number.NaN },
      { type: 'setRunIncluded', runId: 'a', included: 'yes' },
      { type: 'selectLr', lr: 0 },
    ];
    for (const m of bad) {
      const r = parsePanelToHost(m);
      assert.equal(r.ok, false, JSON.stringify(m)?.slice(0, 80));
      assert.ok(!r.ok && r.error.length > 0);
    }
  });

  it('accepts host → panel messages and checks the result inside a snapshot', () => {
    const result = fixture('iid-sweep');
    const snap: HostToPanel = { type: 'snapshot', protocol: PROTOCOL_VERSION, result, focusLr: 0.01, busy: { message: 'x', fraction: 0.5, cancellable: true }, capabilities: NO_CAPABILITIES };
    assert.deepEqual(parseHostToPanel(JSON.parse(JSON.stringify(snap))), { ok: true, value: snap });
    const examples: HostToPanel[] = [
      { type: 'example', index: 3, label: 7, example: { kind: 'image', width: 2, height: 1, channels: 1, pixels: [0, 16], range: [0, 16] } },
      { type: 'example', index: 3, label: null, example: { kind: 'row', columns: ['a', 'b'], values: [1, null] } },
      { type: 'example', index: 3, label: 'cat', example: { kind: 'text', text: 'hello' } },
      { type: 'example', index: 3, label: null, example: { kind: 'unavailable', reason: 'no data' } },
      { type: 'focusLr', lr: null },
      { type: 'busy', busy: null },
      { type: 'error', error: { message: 'm', file: null } },
      { type: 'requestChartPng', requestId: 1, chart: 'all' },
      { type: 'requestChartPng', requestId: 2, chart: 'histogram' },
    ];
    for (const m of examples) assert.deepEqual(parseHostToPanel(m), { ok: true, value: m });
    for (const m of [
      { type: 'requestChartPng', requestId: 1, chart: 'pie' },
      { type: 'requestChartPng', requestId: -3, chart: 'all' },
      { type: 'requestChartPng', chart: 'sweep' },
    ]) {
      const r = parseHostToPanel(m);
      assert.ok(!r.ok && r.error.startsWith('requestChartPng.'), JSON.stringify(r));
    }

    const broken = JSON.parse(JSON.stringify(snap));
    broken.result.observed.points[0].lr = 'fast';
    const r = parseHostToPanel(broken);
    assert.ok(!r.ok && r.error.includes('observed.points[0].lr'), JSON.stringify(r));
    const old = { ...snap, protocol: PROTOCOL_VERSION + 1 };
    assert.match((parseHostToPanel(old) as { error: string }).error, /protocol version/);
  });

  it('refuses an image whose pixel count does not match its claimed size (no allocation from a claimed length)', () => {
    const claim = { type: 'example', index: 0, label: null, example: { kind: 'image', width: 100000, height: 100000, channels: 4, pixels: [1, 2, 3], range: [0, 1] } };
    assert.equal(parseHostToPanel(claim).ok, false);
    const flat = { type: 'example', index: 0, label: null, example: { kind: 'image', width: 1, height: 1, channels: 1, pixels: [1], range: [1, 1] } };
    assert.equal(parseHostToPanel(flat).ok, false, 'a zero-width range cannot be drawn');
  });

  it('never throws on arbitrary JSON in either direction (property, seeded)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('snapshot', 'example', 'ready', 'exportChart', 'setRunLr', 'busy', 'error', 'requestChartPng', 'chartPngDone'), (v, type) => {
        for (const m of [v, typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v, type } : { type, value: v }]) {
          const a = parseHostToPanel(m);
          const b = parsePanelToHost(m);
          assert.equal(typeof a.ok, 'boolean');
          assert.equal(typeof b.ok, 'boolean');
        }
      }),
      { seed: 3, numRuns: 400 },
    );
  });

  it('restores a persisted state, dropping what is stale or invalid', () => {
    const result = fixture('schedule-events');
    const saved = { protocol: PROTOCOL_VERSION, root: '/r', sweepId: null, result, focusLr: 0.01, ui: { ...DEFAULT_UI, logLr: true, tables: ['sweep', 'bogus'], hiddenRuns: ['a', 3] } };
    const s = parsePanelState(JSON.parse(JSON.stringify(saved)));
    assert.deepEqual(s.result, result);
    assert.deepEqual(s.ui, { ...DEFAULT_UI, logLr: true, tables: ['sweep'], hiddenRuns: ['a'] });
    assert.equal(parsePanelState({ ...saved, protocol: 0 }).result, null, 'another protocol version: result not trusted');
    assert.equal(parsePanelState({ ...saved, result: { nope: 1 } }).result, null);
    assert.deepEqual(parsePanelState(undefined), { protocol: PROTOCOL_VERSION, root: null, sweepId: null, result: null, focusLr: null, ui: DEFAULT_UI });
  });

  it('keeps "η to the limits" across reloads; a state saved before it existed reads as off', () => {
    const on = parsePanelState(JSON.parse(JSON.stringify({ protocol: PROTOCOL_VERSION, root: '/r', sweepId: null, result: null, focusLr: null, ui: { ...DEFAULT_UI, etaToLimits: true } })));
    assert.equal(on.ui.etaToLimits, true);
    const { etaToLimits: _dropped, ...older } = DEFAULT_UI;
    assert.equal(parsePanelState({ protocol: PROTOCOL_VERSION, root: '/r', sweepId: null, result: null, focusLr: null, ui: older }).ui.etaToLimits, false);
    assert.equal(parsePanelState({ protocol: PROTOCOL_VERSION, root: '/r', sweepId: null, result: null, focusLr: null, ui: { ...DEFAULT_UI, etaToLimits: 'yes' } }).ui.etaToLimits, false);
  });
});
