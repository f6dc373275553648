import { strict as assert } from 'node:assert';
import { ipcReporter, parseCliToHost } from '../../../src/shared/cliIpc';
import { parseLrList, parseOpenPanelAtArgs, parsePositiveInteger } from '../../../src/extension/commands/commandArgs';
import { ProgressTracker } from '../../../src/extension/compute/progress';
import { exportFileName, fileSlug } from '../../../src/extension/panel/exportNames';
import { fixtureResult } from './support/results';

describe('shared: CLI IPC messages', () => {
  it('accepts progress and warnings, clamps fractions, drops the rest', () => {
    assert.deepEqual(parseCliToHost({ type: 'progress', message: 'a' }), { type: 'progress', message: 'a' });
    assert.deepEqual(parseCliToHost({ type: 'progress', fraction: 1.5, message: 'a' }), { type: 'progress', fraction: 1, message: 'a' });
    assert.deepEqual(parseCliToHost({ type: 'warning', message: 'w', file: '/f' }), { type: 'warning', message: 'w', file: '/f' });
    for (const bad of [null, 'x', [], { type: 'progress' }, { type: 'progress', fraction: 'half', message: 'a' }, { type: 'progress', fraction: Number.NaN, message: 'a' }, { type: 'exit', message: 'a' }]) {
      assert.equal(parseCliToHost(bad), null, JSON.stringify(bad));
    }
    assert.equal((parseCliToHost({ type: 'warning', message: 'x'.repeat(10_000) }) as { message: string }).message.length, 4096);
  });

  it('the CLI side reports only with --ipc and a channel, and never throws', () => {
    const sent: unknown[] = [];
    const proc = { send: (m: unknown) => (sent.push(m), true), connected: true };
    assert.equal(ipcReporter(['analyze', '.'], proc), null);
    assert.equal(ipcReporter(['--ipc'], {}), null);
    const r = ipcReporter(['analyze', '.', '--ipc'], proc)!;
    r.progress({ fraction: 0.5, message: 'half' });
    r.progress({ message: 'listing' });
    r.warning('bad row', '/f.csv');
    assert.deepEqual(sent, [
      { type: 'progress', fraction: 0.5, message: 'half' },
      { type: 'progress', message: 'listing' },
      { type: 'warning', message: 'bad row', file: '/f.csv' },
    ]);
    const broken = ipcReporter(['--ipc'], {
      send: () => {
        throw new Error('channel closed');
      },
    })!;
    assert.doesNotThrow(() => broken.warning('x'));
    for (const m of sent) assert.notEqual(parseCliToHost(m), null, 'what the CLI sends, the host accepts');
  });
});

describe('extension: command arguments', () => {
  it('checks CodeLens arguments for Open Analysis Panel at η', () => {
    assert.deepEqual(parseOpenPanelAtArgs({ lr: 0.1, resultRoot: '/r', uri: 'file:///a.py' }), { lr: 0.1, resultRoot: '/r', uri: 'file:///a.py' });
    assert.deepEqual(parseOpenPanelAtArgs({ lr: 0.1 }), { lr: 0.1, resultRoot: undefined, uri: '' });
    for (const bad of [undefined, null, 0.1, { lr: 0 }, { lr: '0.1' }, { lr: Number.POSITIVE_INFINITY }, { lr: 0.1, resultRoot: 3 }]) assert.equal(parseOpenPanelAtArgs(bad), null);
  });

  it('reads a list of learning rates for the sweep lab', () => {
    assert.deepEqual(parseLrList('0.02, 0.01 5e-3'), { ok: true, value: [5e-3, 0.01, 0.02] });
    for (const bad of ['0.01', '0.01, -1', '0.01, x', '0.01, 0.01', '0.01, 0']) assert.equal(parseLrList(bad).ok, false, bad);
  });

  it('reads positive integers', () => {
    assert.deepEqual(parsePositiveInteger(' 32 ', 'batch size'), { ok: true, value: 32 });
    for (const bad of ['0', '-1', '1.5', '1e3', '', 'many']) assert.equal(parsePositiveInteger(bad, 'x').ok, false, bad);
  });
});

describe('extension: progress across jobs', () => {
  it('maps each job to its share of the bar and only moves forward', () => {
    const t = new ProgressTracker(2);
    assert.equal(t.overall(0, 0.5), 0.25);
    assert.equal(t.overall(1, 0.5), 0.75);
    assert.equal(t.increment(0.25), 25);
    assert.equal(t.increment(0.2), 0);
    assert.equal(t.increment(0.75), 50);
    assert.equal(t.increment(2), 25);
    assert.equal(t.increment(1), 0);
  });
});

describe('extension: export file names', () => {
  it('are built from a safe slug of the sweep name', () => {
    assert.equal(exportFileName(fixtureResult('iid-sweep'), 'html'), 'heatcap-iid.html');
    assert.equal(exportFileName(fixtureResult('iid-sweep'), 'png', 'sweep'), 'heatcap-iid-sweep.png');
    const hostile = exportFileName(fixtureResult('hostile'), 'md');
    assert.match(hostile, /^heatcap-[A-Za-z0-9._-]+\.md$/);
    assert.equal(fileSlug('../../etc/passwd'), 'etc-passwd');
    assert.equal(fileSlug('<>:"|?*'), 'analysis');
    assert.equal(fileSlug('x'.repeat(100)).length, 60);
  });
});
