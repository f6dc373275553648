import { strict as assert } from 'node:assert';
import { ChartPngRequests } from '../../../src/extension/panel/chartRequests';
import type { HostToPanel } from '../../../src/shared/webviewProtocol';

const bytes = (n: number) => new Uint8Array([0x89, 0x50, 0x4e, 0x47, n]);

describe('extension: chart PNG requests to the panel', () => {
  it('posts a request with a fresh id and resolves with the images listed by chartPngDone, in its order', async () => {
    const q = new ChartPngRequests();
    const posted: HostToPanel[] = [];
    const first = q.request('all', (m) => posted.push(m));
    const second = q.request('sweep', (m) => posted.push(m));
    assert.deepEqual(posted, [
      { type: 'requestChartPng', requestId: 1, chart: 'all' },
      { type: 'requestChartPng', requestId: 2, chart: 'sweep' },
    ]);
    assert.ok(q.onPng(1, 'curves', bytes(2)));
    assert.ok(q.onPng(1, 'sweep', bytes(1)));
    assert.ok(q.onPng(2, 'sweep', bytes(3)));
    assert.ok(q.onDone(2, ['sweep']));
    assert.ok(q.onDone(1, ['sweep', 'curves']));
    assert.deepEqual(await first, [{ chart: 'sweep', png: bytes(1) }, { chart: 'curves', png: bytes(2) }]);
    assert.deepEqual(await second, [{ chart: 'sweep', png: bytes(3) }]);
    assert.equal(q.onPng(1, 'sweep', bytes(9)), false, 'a settled request takes nothing more');
    assert.equal(q.onDone(1, []), false);
  });

  it('resolves empty when nothing is drawn, and fails when a listed image never came', async () => {
    const q = new ChartPngRequests();
    const none = q.request('weights', () => undefined);
    q.onDone(1, []);
    assert.deepEqual(await none, []);
    const partial = q.request('all', () => undefined);
    q.onPng(2, 'sweep', bytes(1));
    q.onDone(2, ['sweep', 'histogram']);
    await assert.rejects(partial, /listed histogram but sent no image of it/);
  });

  it('fails a request the panel never answers (timeout), or all of them when the page goes away', async () => {
    const q = new ChartPngRequests();
    await assert.rejects(q.request('sweep', () => undefined, 5), /did not send the chart images/);
    const a = q.request('sweep', () => undefined);
    const b = q.request('curves', () => undefined);
    q.failAll('the analysis panel was closed');
    await assert.rejects(a, /was closed/);
    await assert.rejects(b, /was closed/);
    assert.equal(q.onDone(4, []), false);
  });
});
