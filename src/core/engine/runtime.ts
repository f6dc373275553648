/**
 * ONNX Runtime for the gradient programs: onnxruntime-node's native CPU provider (its binaries ship in
 * the npm package), CUDA when the user installed ORT's CUDA binaries and asked for it. `session.run` is a
 * synchronous native call, so the engine runs it in a worker thread (job-handler.ts), never on the
 * extension host's thread.
 */
import { HeatcapError } from '../errors';
import type { ConstTensor } from '../graph/types';

type Ort = typeof import('onnxruntime-node');

export interface RuntimeInfo {
  runtime: string;
  provider: 'cpu' | 'cuda';
  threads: number;
}

let ortModule: Ort | undefined;

/** Loaded lazily: the extension host never needs the native binding. */
export function ort(): Ort {
  if (!ortModule) {
    try {
      // A variable keeps esbuild from bundling the native package (it is external and loaded at run time).
      const name = 'onnxruntime-node';
      ortModule = require(name) as Ort;
    } catch (e) {
      throw new HeatcapError(undefined, `ONNX Runtime (onnxruntime-node) could not be loaded on this platform: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
  }
  return ortModule;
}

export interface SessionOptions {
  threads: number;
  provider?: 'cpu' | 'cuda';
}

export async function createSession(bytes: Uint8Array, opts: SessionOptions, file: string): Promise<{ session: import('onnxruntime-node').InferenceSession; info: RuntimeInfo }> {
  const o = ort();
  const provider = opts.provider ?? 'cpu';
  try {
    const session = await o.InferenceSession.create(bytes, {
      executionProviders: [provider],
      intraOpNumThreads: Math.max(1, opts.threads),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // ORT's optimiser warnings ("cannot remove node …") are about its own rewrites, not the user's model.
      logSeverityLevel: 3,
    });
    return { session, info: { runtime: `onnxruntime-node ${o.env.versions?.node ?? ''}`.trim(), provider, threads: Math.max(1, opts.threads) } };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    if (provider === 'cuda') throw new HeatcapError(undefined, `ONNX Runtime's CUDA provider is not available (${msg}); install onnxruntime-node with its CUDA binaries or use --provider cpu`, { cause: e });
    throw new HeatcapError(file, `ONNX Runtime rejected the gradient program built from this model: ${msg}`, { cause: e });
  }
}

export function toOrtTensor(t: ConstTensor): import('onnxruntime-node').Tensor {
  const o = ort();
  return new o.Tensor(t.dtype, t.data as Float32Array, t.dims);
}
