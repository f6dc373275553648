import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CancelledError, HeatcapError } from '../../errors';
import type { RunWarning } from '../../runs/model';
import { SeriesSet } from '../series';
import type { LogData, ParamValue, ReadOptions } from '../types';
import { loadSqlJs, type SqlDatabase, type SqlValue } from './sqljs';

/**
 * MLflow's SQL tracking store in an SQLite file (`mlflow.db`, any `sqlite:///…` backend): experiments,
 * runs, params, tags and every metric point with its step. The file is read once into memory and
 * opened there (sql.js, SQLite compiled to WebAssembly): the user's database is never opened by SQLite,
 * so it is never locked, never written, and a run MLflow is writing meanwhile is read as the bytes stood.
 */

/** The 16 bytes every SQLite 3 database starts with. */
const MAGIC = 'SQLite format 3\u0000';
/** MLflow writes ±inf as ±(largest double) and NaN as 0 with `is_nan` set (SqlAlchemyStore.log_metric). */
const MLFLOW_INF = 1.7976931348623157e308;
const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;

export function isSqliteHeader(bytes: Uint8Array): boolean {
  if (bytes.length < 16) return false;
  for (let i = 0; i < 16; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

export interface MlflowSqliteRun {
  experimentId: string;
  experimentName: string;
  runUuid: string;
  /** The `mlflow.runName` tag, else the runs.name column, else undefined. */
  runName?: string;
  status?: string;
  data: LogData;
}

export interface MlflowSqliteStore {
  file: string;
  /** `alembic_version.version_num`: MLflow's schema revision. */
  schemaVersion: string;
  runs: MlflowSqliteRun[];
  /** About the store as a whole: WAL beside it, deleted runs skipped, a damaged header. */
  warnings: RunWarning[];
}

export interface MlflowSqliteOptions extends ReadOptions {
  /** Larger files are refused (the whole file is held in memory). Default 1 GiB. */
  maxBytes?: number;
}

/** Tables and columns the reader needs; a store lacking one is of a schema this reader does not support. */
const REQUIRED: Record<string, string[]> = {
  experiments: ['experiment_id', 'name'],
  runs: ['run_uuid', 'experiment_id'],
  metrics: ['key', 'value', 'run_uuid'],
  params: ['key', 'value', 'run_uuid'],
};

function str(v: SqlValue | undefined): string | undefined {
  if (v === null || v === undefined || v instanceof Uint8Array) return undefined;
  return String(v);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function readMlflowSqlite(file: string, opts: MlflowSqliteOptions = {}): Promise<MlflowSqliteStore> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const st = await stat(file).catch((e: unknown) => {
    throw new HeatcapError(file, `cannot be read (${messageOf(e)})`);
  });
  if (st.size > maxBytes) throw new HeatcapError(file, `MLflow database of ${st.size} bytes is larger than ${maxBytes} bytes, the most read into memory; not read`);
  // One read of the whole file: everything below works on this copy.
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new HeatcapError(file, `cannot be read (${messageOf(e)})`);
  }
  if (bytes.length === 0) throw new HeatcapError(file, 'empty file: not an SQLite database (MLflow may still be creating it)');
  if (!isSqliteHeader(bytes)) throw new HeatcapError(file, 'not an SQLite database (it does not start with "SQLite format 3")');
  const warnings: RunWarning[] = [];
  if (bytes.length < 100) throw new HeatcapError(file, `SQLite header cut short (${bytes.length} of 100 bytes): half-written?`);
  const rawPage = (bytes[16] << 8) | bytes[17];
  const pageSize = rawPage === 1 ? 65536 : rawPage;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw new HeatcapError(file, `SQLite header: page size ${rawPage} is not valid (damaged file?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerPages = view.getUint32(28);
  const changeCounter = view.getUint32(24);
  const validFor = view.getUint32(92);
  if (bytes.length % pageSize !== 0 || (validFor === changeCounter && headerPages * pageSize > bytes.length)) {
    warnings.push({ file, message: `the file (${bytes.length} bytes) is shorter than its SQLite header says or not a whole number of ${pageSize}-byte pages: cut short or still being written; read what SQLite can` });
  }
  const wal = bytes[18] === 2 || bytes[19] === 2;
  if (wal) {
    // Our copy is read in rollback-journal mode: WAL mode needs shared memory beside the file, and the
    // WAL's content is not in these bytes anyway. The user's file is untouched.
    bytes[18] = 1;
    bytes[19] = 1;
  }
  for (const [suffix, what] of [
    ['-wal', 'a write-ahead log lies beside it: changes MLflow has not yet checkpointed into the database file are not read'],
    ['-journal', 'a rollback journal lies beside it: a write was in progress, and the copy read may miss or half-hold it'],
  ] as const) {
    const side = await stat(file + suffix).catch(() => undefined);
    if (side && side.size > 0) warnings.push({ file, message: `${basename(file)}${suffix} (${side.size} bytes): ${what}` });
  }

  const SQL = await loadSqlJs();
  let db: SqlDatabase;
  try {
    db = new SQL.Database(bytes);
  } catch (e) {
    throw new HeatcapError(file, `SQLite could not open it (${messageOf(e)})`);
  }
  try {
    return readStore(db, file, warnings, opts);
  } finally {
    db.close();
  }
}

function readStore(db: SqlDatabase, file: string, warnings: RunWarning[], opts: ReadOptions): MlflowSqliteStore {
  const all = (table: string, sql: string): SqlValue[][] => {
    try {
      return db.exec(sql)[0]?.values ?? [];
    } catch (e) {
      throw new HeatcapError(file, `table ${table}: ${messageOf(e)} (damaged, half-written or not an SQLite database)`);
    }
  };
  const tables = new Set(all('sqlite_master', "SELECT name FROM sqlite_master WHERE type = 'table'").map((r) => str(r[0]) ?? ''));
  if (!tables.has('alembic_version')) {
    throw new HeatcapError(file, `table alembic_version: not found, so this is not an MLflow tracking database${tables.size ? ` (its tables: ${[...tables].slice(0, 8).join(', ')}${tables.size > 8 ? ', …' : ''})` : ' (no tables at all)'}`);
  }
  const versions = all('alembic_version', 'SELECT version_num FROM alembic_version').map((r) => str(r[0]) ?? '');
  const schemaVersion = versions.join(',') || '(none)';
  const columns: Record<string, Set<string>> = {};
  for (const [table, need] of Object.entries(REQUIRED)) {
    if (!tables.has(table)) throw new HeatcapError(file, `table ${table}: not found; MLflow schema version ${schemaVersion} is not supported (not an MLflow tracking store?)`);
    const cols = new Set(all(table, `PRAGMA table_info("${table}")`).map((r) => str(r[1]) ?? ''));
    columns[table] = cols;
    const missing = need.filter((c) => !cols.has(c));
    if (missing.length) throw new HeatcapError(file, `table ${table}: no column ${missing.map((c) => `"${c}"`).join(', ')}; MLflow schema version ${schemaVersion} is not supported`);
  }
  const has = (table: string, col: string): boolean => columns[table]?.has(col) ?? false;
  const stop = (): void => {
    if (opts.shouldStop?.()) throw new CancelledError();
  };

  const experiments = new Map<string, { name: string; deleted: boolean }>();
  for (const r of all('experiments', `SELECT experiment_id, name, ${has('experiments', 'lifecycle_stage') ? 'lifecycle_stage' : 'NULL'} FROM experiments`)) {
    experiments.set(str(r[0]) ?? '', { name: str(r[1]) ?? '', deleted: str(r[2]) === 'deleted' });
  }

  const runCols = ['run_uuid', 'experiment_id', has('runs', 'lifecycle_stage') ? 'lifecycle_stage' : 'NULL', has('runs', 'name') ? 'name' : 'NULL', has('runs', 'status') ? 'status' : 'NULL'];
  const runs = new Map<string, { exp: string; name?: string; status?: string }>();
  let deleted = 0;
  for (const r of all('runs', `SELECT ${runCols.join(', ')} FROM runs ORDER BY ${has('runs', 'start_time') ? 'start_time, ' : ''}run_uuid`)) {
    const uuid = str(r[0]);
    if (!uuid) continue;
    const exp = str(r[1]) ?? '';
    if (str(r[2]) === 'deleted' || experiments.get(exp)?.deleted) {
      deleted++;
      continue;
    }
    runs.set(uuid, { exp, name: str(r[3]) || undefined, status: str(r[4]) });
  }
  if (deleted) warnings.push({ file, message: `${deleted} deleted run(s) skipped (lifecycle_stage 'deleted', theirs or their experiment's)` });

  const runNames = new Map<string, string>();
  if (tables.has('tags')) {
    for (const r of all('tags', "SELECT run_uuid, value FROM tags WHERE key = 'mlflow.runName'")) {
      const v = str(r[1]);
      if (v) runNames.set(str(r[0]) ?? '', v);
    }
  }

  const params = new Map<string, Record<string, ParamValue>>();
  for (const r of all('params', 'SELECT run_uuid, key, value FROM params')) {
    const uuid = str(r[0]) ?? '';
    if (!runs.has(uuid)) continue;
    const p = params.get(uuid) ?? (Object.create(null) as Record<string, ParamValue>);
    params.set(uuid, p);
    const key = str(r[1]);
    if (key !== undefined) p[key] = str(r[2]) ?? '';
  }

  // Metrics, in (run, key, step, timestamp) order: a step logged twice keeps its last write.
  const series = new Map<string, SeriesSet>();
  const bad = new Map<string, number>();
  const stepCol = has('metrics', 'step') ? 'step' : 'NULL';
  const nanCol = has('metrics', 'is_nan') ? 'is_nan' : '0';
  const tsCol = has('metrics', 'timestamp') ? 'timestamp' : 'NULL';
  const order = `run_uuid, key, ${stepCol === 'NULL' ? '' : 'step, '}${tsCol === 'NULL' ? 'rowid' : 'timestamp'}`;
  let stmt;
  try {
    stmt = db.prepare(`SELECT run_uuid, key, value, ${stepCol}, ${tsCol}, ${nanCol} FROM metrics ORDER BY ${order}`);
  } catch (e) {
    throw new HeatcapError(file, `table metrics: ${messageOf(e)} (damaged, half-written or not an SQLite database)`);
  }
  try {
    let n = 0;
    let lastKey = '';
    let index = 0;
    for (;;) {
      let more: boolean;
      let r: SqlValue[];
      try {
        more = stmt.step();
        if (!more) break;
        r = stmt.get();
      } catch (e) {
        throw new HeatcapError(file, `table metrics: ${messageOf(e)} after ${n} rows (damaged or half-written)`);
      }
      if (++n % 8192 === 0) stop();
      const uuid = str(r[0]) ?? '';
      if (!runs.has(uuid)) continue;
      const key = str(r[1]) ?? '';
      const runKey = `${uuid}\u0000${key}`;
      index = runKey === lastKey ? index + 1 : 0;
      lastKey = runKey;
      const isNan = r[5] === 1 || r[5] === '1' || r[5] === 'true';
      let value = isNan ? NaN : typeof r[2] === 'number' ? r[2] : typeof r[2] === 'string' && r[2].trim() !== '' ? Number(r[2]) : undefined;
      if (value === MLFLOW_INF) value = Infinity;
      else if (value === -MLFLOW_INF) value = -Infinity;
      // Very old stores have no step column: a metric's points in time order stand in for steps.
      const step = stepCol === 'NULL' ? index : typeof r[3] === 'number' ? r[3] : Number(str(r[3]) ?? NaN);
      if (value === undefined || (Number.isNaN(value) && !isNan) || !Number.isFinite(step)) {
        bad.set(uuid, (bad.get(uuid) ?? 0) + 1);
        continue;
      }
      const set = series.get(uuid) ?? new SeriesSet();
      series.set(uuid, set);
      const ts = typeof r[4] === 'number' ? r[4] / 1000 : undefined;
      set.push(key, step, value, ts);
    }
  } finally {
    stmt.free();
  }
  stop();

  const out: MlflowSqliteRun[] = [];
  for (const [uuid, r] of runs) {
    const runWarnings: RunWarning[] = [];
    const b = bad.get(uuid);
    if (b) runWarnings.push({ file, message: `table metrics: ${b} row(s) of run ${uuid} without a usable value or step skipped` });
    if (stepCol === 'NULL') runWarnings.push({ file, message: `table metrics has no step column (MLflow before 1.0, schema ${schemaVersion}): each metric's points in time order stand in for steps` });
    const exp = experiments.get(r.exp);
    const runName = runNames.get(uuid) ?? r.name;
    out.push({
      experimentId: r.exp,
      experimentName: exp?.name ?? r.exp,
      runUuid: uuid,
      runName,
      status: r.status,
      data: {
        format: 'mlflow_sqlite',
        files: [file],
        scalars: series.get(uuid)?.finish() ?? {},
        params: [{ label: `MLflow params (${basename(file)})`, file, values: params.get(uuid) ?? Object.create(null) }],
        warnings: runWarnings,
        stepUnit: 'step',
        name: runName,
      },
    });
  }
  return { file, schemaVersion, runs: out, warnings };
}
