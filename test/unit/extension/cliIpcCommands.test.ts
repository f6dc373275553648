/**
 * The real CLI bundle (dist/cli.js, built by `node esbuild.mjs`) forked the way the extension forks it:
 * every command takes `--ipc` (src/cli/main.ts strips it centrally), so `runs` and `gradnorms` are run
 * with it like `analyze`, and `runs` reports the run it is reading over the channel.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCliJob } from '../../../src/extension/compute/cliProcess';
import { cleanupTempDirs, tempDir, writeTfeventsRun } from '../../support/logs/fixtures';

const CLI = resolve(__dirname, '../../../dist/cli.js');

describe('extension: runs and gradnorms forked with --ipc (real CLI bundle)', function () {
  this.timeout(30_000);
  before(function () {
    if (!existsSync(CLI)) this.skip();
  });
  after(cleanupTempDirs);

  it('runs --ipc lists the runs on stdout and reports progress over IPC', async () => {
    const root = await tempDir('heatcap-ipc-');
    for (const lr of ['0.1', '0.2']) await writeTfeventsRun(join(root, `lr_${lr}`), { loss: [[0, 1], [1, 0.5]] });
    const progress: { fraction?: number; message?: string }[] = [];
    const out = await runCliJob({ cliPath: CLI, args: ['runs', root, '--json'], onProgress: (p) => progress.push(p) });
    assert.deepEqual(JSON.parse(out).runs.map((r: { path: string }) => r.path), ['lr_0.1', 'lr_0.2']);
    assert.ok(progress.some((p) => p.message === 'listing folders'), JSON.stringify(progress));
    assert.equal(progress.at(-1)?.fraction, 1);
  });

  it('gradnorms --ipc gets as far as reading its inputs (the flag itself is accepted)', async () => {
    const dir = await tempDir('heatcap-ipc-');
    const args = ['gradnorms', `--model=${join(dir, 'model.json')}`, `--data=${join(dir, 'x.npy')}`, `--labels=${join(dir, 'y.npy')}`, '--json'];
    await assert.rejects(runCliJob({ cliPath: CLI, args, cwd: dir }), (e: Error) => {
      assert.ok(!/--ipc|unknown option/i.test(e.message), e.message);
      assert.ok(e.message.startsWith(dir), `names one of its files: ${e.message}`);
      return true;
    });
  });
});
