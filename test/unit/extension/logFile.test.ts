import { strict as assert } from 'node:assert';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRunsListing } from '../../../src/extension/compute/cliOutput';
import { MAX_OPEN_BYTES, pickLogFile, type LogFileStat } from '../../../src/extension/runsView/logFile';
import { runCli } from '../../support/cli';
import { cleanupTempDirs, tempDir, writeJsonl, writeTfeventsRun } from '../../support/logs/fixtures';

describe('extension: the log file "Reveal Log File" shows', () => {
  const disk = (entries: Record<string, LogFileStat>) => async (f: string) => entries[f];

  it('takes the first listed file still on disk: text logs are opened, event files revealed', async () => {
    const stat = disk({
      '/r/train/events.out.tfevents.1.host': { isFile: true, size: 10 },
      '/r/validation/events.out.tfevents.2.host': { isFile: true, size: 10 },
      '/r/version_0/metrics.csv': { isFile: true, size: 1000 },
    });
    assert.deepEqual(await pickLogFile(['/r/train/events.out.tfevents.1.host', '/r/validation/events.out.tfevents.2.host'], stat), {
      file: '/r/train/events.out.tfevents.1.host',
      action: 'reveal',
    });
    assert.deepEqual(await pickLogFile(['/r/gone.csv', '/r/version_0/metrics.csv'], stat), { file: '/r/version_0/metrics.csv', action: 'open' });
  });

  it('reveals a text log too large to open, skips folders, and says undefined when nothing is left', async () => {
    const stat = disk({ '/r/big.csv': { isFile: true, size: MAX_OPEN_BYTES + 1 }, '/r/dir': { isFile: false, size: 0 } });
    assert.deepEqual(await pickLogFile(['/r/big.csv'], stat), { file: '/r/big.csv', action: 'reveal' });
    assert.equal(await pickLogFile(['/r/dir', '/r/missing.jsonl'], stat), undefined);
    assert.equal(await pickLogFile([], stat), undefined);
  });

  it('end to end: the files `heatcap runs --json` lists reach the runs view and name the real log', async () => {
    const root = await tempDir('heatcap-reveal-');
    try {
      await writeTfeventsRun(join(root, 'tb', 'train'), { epoch_loss: [[0, 1]] });
      await writeTfeventsRun(join(root, 'tb', 'validation'), { epoch_loss: [[0, 2]] });
      await writeJsonl(join(root, 'jl', 'log.jsonl'), [{ step: 0, loss: 1 }]);
      const r = await runCli(['runs', root, '--json']);
      assert.equal(r.code, 0, r.err);
      const listing = parseRunsListing(JSON.parse(r.out), root);
      const onDisk = async (f: string) => stat(f).then((st) => ({ isFile: st.isFile(), size: st.size }), () => undefined);
      const byPath = new Map(listing.runs.map((run) => [run.path, run]));
      const tb = await pickLogFile(byPath.get('tb')!.files, onDisk);
      assert.equal(tb?.action, 'reveal');
      assert.ok(tb?.file.startsWith(join(root, 'tb', 'train', 'events.out.tfevents.')), tb?.file);
      assert.deepEqual(await pickLogFile(byPath.get('jl')!.files, onDisk), { file: join(root, 'jl', 'log.jsonl'), action: 'open' });
    } finally {
      await cleanupTempDirs();
    }
  });
});
