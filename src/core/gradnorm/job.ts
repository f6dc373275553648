import type { DataFiles } from '../data/open';
import type { BackendInfo, BackendPref } from '../tf/backend';
import type { EngineChoice, PartialResult } from './engine';

/** The `gradnorms` worker job: one range of examples of one (model, data, loss) problem. */
export interface GradNormRequest {
  model: string;
  data: DataFiles;
  loss?: string;
  backend: BackendPref;
  engine: EngineChoice;
  /** Examples [start, end); default all. */
  range?: [number, number];
  chunkSize?: number;
  topK?: number;
  diagonal?: boolean;
  /** Send every example's ‖g_b‖² back as `norms` events (for `--per-example`). */
  streamNorms?: boolean;
}

/** Streamed per-example squared norms of examples [start, start + sqNorms.length). */
export interface GradNormEvent {
  start: number;
  sqNorms: Float64Array;
}

export interface GradNormJobResult extends PartialResult {
  backendInfo: BackendInfo;
  /** Model and data loading time (not part of `seconds`). */
  loadSeconds: number;
  n: number;
}
