import { strict as assert } from 'node:assert';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { isHeatcapError } from '../../../src/core/errors';
import { readCsvLog, readJsonlLog, readTfeventsLog } from '../../../src/core/logs/read';
import { readTrainerState } from '../../../src/core/logs/trainer-state';
import { readMlflowRun } from '../../../src/core/logs/mlflow';
import { cleanupTempDirs, tempDir } from '../../support/logs/fixtures';

/**
 * Every reader on arbitrary bytes: it returns (with warnings) or throws a HeatcapError naming the file;
 * anything else escaping is a bug. Time-bounded (fast-check stops after the limit, a few seconds each).
 */
const LIMIT_MS = 2500;
const bytesOrText = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  fc.string({ unit: fc.constantFrom('1', '0', '.', ',', '-', 'e', 'n', 'a', 'N', 'I', '"', '{', '}', ':', '[', ']', ' ', '\n', '\r', 's', 't', 'p', 'step', 'loss', 'NaN', 'inf'), maxLength: 300 }).map((s) => new TextEncoder().encode(s)),
);

async function onlyHeatcapErrors(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
  } catch (e) {
    if (!isHeatcapError(e)) throw e;
  }
  return true;
}

describe('fuzzing every reader (time-bounded)', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('heatcap-fuzz-');
  });
  after(cleanupTempDirs);

  const cases: [string, (d: string, bytes: Uint8Array) => Promise<unknown>][] = [
    ['tfevents', async (d, b) => {
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'events.out.tfevents.1'), b);
      return readTfeventsLog(d, [{ dir: d, prefix: '' }]);
    }],
    ['csv', async (d, b) => {
      await writeFile(join(d, 'x.csv'), Buffer.concat([Buffer.from('step,loss\n'), b]));
      return readCsvLog(join(d, 'x.csv'));
    }],
    ['jsonl', async (d, b) => {
      await writeFile(join(d, 'x.jsonl'), b);
      return readJsonlLog(join(d, 'x.jsonl'));
    }],
    ['trainer_state', async (d, b) => {
      await writeFile(join(d, 'trainer_state.json'), b);
      return readTrainerState(join(d, 'trainer_state.json'));
    }],
    ['mlflow', async (d, b) => {
      await mkdir(join(d, 'run', 'metrics'), { recursive: true });
      await mkdir(join(d, 'run', 'params'), { recursive: true });
      await writeFile(join(d, 'run', 'meta.yaml'), b);
      await writeFile(join(d, 'run', 'metrics', 'loss'), b);
      await writeFile(join(d, 'run', 'params', 'lr'), b);
      return readMlflowRun(join(d, 'run'));
    }],
  ];
  for (const [name, read] of cases) {
    it(`${name}: random bytes give data or a HeatcapError, never a crash or a hang`, async () => {
      const d = join(dir, name);
      await mkdir(d, { recursive: true });
      const res = await fc.check(
        fc.asyncProperty(bytesOrText, (b) => onlyHeatcapErrors(read(d, b))),
        { seed: 13, numRuns: 400, interruptAfterTimeLimit: LIMIT_MS },
      );
      assert.ok(!res.failed, fc.defaultReportMessage(res) ?? 'failed');
    });
  }
});
