/**
 * ONNX Runtime for the gradient programs, in one of two builds of the same release (one lowering, two
 * runtimes):
 *  - `native`: onnxruntime-node's CPU provider (its binaries ship in the npm package; a platform .vsix
 *    carries one platform's), CUDA when the user installed ORT's CUDA binaries and asked for it;
 *  - `wasm`: onnxruntime-web's WebAssembly build (SIMD, threads through worker_threads), loaded in Node
 *    from the package's own .wasm file beside it (never from the network): the fallback where no native
 *    binary loads (the universal .vsix, an unsupported platform), measured ≈3–5× slower.
 * `auto` takes the native runtime and falls back to wasm with a note. `session.run` is a synchronous
 * native call (and wasm's blocks its thread too), so the engine runs it in a worker thread
 * (job-handler.ts), never on the extension host's thread.
 */
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HeatcapError } from '../errors';
import type { ConstTensor } from '../graph/types';

/** Both builds implement onnxruntime-common's API (InferenceSession, Tensor, env): typed as the native one. */
type Ort = typeof import('onnxruntime-node');

export type RuntimeChoice = 'auto' | 'native' | 'wasm';
export const RUNTIME_CHOICES: readonly RuntimeChoice[] = ['auto', 'native', 'wasm'];

export interface RuntimeInfo {
  /** Package and version that ran, e.g. `onnxruntime-node 1.30.0` or `onnxruntime-web 1.30.0 (wasm)`. */
  runtime: string;
  provider: 'cpu' | 'cuda' | 'wasm';
  threads: number;
  /** Set when the run is not what was asked for: why `auto` fell back to wasm, or why wasm runs fewer threads. */
  fallback?: string;
}

/** A loaded runtime: the module, which build it is, and (for `auto`) why it is not the native one. */
export interface LoadedRuntime {
  kind: 'native' | 'wasm';
  ort: Ort;
  name: string;
  fallback?: string;
}

/** The modules each build is required as. */
export interface RuntimeModules {
  native: string;
  wasm: string;
}

/**
 * HEATCAP_ORT_NATIVE_MODULE names another native build (a path to an onnxruntime-node installed with its
 * CUDA binaries, say); a name that does not resolve behaves as a platform without a native binary.
 */
function defaultModules(): RuntimeModules {
  return { native: process.env.HEATCAP_ORT_NATIVE_MODULE || 'onnxruntime-node', wasm: 'onnxruntime-web' };
}

const loaded = new Map<string, Ort | Error>();
/** The wasm build's thread count is fixed when its module first initialises (once per thread). */
let wasmThreads: number | undefined;

function requireModule(name: string): Ort {
  let m = loaded.get(name);
  if (!m) {
    try {
      // A variable keeps esbuild from bundling the package (it is external and loaded at run time).
      m = require(name) as Ort;
    } catch (e) {
      m = e as Error;
    }
    loaded.set(name, m);
  }
  if (m instanceof Error) throw m;
  return m;
}

function firstLine(e: unknown): string {
  return (e as Error).message.split('\n')[0];
}

function loadWasm(name: string): Ort {
  let o: Ort;
  try {
    o = requireModule(name);
  } catch (e) {
    throw new HeatcapError(undefined, `ONNX Runtime's WebAssembly build (${name}) could not be loaded: ${firstLine(e)}`, { cause: e });
  }
  if (o.env.wasm.wasmPaths === undefined) {
    // The package's own dist folder (its main file lives there), as a file URL: the .mjs is imported, the .wasm read from disk.
    o.env.wasm.wasmPaths = `${pathToFileURL(dirname(require.resolve(name))).href}/`;
    o.env.logLevel = 'error';
  }
  return o;
}

/**
 * The runtime for a choice. `native` and `wasm` load that build or fail with one clear error; `auto`
 * tries the native build first and takes wasm when it does not load, saying why in `fallback`.
 */
export function loadRuntime(choice: RuntimeChoice = 'auto', modules: RuntimeModules = defaultModules()): LoadedRuntime {
  const wasm = (fallback?: string): LoadedRuntime => {
    const o = loadWasm(modules.wasm);
    return { kind: 'wasm', ort: o, name: `onnxruntime-web ${o.env.versions?.web ?? ''}`.trim(), fallback };
  };
  if (choice === 'wasm') return wasm();
  try {
    const o = requireModule(modules.native);
    return { kind: 'native', ort: o, name: `onnxruntime-node ${o.env.versions?.node ?? ''}`.trim() };
  } catch (e) {
    if (choice === 'native') {
      throw new HeatcapError(undefined, `ONNX Runtime (${modules.native}) could not be loaded on this platform: ${firstLine(e)}; --runtime wasm (setting heatcap.engineRuntime) runs the WebAssembly build instead`, { cause: e });
    }
    try {
      return wasm(`the native ONNX Runtime (${modules.native}) could not be loaded on this platform (${firstLine(e)}): ran on its WebAssembly build (onnxruntime-web), several times slower`);
    } catch (w) {
      throw new HeatcapError(undefined, `ONNX Runtime could not be loaded on this platform: ${modules.native}: ${firstLine(e)}; ${modules.wasm}: ${firstLine(w)}`, { cause: w });
    }
  }
}

/** The module of the `auto` runtime (for code that only needs its Tensor class). */
export function ort(choice: RuntimeChoice = 'auto'): Ort {
  return loadRuntime(choice).ort;
}

export interface SessionOptions {
  threads: number;
  provider?: 'cpu' | 'cuda';
  /** Which build of ONNX Runtime (default `auto`: native, else wasm with a note). */
  runtime?: RuntimeChoice;
}

export type Session = import('onnxruntime-node').InferenceSession;

export async function createSession(bytes: Uint8Array, opts: SessionOptions, file: string): Promise<{ session: Session; info: RuntimeInfo; ort: Ort }> {
  const rt = loadRuntime(opts.runtime);
  const o = rt.ort;
  const provider = opts.provider ?? 'cpu';
  const asked = Math.max(1, opts.threads);
  let threads = asked;
  if (rt.kind === 'wasm') {
    if (provider === 'cuda') throw new HeatcapError(undefined, `ONNX Runtime's CUDA provider needs the native runtime (onnxruntime-node); this run has ${rt.name} (${rt.fallback ?? 'asked for by --runtime wasm'})`);
    // Set before the first session initialises the module; later sessions in this thread share its pool.
    if (wasmThreads === undefined) o.env.wasm.numThreads = threads;
    wasmThreads ??= threads;
    threads = wasmThreads;
  }
  try {
    const session = await o.InferenceSession.create(bytes, {
      executionProviders: [rt.kind === 'wasm' ? 'wasm' : provider],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // ORT's optimiser warnings ("cannot remove node …") are about its own rewrites, not the user's model;
      // its error lines (coloured, on stderr) repeat what the thrown error says, which names the file.
      logSeverityLevel: 4,
    });
    let fallback = rt.fallback;
    if (rt.kind === 'wasm') {
      // onnxruntime-web drops to 1 thread where WebAssembly threads are unavailable; a pool sized by an earlier session stays.
      threads = o.env.wasm.numThreads ?? threads;
      if (threads < asked) {
        const why = threads < (wasmThreads ?? asked) ? 'WebAssembly threads are not available here' : 'its thread pool was sized by an earlier session in this thread';
        fallback = [fallback, `${rt.name} ran ${threads} thread${threads === 1 ? '' : 's'}, not the ${asked} asked for: ${why}`].filter(Boolean).join('; ');
      }
    }
    return { session, info: { runtime: rt.kind === 'wasm' ? `${rt.name} (wasm)` : rt.name, provider: rt.kind === 'wasm' ? 'wasm' : provider, threads, fallback }, ort: o };
  } catch (e) {
    const msg = firstLine(e);
    if (provider === 'cuda') throw new HeatcapError(undefined, `ONNX Runtime's CUDA provider is not available (${msg}); install onnxruntime-node with its CUDA binaries or use --provider cpu`, { cause: e });
    throw new HeatcapError(file, `ONNX Runtime rejected the gradient program built from this model: ${msg}`, { cause: e });
  }
}

export function toOrtTensor(t: ConstTensor, o: Ort = ort()): import('onnxruntime-node').Tensor {
  return new o.Tensor(t.dtype, t.data as Float32Array, t.dims);
}
