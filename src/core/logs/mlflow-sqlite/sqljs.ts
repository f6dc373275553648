import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeatcapError } from '../../errors';

/**
 * The few parts of sql.js (SQLite compiled to WebAssembly, npm `sql.js`) this reader uses. The package
 * ships no types; these follow its documented API (https://sql.js.org/documentation/).
 */
export type SqlValue = number | string | Uint8Array | null;

export interface SqlStatement {
  step(): boolean;
  get(): SqlValue[];
  free(): boolean;
}

export interface SqlDatabase {
  exec(sql: string): { columns: string[]; values: SqlValue[][] }[];
  prepare(sql: string): SqlStatement;
  close(): void;
}

interface SqlJsStatic {
  Database: new (data?: Uint8Array) => SqlDatabase;
}

type InitSqlJs = (config: { wasmBinary?: ArrayBuffer | Uint8Array; locateFile?: (f: string) => string }) => Promise<SqlJsStatic>;

let loading: Promise<SqlJsStatic> | undefined;

/**
 * Where `sql-wasm.wasm` lies: beside the bundle (esbuild copies it into dist/), else in the installed
 * package (tests and ts runs from source).
 */
function wasmCandidates(): string[] {
  const out = [join(__dirname, 'sql-wasm.wasm')];
  try {
    out.push(require.resolve('sql.js/dist/sql-wasm.wasm'));
  } catch {
    // not installed as a package: only the bundle's copy can serve
  }
  return out;
}

/** Loads SQLite once per process. The wasm binary is read here and handed over, so no fetch or path guess happens inside. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!loading) {
    loading = (async () => {
      const file = wasmCandidates().find((f) => existsSync(f));
      if (!file) throw new HeatcapError(undefined, 'sql-wasm.wasm (SQLite for WebAssembly) was not found beside the program; reinstall the extension or run `npm install`');
      const wasmBinary = readFileSync(file);
      const init = require('sql.js/dist/sql-wasm.js') as InitSqlJs;
      return init({ wasmBinary });
    })();
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}
