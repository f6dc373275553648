import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelSource } from '../../../src/core/cancel';
import { CancelledError } from '../../../src/core/errors';
import { CliFailure, errorLine, runCliJob, runCliJson } from '../../../src/extension/compute/cliProcess';
import { parseAnalyzeOutput } from '../../../src/extension/compute/cliOutput';

const FAKE_CLI = join(__dirname, 'fixtures', 'fake-cli.js');
const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'results', 'iid-sweep.json');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected the job to fail');
}

describe('extension: the CLI child process host', () => {
  it('forks the CLI with --ipc, no inherited exec flags, in the given folder', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'heatcap-cli-'));
    const out = JSON.parse(await runCliJob({ cliPath: FAKE_CLI, args: ['args', 'x y'], cwd }));
    assert.deepEqual(out.argv, ['args', 'x y', '--ipc']);
    assert.deepEqual(out.execArgv, []);
    assert.equal(out.ipc, true);
    assert.equal(out.cwd, cwd);
  });


  it('delivers progress and warnings over IPC and resolves with the parsed result', async () => {
    const progress: { fraction?: number; message?: string }[] = [];
    const warnings: { message: string; file?: string }[] = [];
    const results = await runCliJson(
      { cliPath: FAKE_CLI, args: ['ok', FIXTURE], onProgress: (p) => progress.push(p), onWarning: (w) => warnings.push(w) },
      parseAnalyzeOutput,
    );
    assert.equal(results.length, 1);
    assert.equal(results[0].sweep?.name, 'iid');
    assert.deepEqual(progress, [
      { fraction: undefined, message: 'listing folders' },
      { fraction: 0.5, message: 'reading runs/a' },
      { fraction: 1, message: 'fitting' },
    ]);
    assert.deepEqual(warnings, [{ message: 'record 3: CRC mismatch', file: '/runs/a/events.out.tfevents.1' }]);
  });

  it('turns a non-zero exit into the error line naming the file (warnings before it skipped)', async () => {
    const logged: string[] = [];
    const e = await rejection(runCliJob({ cliPath: FAKE_CLI, args: ['error'], onLog: (l) => logged.push(l) }));
    assert.ok(e instanceof CliFailure);
    assert.equal(e.message, '/data/runs/a/metrics.csv: line 12: expected 3 columns, got 2');
    assert.equal(e.exitCode, 1);
    assert.equal(logged.length, 2, 'every stderr line reaches the log');
  });

  it('reports an internal error (exit 70) as a crash with its line', async () => {
    const e = await rejection(runCliJob({ cliPath: FAKE_CLI, args: ['internal'] }));
    assert.ok(e instanceof CliFailure);
    assert.match(e.message, /^heatcap crashed: Cannot read properties of undefined/);
  });

  it('reports a child killed by a signal as a crash, not a cancel', async () => {
    const e = await rejection(runCliJob({ cliPath: FAKE_CLI, args: ['crash'] }));
    assert.ok(e instanceof CliFailure);
    assert.equal(e.signal, 'SIGKILL');
    assert.match(e.message, /stopped by SIGKILL/);
  });

  it('refuses output that is not JSON, quoting its start', async () => {
    const e = await rejection(runCliJson({ cliPath: FAKE_CLI, args: ['garbage'] }, (v) => v));
    assert.ok(e instanceof CliFailure);
    assert.match(e.message, /not JSON: this is not json/);
  });

  it('ignores malformed IPC messages (logging them) and keeps the valid ones', async () => {
    const progress: unknown[] = [];
    const logged: string[] = [];
    await runCliJob({ cliPath: FAKE_CLI, args: ['badipc'], onProgress: (p) => progress.push(p), onLog: (l) => logged.push(l) });
    assert.deepEqual(progress, [{ fraction: 0.25, message: 'fine' }]);
    assert.equal(logged.filter((l) => l.startsWith('ignored an unknown IPC message')).length, 3);
  });

  it('cancel sends SIGTERM and rejects with CancelledError once the child is gone (within 2 s)', async () => {
    const source = new CancelSource();
    const started = Date.now();
    const job = runCliJob({ cliPath: FAKE_CLI, args: ['hang'], token: source.token, onProgress: () => source.cancel() });
    const e = await rejection(job);
    assert.ok(e instanceof CancelledError);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  it('a child that ignores SIGTERM is killed after the grace period', async () => {
    const source = new CancelSource();
    let cancelledAt = 0;
    const job = runCliJob({
      cliPath: FAKE_CLI,
      args: ['stubborn'],
      token: source.token,
      killGraceMs: 200,
      onProgress: () => {
        cancelledAt = Date.now();
        source.cancel();
      },
    });
    const e = await rejection(job);
    assert.ok(e instanceof CancelledError);
    const took = Date.now() - cancelledAt;
    assert.ok(took >= 150 && took < 1500, `settled ${took} ms after cancel (grace 200 ms)`);
  });

  it('a token cancelled before the start runs nothing', async () => {
    const source = new CancelSource();
    source.cancel();
    assert.ok((await rejection(runCliJob({ cliPath: FAKE_CLI, args: ['hang'], token: source.token }))) instanceof CancelledError);
  });

  it('exit code 130 (cancelled elsewhere) is a cancel, not an error', async () => {
    assert.ok((await rejection(runCliJob({ cliPath: FAKE_CLI, args: ['cancelled'] }))) instanceof CancelledError);
  });

  it('a CLI that does not exist fails with a message, not a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heatcap-cli-'));
    const e = await rejection(runCliJob({ cliPath: join(dir, 'missing.js'), args: ['ok'] }));
    assert.ok(e instanceof CliFailure);
    assert.match(e.message, /the heatcap CLI is missing: .*missing\.js/);
  });

  it('a folder that does not exist is named in the error (the CLI runs in it)', async () => {
    const e = await rejection(runCliJob({ cliPath: FAKE_CLI, args: ['ok'], cwd: join(tmpdir(), 'heatcap-no-such-folder') }));
    assert.ok(e instanceof CliFailure);
    assert.match(e.message, /heatcap-no-such-folder: no such folder/);
  });

  it('accepts an array of results (analyze --all)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heatcap-cli-'));
    const file = join(dir, 'all.json');
    const one = JSON.parse(require('node:fs').readFileSync(FIXTURE, 'utf8'));
    writeFileSync(file, JSON.stringify([one, one]));
    const results = await runCliJson({ cliPath: FAKE_CLI, args: ['ok', file] }, parseAnalyzeOutput);
    assert.equal(results.length, 2);
  });
});

describe('extension: errorLine', () => {
  it('picks the CLI error line over warnings and stack traces, without the prefix', () => {
    assert.equal(errorLine('heatcap: warning: a\nheatcap: error: f.csv: bad\n    at x\n'), 'f.csv: bad');
    assert.equal(errorLine('heatcap: internal error: boom\n  at y'), 'boom');
    assert.equal(errorLine('Killed\n'), 'Killed');
    assert.equal(errorLine("heatcap: unknown command 'sweep'\nusage: heatcap <command>\n  analyze  …\n"), "unknown command 'sweep'");
    assert.equal(errorLine("node:internal/x:1\n  throw err;\n  ^\n\nError: Cannot find module 'a'\n    at y\n\nNode.js v20.20.2\n"), "Error: Cannot find module 'a'");
    assert.equal(errorLine('heatcap: warning: only a warning\n'), null);
    assert.equal(errorLine(''), null);
  });
});
