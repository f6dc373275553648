import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/** Which TensorFlow.js backend to run on; `auto` takes the fastest one that starts. */
export type BackendPref = 'auto' | 'wasm' | 'node' | 'cpu';
export const BACKEND_PREFS: readonly BackendPref[] = ['auto', 'wasm', 'node', 'cpu'];

export interface BackendInfo {
  /** The backend that actually runs: `node`, `wasm` or `cpu`. */
  name: 'node' | 'wasm' | 'cpu';
  /** Why it is not the one asked for (e.g. "tfjs-node is not installed; using wasm"). */
  note?: string;
}

const WASM_FILE = 'tfjs-backend-wasm.wasm';

/**
 * The folder holding the wasm binaries: next to the running bundle (`dist/`, where esbuild.mjs copies
 * them) or, when running from sources through tsx, the package's own `dist/` in node_modules.
 */
export function wasmBinaryDir(): string | undefined {
  if (existsSync(join(__dirname, WASM_FILE))) return __dirname;
  try {
    const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    if (existsSync(join(dir, WASM_FILE))) return dir;
  } catch {
    // Not resolvable from a bundle without node_modules: fall through to "not found".
  }
  return undefined;
}

/**
 * tfjs-node is an optional native accelerator. It is required lazily (never bundled: esbuild marks it
 * external) and shares tfjs-core's global engine, so registering it here makes `tensorflow` available.
 */
function tryNode(): string | undefined {
  try {
    // A variable module name keeps bundlers from resolving it at build time.
    const name = '@tensorflow/tfjs-node';
    require(name);
    return tf.findBackendFactory('tensorflow') ? undefined : 'tfjs-node loaded but registered no backend';
  } catch (e) {
    return `@tensorflow/tfjs-node is not installed (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
}

let wasmPathsSet = false;

async function tryWasm(): Promise<string | undefined> {
  const dir = wasmBinaryDir();
  if (!dir) return `the wasm binaries (${WASM_FILE}) were found neither next to the bundle nor in node_modules`;
  if (!wasmPathsSet) {
    setWasmPaths(`${dir}/`);
    wasmPathsSet = true;
  }
  try {
    return (await tf.setBackend('wasm')) ? undefined : 'the wasm backend failed to initialise';
  } catch (e) {
    return `the wasm backend failed to initialise (${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * Selects and initialises a backend. `auto` tries tfjs-node, then wasm, then the pure-JS cpu backend
 * (25–40× slower than wasm, PERFORMANCE-NOTES.md); an explicit choice that cannot start falls back the
 * same way and says why in `note`. The result always names the backend that runs.
 */
export async function initBackend(pref: BackendPref = 'auto'): Promise<BackendInfo> {
  // tfjs prints a "you are running in Node.js" banner and other console chatter unless PROD is set;
  // the CLI's stderr is for our own messages.
  tf.env().set('PROD', true);
  const notes: string[] = [];
  if (pref === 'auto' || pref === 'node') {
    const why = tryNode();
    if (!why && (await tf.setBackend('tensorflow'))) return { name: 'node' };
    notes.push(why ?? 'tfjs-node failed to initialise');
  }
  if (pref !== 'cpu') {
    const why = await tryWasm();
    if (!why) return notes.length && pref === 'node' ? { name: 'wasm', note: `${notes.join('; ')}; using wasm` } : { name: 'wasm' };
    notes.push(why);
  }
  await tf.setBackend('cpu');
  return pref === 'cpu' ? { name: 'cpu' } : { name: 'cpu', note: `${notes.join('; ')}; using the pure-JS cpu backend` };
}

/** The backend tfjs is running on now, in our names. */
export function currentBackend(): BackendInfo['name'] {
  const b = tf.getBackend();
  return b === 'tensorflow' ? 'node' : b === 'wasm' ? 'wasm' : 'cpu';
}
