import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitWhenParentGoes } from '../../../src/cli/parentWatch';

const REPO = join(__dirname, '..', '..', '..');

function fakeChannel(connected = true): EventEmitter & { connected: boolean; send: () => boolean } {
  return Object.assign(new EventEmitter(), { connected, send: () => true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a CLI forked by the extension host stops when the host goes away', () => {
  it('the channel closing calls onGone once; after the command returned it is ignored', () => {
    const ch = fakeChannel();
    let gone = 0;
    const stop = exitWhenParentGoes(ch, () => gone++);
    assert.equal(ch.listenerCount('disconnect'), 1);
    ch.emit('disconnect');
    assert.equal(gone, 1);
    stop();
    assert.equal(ch.listenerCount('disconnect'), 0, 'a listener left would keep the channel, and a finished CLI, alive');
    ch.emit('disconnect');
    assert.equal(gone, 1);
  });

  it('a channel already closed at start counts as gone; no channel (a shell) is never watched', () => {
    let gone = 0;
    exitWhenParentGoes(fakeChannel(false), () => gone++);
    assert.equal(gone, 1);
    const shell = Object.assign(new EventEmitter(), { connected: undefined, send: undefined });
    exitWhenParentGoes(shell, () => gone++);
    assert.equal(shell.listenerCount('disconnect'), 0);
    assert.equal(gone, 1);
  });

  it('a real orphan: the parent of a 10⁷-step sweep exits, and the CLI is gone within seconds', async function () {
    this.timeout(60_000);
    const out = mkdtempSync(join(tmpdir(), 'heatcap-orphan-'));
    try {
      const args = ['sweep', '--model', join(REPO, 'examples/digits/checkpoints/softmax/model.json'), '--data', join(REPO, 'examples/digits/data/x.npy'), '--labels', join(REPO, 'examples/digits/data/y.npy'), '--lrs', '0.01', '--steps', '10000000', '--batch-size', '8', '--workers', '0', '--out', join(out, 'sweep')];
      // execFile returns once the orphan, which shares the parent's stderr pipe, has exited too.
      const [stdout, stderr] = await new Promise<[string, string]>((resolve, reject) =>
        execFile(process.execPath, [join(__dirname, 'fixtures', 'orphaning-parent.js'), ...args], { cwd: REPO, timeout: 45_000 }, (e, so, se) => (e ? reject(new Error(`${e.message}\n${so}\n${se}`)) : resolve([so, se]))),
      );
      const pid = Number(stdout.trim());
      assert.ok(Number.isInteger(pid) && pid > 0, `the parent printed ${JSON.stringify(stdout)}`);
      const t0 = Date.now();
      while (alive(pid) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
      const left = alive(pid);
      if (left) process.kill(pid, 'SIGKILL');
      assert.equal(left, false, 'the orphaned CLI was still running 15 s after its parent exited');
      // It stopped, not crashed: before, the next progress message hit the closed channel (EPIPE) and the
      // unhandled 'error' event killed it with a stack trace.
      assert.doesNotMatch(stderr, /EPIPE|Error/, stderr.slice(-2000));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
