import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { HeatcapError, isHeatcapError } from '../../../src/core/errors';
import { readMlflowSqlite } from '../../../src/core/logs/mlflow-sqlite/reader';
import { loadSqlJs } from '../../../src/core/logs/mlflow-sqlite/sqljs';
import { discoverRuns } from '../../../src/core/runs/discover';
import { cleanupTempDirs, tempDir } from '../../support/logs/fixtures';

/**
 * MLflow's SQLite store against real databases written by MLflow (test/fixtures/mlflow-sqlite/README.md)
 * and a synthetic one in MLflow's own schema; expected counts from count.py (Python's sqlite3 alone).
 */
const FIX = join(__dirname, '../../fixtures/mlflow-sqlite');
interface Expected {
  schema: string;
  deleted_skipped: number;
  runs: Record<string, { experiment_id: string; name: string | null; params: number; metrics: Record<string, { points: number; nan: number; posinf: number; neginf: number }> }>;
}

async function expected(): Promise<Record<string, Expected>> {
  return JSON.parse(await readFile(join(FIX, 'expected.json'), 'utf8')) as Record<string, Expected>;
}

async function sha(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** A database made with sql.js itself, for the schema cases (not for counts). */
async function makeDb(file: string, sql: string): Promise<void> {
  const SQL = await loadSqlJs();
  const db = new (SQL.Database as unknown as new () => { exec(s: string): unknown; export(): Uint8Array; close(): void })();
  db.exec(sql);
  await writeFile(file, db.export());
  db.close();
}

async function heatcapErrorOf(p: Promise<unknown>): Promise<HeatcapError> {
  try {
    await p;
  } catch (e) {
    if (isHeatcapError(e)) return e as HeatcapError;
    throw e;
  }
  throw new assert.AssertionError({ message: 'expected a HeatcapError' });
}

describe('MLflow SQLite store (sql.js, in-memory copy)', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('heatcap-mlflow-sqlite-');
  });
  after(cleanupTempDirs);

  it('reads the real and synthetic databases with the counts count.py finds (runs, names, params, points, NaN, ±inf, deleted runs)', async () => {
    const exp = await expected();
    assert.deepEqual(Object.keys(exp).sort(), ['deleted-run-mlflow-2.14.db', 'nyc-taxi-mlflow-1.26.db', 'synthetic-edge-cases.db']);
    for (const [name, e] of Object.entries(exp)) {
      const store = await readMlflowSqlite(join(FIX, name));
      assert.equal(store.schemaVersion, e.schema, name);
      assert.deepEqual(store.runs.map((r) => r.runUuid).sort(), Object.keys(e.runs).sort(), name);
      const deletedWarning = store.warnings.find((w) => /deleted run/.test(w.message));
      if (e.deleted_skipped) assert.match(deletedWarning?.message ?? '', new RegExp(`^${e.deleted_skipped} deleted run`), name);
      else assert.equal(deletedWarning, undefined, name);
      for (const r of store.runs) {
        const want = e.runs[r.runUuid];
        assert.equal(r.experimentId, want.experiment_id, `${name} ${r.runUuid}`);
        assert.equal(r.runName ?? null, want.name, `${name} ${r.runUuid}`);
        assert.equal(Object.keys(r.data.params[0].values).length, want.params, `${name} ${r.runUuid} params`);
        assert.deepEqual(Object.keys(r.data.scalars).sort(), Object.keys(want.metrics).sort(), `${name} ${r.runUuid} metrics`);
        for (const [key, m] of Object.entries(want.metrics)) {
          const s = r.data.scalars[key];
          assert.equal(s.steps.length, m.points, `${name} ${r.runUuid} ${key} points`);
          assert.equal(s.values.filter(Number.isNaN).length, m.nan, `${key} NaN`);
          assert.equal(s.values.filter((v) => v === Infinity).length, m.posinf, `${key} +inf`);
          assert.equal(s.values.filter((v) => v === -Infinity).length, m.neginf, `${key} -inf`);
        }
      }
    }
  });

  it('a step written twice (gradient accumulation) is one point; the long real curve keeps its 746 steps in order', async () => {
    const syn = await readMlflowSqlite(join(FIX, 'synthetic-edge-cases.db'));
    const a = syn.runs.find((r) => r.runName === 'tag-name-a');
    const loss = a?.data.scalars.train_loss;
    assert.ok(loss);
    assert.equal(loss.steps.filter((s) => s === 10).length, 1);
    assert.equal(loss.values[10], 1 / 11);
    const nyc = await readMlflowSqlite(join(FIX, 'nyc-taxi-mlflow-1.26.db'));
    const curve = nyc.runs.map((r) => r.data.scalars['validation-rmse']).find((s) => s !== undefined);
    assert.equal(curve?.steps.length, 746);
    assert.deepEqual(curve?.steps.slice(0, 3), [0, 1, 2]);
    assert.ok(curve?.steps.every((s, i) => i === 0 || s > curve.steps[i - 1]));
    assert.ok(curve?.wallTimes && curve.wallTimes[0] > 1.6e9);
  });

  it('discovery lists each run as <file>/<experiment>/<run id>, named by its tag or runs.name, η from its params; the file is not touched', async () => {
    const root = join(dir, 'disc');
    await (await import('node:fs/promises')).mkdir(root, { recursive: true });
    const db = join(root, 'mlflow.db');
    await copyFile(join(FIX, 'synthetic-edge-cases.db'), db);
    const before = { hash: await sha(db), mtime: (await stat(db)).mtimeMs };
    const d = await discoverRuns(root);
    assert.deepEqual(d.runs.map((r) => r.id).sort(), [`mlflow.db/1/${'a'.repeat(32)}`, `mlflow.db/1/${'b'.repeat(32)}`]);
    const a = d.runs.find((r) => r.id.endsWith('a'.repeat(32)));
    const b = d.runs.find((r) => r.id.endsWith('b'.repeat(32)));
    assert.equal(a?.name, 'tag-name-a');
    assert.equal(b?.name, 'col-name-b');
    assert.equal(a?.format, 'mlflow_sqlite');
    assert.deepEqual(a?.hparams.lr, { value: 0.1, source: 'MLflow params (mlflow.db): lr' });
    assert.equal(b?.hparams.batch_size?.value, 32);
    assert.equal(b?.lrTag, 'lr');
    assert.ok(d.warnings.some((w) => /2 deleted run/.test(w.message)));
    assert.equal(d.sweeps.length, 1);
    assert.equal(await sha(db), before.hash);
    assert.equal((await stat(db)).mtimeMs, before.mtime);
    // The file itself as the root.
    const single = await discoverRuns(db);
    assert.equal(single.runs.length, 2);
  });

  it('a database in WAL mode with a -wal file beside it: the main file is read, and a warning says the WAL is not', async () => {
    const db = join(dir, 'wal.db');
    const bytes = new Uint8Array(await readFile(join(FIX, 'deleted-run-mlflow-2.14.db')));
    bytes[18] = 2;
    bytes[19] = 2;
    await writeFile(db, bytes);
    await writeFile(`${db}-wal`, new Uint8Array(4096).fill(7));
    const store = await readMlflowSqlite(db);
    assert.equal(store.runs.length, 2);
    assert.ok(store.warnings.some((w) => w.file === db && /wal\.db-wal \(4096 bytes\).*not read/.test(w.message)));
    const onDisk = new Uint8Array(await readFile(db));
    assert.equal(onDisk[18], 2, 'the user file keeps its WAL header');
  });

  it('a database MLflow is writing (another process holds an exclusive lock, a rollback journal beside it): read without waiting, unchanged', async function () {
    const py = spawnSync('python3', ['-c', 'import sqlite3'], { encoding: 'utf8' });
    if (py.status !== 0) {
      console.log('      skipped: python3 with sqlite3 is not available to hold a lock');
      this.skip();
    }
    const db = join(dir, 'locked.db');
    await copyFile(join(FIX, 'synthetic-edge-cases.db'), db);
    const script = [
      'import sqlite3, sys',
      `c = sqlite3.connect(${JSON.stringify(db)}, isolation_level=None)`,
      'c.execute("PRAGMA cache_size = 1")',
      'c.execute("BEGIN EXCLUSIVE")',
      'for i in range(3000): c.execute("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", ("k%d" % i, "x" * 200, "a" * 32))',
      'print("locked", flush=True)',
      'sys.stdin.readline()',
      'c.execute("ROLLBACK")',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`python exited ${code}`)));
      });
      const t0 = Date.now();
      let store;
      try {
        store = await readMlflowSqlite(db);
      } catch (e) {
        // A copy caught mid-write may be inconsistent: then a HeatcapError naming the file, never a hang.
        assert.ok(isHeatcapError(e) && (e as HeatcapError).file === db, String(e));
      }
      assert.ok(Date.now() - t0 < 10_000);
      if (store) {
        assert.ok(store.warnings.some((w) => /locked\.db-journal .*write was in progress/.test(w.message)), JSON.stringify(store.warnings));
        assert.equal(store.runs.length, 2);
      }
    } finally {
      child.stdin.end('\n');
      await new Promise((r) => child.once('close', r));
    }
    // The writer could roll back: the database is as it was.
    const after = await readMlflowSqlite(db);
    assert.equal(Object.keys(after.runs.find((r) => r.runName === 'tag-name-a')?.data.params[0].values ?? {}).length, 2);
  });

  it('bad input: not SQLite, empty, cut short, another schema, an unsupported MLflow schema: one HeatcapError naming the file and table', async () => {
    const text = join(dir, 'text.db');
    await writeFile(text, 'hello, I am not a database\n');
    assert.match((await heatcapErrorOf(readMlflowSqlite(text))).what, /not an SQLite database/);
    const empty = join(dir, 'empty.db');
    await writeFile(empty, '');
    assert.match((await heatcapErrorOf(readMlflowSqlite(empty))).what, /empty file/);
    const real = await readFile(join(FIX, 'nyc-taxi-mlflow-1.26.db'));
    const cut = join(dir, 'cut.db');
    await writeFile(cut, real.subarray(0, 60));
    assert.match((await heatcapErrorOf(readMlflowSqlite(cut))).what, /header cut short/);
    await writeFile(cut, real.subarray(0, 8192));
    let cutStore;
    try {
      cutStore = await readMlflowSqlite(cut);
    } catch (e) {
      assert.ok(isHeatcapError(e));
      assert.match((e as HeatcapError).what, /^table \w+:/);
    }
    if (cutStore) assert.ok(cutStore.warnings.some((w) => /shorter than its SQLite header/.test(w.message)));
    const other = join(dir, 'other.db');
    await makeDb(other, 'CREATE TABLE songs (title TEXT, artist TEXT); INSERT INTO songs VALUES (1, 2);');
    const e1 = await heatcapErrorOf(readMlflowSqlite(other));
    assert.equal(e1.file, other);
    assert.match(e1.what, /^table alembic_version: not found, so this is not an MLflow tracking database \(its tables: songs\)/);
    const old = join(dir, 'old.db');
    await makeDb(
      old,
      "CREATE TABLE alembic_version (version_num TEXT); INSERT INTO alembic_version VALUES ('zz_future'); CREATE TABLE experiments (experiment_id INTEGER, name TEXT); CREATE TABLE runs (run_uuid TEXT, experiment_id INTEGER); CREATE TABLE metrics (key TEXT, val REAL, run_uuid TEXT); CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT);",
    );
    const e2 = await heatcapErrorOf(readMlflowSqlite(old));
    assert.match(e2.what, /^table metrics: no column "value"; MLflow schema version zz_future is not supported/);
    // Discovery turns such a file into one warning naming it; nothing is listed, nothing throws.
    const folder = join(dir, 'bad-store');
    await (await import('node:fs/promises')).mkdir(folder, { recursive: true });
    await copyFile(other, join(folder, 'mlflow.db'));
    const d = await discoverRuns(folder);
    assert.equal(d.runs.length, 0);
    assert.deepEqual(
      d.warnings.map((w) => [w.file, w.message.replace(/ \(its tables.*$/, '')]),
      [[join(folder, 'mlflow.db'), 'run skipped: table alembic_version: not found, so this is not an MLflow tracking database']],
    );
  });

  it('fuzz: random bytes behind an SQLite header, truncations and byte flips of a real database give only warnings or HeatcapErrors (time-bounded)', async function () {
    this.timeout(60_000);
    const real = new Uint8Array(await readFile(join(FIX, 'deleted-run-mlflow-2.14.db')));
    const f = join(dir, 'fuzz.db');
    const header = new TextEncoder().encode('SQLite format 3\u0000');
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }).map((b) => {
            const out = new Uint8Array(header.length + b.length);
            out.set(header);
            out.set(b, header.length);
            return out;
          }),
          fc.integer({ min: 0, max: real.length }).map((n) => real.slice(0, n)),
          fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 40 }).map((flips) => {
            const b = real.slice();
            for (const [i, v] of flips) b[i] = v;
            return b;
          }),
        ),
        async (bytes) => {
          await writeFile(f, bytes);
          try {
            const s = await readMlflowSqlite(f);
            assert.ok(Array.isArray(s.runs));
          } catch (e) {
            if (!isHeatcapError(e)) throw e;
            assert.equal((e as HeatcapError).file, f);
          }
        },
      ),
      { numRuns: 400, interruptAfterTimeLimit: 20_000 },
    );
    assert.ok(Date.now() - t0 < 45_000);
  });
});
