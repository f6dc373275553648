import { strict as assert } from 'node:assert';
import { HeatcapError } from '../../../src/core/errors';
import { decodePngDataUrl, DEFAULT_SETTINGS_QUERY, handlePanelMessage, settingsQuery, type PanelActions } from '../../../src/extension/panel/messageHandler';
import { bannerError, fallbackHtml, HOST_CAPABILITIES, panelTitle, snapshotMessage } from '../../../src/extension/panel/snapshot';
import { parseHostToPanel, PROTOCOL_VERSION, type HostToPanel } from '../../../src/shared/webviewProtocol';
import { fixtureResult } from './support/results';

/** Actions that record what they were asked to do. */
function recorder(fail?: unknown) {
  const calls: unknown[][] = [];
  const posted: HostToPanel[] = [];
  const logs: string[] = [];
  const act =
    (name: string) =>
    async (...args: unknown[]) => {
      calls.push([name, ...args]);
      if (fail) throw fail;
    };
  const actions: PanelActions = {
    post: (m) => posted.push(m),
    sendSnapshot: () => calls.push(['sendSnapshot']),
    saveChartPng: act('saveChartPng'),
    chartPngAnswer: (requestId, chart, png) => (calls.push(['chartPngAnswer', requestId, chart, png.length]), requestId === 1),
    chartPngDone: (requestId, charts) => (calls.push(['chartPngDone', requestId, charts]), requestId === 1),
    exportReport: act('exportReport'),
    revealRun: act('revealRun'),
    setRunIncluded: act('setRunIncluded'),
    setRunLr: act('setRunLr'),
    openSettings: act('openSettings'),
    selectLr: (lr) => calls.push(['selectLr', lr]),
    requestExample: act('requestExample'),
    cancel: () => calls.push(['cancel']),
    log: (l) => logs.push(l),
  };
  return { actions, calls, posted, logs };
}

// A 1×1 PNG.
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

describe('extension: panel message handling', () => {
  it('answers ready with a snapshot; an old panel is told to reload', async () => {
    const r = recorder();
    await handlePanelMessage({ type: 'ready', protocol: PROTOCOL_VERSION }, r.actions);
    assert.deepEqual(r.calls, [['sendSnapshot']]);
    const old = recorder();
    await handlePanelMessage({ type: 'ready', protocol: PROTOCOL_VERSION + 1 }, old.actions);
    assert.deepEqual(old.calls, []);
    assert.equal(old.posted[0].type, 'error');
  });

  it('dispatches each valid message to its action', async () => {
    const r = recorder();
    const msgs = [
      { type: 'exportReport', format: 'md' },
      { type: 'revealRun', runId: 'sweep/lr_0.1' },
      { type: 'setRunIncluded', runId: 'a', included: false },
      { type: 'setRunLr', runId: 'a', lr: 0.02 },
      { type: 'selectLr', lr: 0.01 },
      { type: 'requestExample', index: 3 },
      { type: 'cancel' },
      { type: 'openSettings', query: 'heatcap.checkpoint' },
    ];
    for (const m of msgs) await handlePanelMessage(m, r.actions);
    assert.deepEqual(r.calls, [
      ['exportReport', 'md'],
      ['revealRun', 'sweep/lr_0.1'],
      ['setRunIncluded', 'a', false],
      ['setRunLr', 'a', 0.02],
      ['selectLr', 0.01],
      ['requestExample', 3],
      ['cancel'],
      ['openSettings', 'heatcap.checkpoint'],
    ]);
  });

  it('saves a chart only when it really is a PNG', async () => {
    const r = recorder();
    await handlePanelMessage({ type: 'exportChart', chart: 'sweep', pngDataUrl: PNG }, r.actions);
    assert.equal(r.calls.length, 1);
    const [name, chart, bytes] = r.calls[0] as [string, string, Uint8Array];
    assert.equal(name, 'saveChartPng');
    assert.equal(chart, 'sweep');
    assert.deepEqual([...bytes.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const fake = recorder();
    await handlePanelMessage({ type: 'exportChart', chart: 'sweep', pngDataUrl: 'data:image/png;base64,' + Buffer.from('GIF89a not a png').toString('base64') }, fake.actions);
    assert.deepEqual(fake.calls, []);
    assert.match(fake.logs[0], /did not carry a PNG/);
  });

  it('routes chart images the host asked for to the request, not to a save dialog; late ones are logged', async () => {
    const r = recorder();
    await handlePanelMessage({ type: 'exportChart', chart: 'curves', pngDataUrl: PNG, requestId: 1 }, r.actions);
    await handlePanelMessage({ type: 'chartPngDone', requestId: 1, charts: ['curves'] }, r.actions);
    assert.deepEqual(r.calls, [
      ['chartPngAnswer', 1, 'curves', 70],
      ['chartPngDone', 1, ['curves']],
    ]);
    assert.deepEqual(r.logs, []);
    await handlePanelMessage({ type: 'exportChart', chart: 'curves', pngDataUrl: PNG, requestId: 9 }, r.actions);
    await handlePanelMessage({ type: 'chartPngDone', requestId: 9, charts: [] }, r.actions);
    assert.deepEqual(r.logs, ['panel: ignored the curves image for request 9 (none is waiting)', 'panel: ignored the end of chart request 9 (none is waiting)']);
    assert.ok(!r.calls.some((c) => c[0] === 'saveChartPng'));
  });

  it('refuses invalid messages without acting, and logs why', async () => {
    const r = recorder();
    const bad = [
      null,
      'ready',
      { type: 'launch' },
      { type: 'setRunLr', runId: 'a', lr: -1 },
      { type: 'setRunLr', runId: 'a', lr: '0.1' },
      { type: 'setRunIncluded', runId: 5, included: true },
      { type: 'exportReport', format: 'exe' },
      { type: 'exportChart', chart: '../../etc/passwd', pngDataUrl: PNG },
      { type: 'revealRun', runId: 'x'.repeat(5000) },
      { type: 'requestExample', index: -1 },
    ];
    for (const m of bad) await handlePanelMessage(m, r.actions);
    assert.deepEqual(r.calls, []);
    assert.equal(r.logs.length, bad.length);
    assert.ok(r.logs.every((l) => l.startsWith('panel: refused a message:')));
  });

  it('an action that fails shows its error in the panel, naming the file', async () => {
    const r = recorder(new HeatcapError('/w/report.html', 'permission denied'));
    await handlePanelMessage({ type: 'exportReport', format: 'html' }, r.actions);
    assert.deepEqual(r.posted, [{ type: 'error', error: { message: 'permission denied', file: '/w/report.html' } }]);
    assert.match(r.logs[0], /exportReport failed: \/w\/report\.html: permission denied/);
  });

  it('logs panel errors', async () => {
    const r = recorder();
    await handlePanelMessage({ type: 'panelError', message: 'Chart.js: canvas lost' }, r.actions);
    assert.deepEqual(r.logs, ['panel: Chart.js: canvas lost']);
  });

  it('opens only this extension’s settings', () => {
    assert.equal(settingsQuery('heatcap'), 'heatcap');
    assert.equal(settingsQuery('heatcap.checkpoint.model'), 'heatcap.checkpoint.model');
    assert.equal(settingsQuery(null), DEFAULT_SETTINGS_QUERY);
    assert.equal(settingsQuery('@ext:evil.extension'), DEFAULT_SETTINGS_QUERY);
    assert.equal(settingsQuery('heatcap.x @tag:y'), DEFAULT_SETTINGS_QUERY);
  });

  it('decodes PNG data URLs and nothing else', () => {
    assert.ok(decodePngDataUrl(PNG));
    assert.equal(decodePngDataUrl('data:image/jpeg;base64,AAAA'), null);
    assert.equal(decodePngDataUrl('data:image/png;base64,AAAA'), null);
    assert.equal(decodePngDataUrl(PNG + '"><script>'), null);
  });
});

describe('extension: panel snapshot', () => {
  it('is a message the panel accepts, with the host capabilities', () => {
    const msg = snapshotMessage(fixtureResult('iid-sweep'), 0.01, { message: 'x', fraction: 0.5, cancellable: true });
    const parsed = parseHostToPanel(JSON.parse(JSON.stringify(msg)));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.deepEqual((parsed.value as { capabilities: unknown }).capabilities, HOST_CAPABILITIES);
    assert.ok(parseHostToPanel(JSON.parse(JSON.stringify(snapshotMessage(null, null, null)))).ok);
  });

  it('carries the folder error as a banner, and the sweep name as a plain title', () => {
    assert.equal(bannerError(undefined), null);
    const e = { root: '/r', label: 'r', isWorkspaceFolder: true, listing: null, listingError: null, results: null, analysisError: 'x.csv: bad', restored: false };
    assert.deepEqual(bannerError(e), { message: 'x.csv: bad', file: null });
    assert.equal(panelTitle(null), 'Heat Capacity');
    assert.equal(panelTitle(fixtureResult('iid-sweep')), 'Heat Capacity: iid');
    assert.ok(!/\n/.test(panelTitle(fixtureResult('hostile'))));
  });

  it('falls back to a static page (no scripts at all) that shows the reason as text', () => {
    const html = fallbackHtml('cspSource "<script>" is bad');
    assert.match(html, /content="default-src 'none'"/);
    assert.ok(!/<script/i.test(html.replace('&lt;script&gt;', '')));
    assert.match(html, /cspSource &quot;&lt;script&gt;&quot; is bad/);
  });
});
