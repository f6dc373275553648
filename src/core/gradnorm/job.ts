import type { DataFiles } from '../data/open';
import { HeatcapError } from '../errors';
import type { BackendInfo, BackendPref } from '../tf/backend';
import type { LossSemantics } from '../engine/loss-head';
import type { RuntimeChoice } from '../engine/runtime';
import type { PartialResult } from './engine';
import type { ParamDescription } from './stats';

/** The `gradnorms` worker job: one range of examples of one (model, data, loss) problem. */
export interface GradNormRequest {
  model: string;
  data: DataFiles;
  loss?: string;
  backend: BackendPref;
  /**
   * `auto` (the ONNX engine; the TF.js per-example loop for a model.json it cannot express), `onnx`,
   * `onnx-loop` (its exact per-example loop), or `naive` (the TF.js per-example loop). `vectorized` is
   * the removed TF.js vectorised engine's name: run as `auto`, with a note (resolveEngine).
   */
  engine: EngineFlag;
  /** ONNX Runtime intra-op threads (ONNX engine). */
  threads?: number;
  provider?: 'cpu' | 'cuda';
  /** ONNX Runtime build (ONNX engine): `auto` (native, else wasm with a note), `native` or `wasm`. */
  runtime?: RuntimeChoice;
  /** Cross-entropy on softmax outputs: exact (from the logits, default) or tfjs-layers' clipped form. */
  semantics?: LossSemantics;
  labelSmoothing?: number;
  /** Parameters SGD did not train, by name or module prefix (`--freeze`; ONNX engine only). */
  frozen?: readonly string[];
  /** Examples [start, end); default all. */
  range?: [number, number];
  chunkSize?: number;
  topK?: number;
  diagonal?: boolean;
  /** Send every example's ‖g_b‖² back as `norms` events (for `--per-example`). */
  streamNorms?: boolean;
}

export type EngineRequest = 'auto' | 'onnx' | 'onnx-loop' | 'naive';
export const ENGINE_REQUESTS: readonly EngineRequest[] = ['auto', 'onnx', 'onnx-loop', 'naive'];
/** What `--engine` and the `heatcap.engine` setting accept: the engines, and the deprecated `vectorized`. */
export type EngineFlag = EngineRequest | 'vectorized';
export const ENGINE_FLAGS: readonly EngineFlag[] = [...ENGINE_REQUESTS, 'vectorized'];

/** Checks an `--engine` value: an engine or the deprecated `vectorized` (undefined: not given). */
export function parseEngineFlag(value: string | undefined): EngineFlag | undefined {
  if (value === undefined) return undefined;
  if (!(ENGINE_FLAGS as readonly string[]).includes(value)) throw new HeatcapError(undefined, `--engine must be one of ${ENGINE_REQUESTS.join(', ')}, got '${value}'`);
  return value as EngineFlag;
}

/**
 * The engine to run for a requested one. `vectorized` named the TensorFlow.js vectorised engine, removed
 * once the ONNX engine covered its layers: it is accepted as `auto` (so existing flags and settings keep
 * working), with the note that says so.
 */
export function resolveEngine(engine: EngineFlag | undefined): { engine: EngineRequest; note?: string } {
  if (engine !== 'vectorized') return { engine: engine ?? 'auto' };
  return { engine: 'auto', note: "engine 'vectorized' is deprecated (the TensorFlow.js vectorised engine was removed): ran 'auto' instead" };
}

/** Streamed per-example squared norms of examples [start, start + sqNorms.length). */
export interface GradNormEvent {
  start: number;
  sqNorms: Float64Array;
}

export interface ModelFacts {
  /** BatchNormalization layers present (scale-invariant weights, THEORY.md §2). */
  hasBatchNorm: boolean;
  /** Weight penalties are part of ℓ_b. */
  hasRegularizers: boolean;
}

export interface GradNormJobResult extends PartialResult {
  backendInfo: BackendInfo;
  /** Model and data loading time (not part of `seconds`). */
  loadSeconds: number;
  n: number;
  modelFacts: ModelFacts;
}

/** The `exact` worker job: per-parameter matrices of a small model (exact.ts). */
export interface ExactRequest {
  model: string;
  data: DataFiles;
  loss?: string;
  backend: BackendPref;
  /** Which matrices to compute. */
  hessian?: boolean;
  perExampleGradients?: boolean;
  /** Include the weight penalties (default true; the theory's refinements use the data loss: false). */
  includePenalty?: boolean;
  maxParams?: number;
}

export interface ExactResult {
  params: ParamDescription[];
  /** P×P row-major Hessian of the mean loss. */
  hessian?: Float64Array;
  /** N×P row-major per-example gradients. */
  perExampleGradients?: Float64Array;
  backendInfo: BackendInfo;
  seconds: number;
}
