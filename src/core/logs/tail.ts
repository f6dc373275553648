import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HeatcapError } from '../errors';
import type { RunWarning } from '../runs/model';
import { CsvLogReader } from './csv/reader';
import { JsonlLogReader } from './jsonl';
import { MlflowMetricReader } from './mlflow';
import { isEventFileName } from './read';
import { EventDecoder } from './tfevents/event';
import { readEventFile } from './tfevents/reader';
import { loadTrainerState, trainerStatePoints } from './trainer-state';
import type { ParamValue } from './types';

/**
 * Incremental reading of log files that are still being written (the extension's file watcher calls
 * `poll` on each change). Per file it remembers where the last whole record ended and returns only
 * records completed since, so each record is delivered exactly once; a partial record at the end is
 * left for the next poll. When a file is truncated, replaced, or rewritten with a new header (Lightning
 * rewrites `metrics.csv` when a metric first appears), the update has `reset: true` and carries the
 * whole file again: the caller drops what it had from that file.
 */

export type TailKind = 'tfevents' | 'csv' | 'jsonl' | 'mlflow_metric' | 'trainer_state';

export interface TailPoint {
  tag: string;
  step: number;
  value: number;
  wallTime?: number;
}

export interface TailUpdate {
  file: string;
  kind: TailKind;
  reset: boolean;
  points: TailPoint[];
  /** Hyperparameters found in this update (hparams plugin sessions). */
  hparams: Record<string, ParamValue>[];
  /** Problems in the part read by this poll. */
  warnings: RunWarning[];
  /** Where the next poll starts. */
  offset: number;
}

/** The kind of a log file from its name; MLflow metric files are any file under a `metrics/` folder. */
export function tailKindOf(file: string): TailKind | undefined {
  const name = basename(file).toLowerCase();
  if (isEventFileName(basename(file))) return 'tfevents';
  if (name === 'trainer_state.json') return 'trainer_state';
  if (name.endsWith('.csv') || name.endsWith('.log')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name === 'metrics.json') return 'jsonl';
  if (/[\\/]metrics[\\/]/.test(file)) return 'mlflow_metric';
  return undefined;
}

interface FileState {
  kind: TailKind;
  ino: number;
  dev: number;
  offset: number;
  decoder?: EventDecoder;
  csv?: CsvLogReader;
  jsonl?: JsonlLogReader;
  mlflow?: MlflowMetricReader;
  /** Entries of `log_history` already delivered. */
  entries?: number;
  /** The tag of an MLflow metric file. */
  tag?: string;
  /** Offset of a bad length checksum already reported: not repeated on every poll. */
  stuckAt?: number;
  sink: { points: TailPoint[]; hparams: Record<string, ParamValue>[] };
}

export class LogTail {
  private readonly files = new Map<string, FileState>();

  /** `tag` names an MLflow metric file's metric (default: the file's path below `metrics/`). */
  async poll(file: string, kind: TailKind | undefined = tailKindOf(file), tag?: string): Promise<TailUpdate> {
    if (!kind) throw new HeatcapError(file, 'cannot tell the log format from the file name');
    const st = await stat(file);
    let state = this.files.get(file);
    let reset = false;
    if (state && (state.kind !== kind || state.ino !== st.ino || state.dev !== st.dev || st.size < state.offset || (await this.headerChanged(file, state)))) {
      state = undefined;
      reset = true;
    }
    if (!state) {
      state = this.fresh(file, kind, st.ino, st.dev, tag);
      this.files.set(file, state);
    }
    state.sink.points = [];
    state.sink.hparams = [];
    const warnings = await this.readNew(file, state);
    return { file, kind, reset, points: state.sink.points, hparams: state.sink.hparams, warnings, offset: state.offset };
  }

  forget(file: string): void {
    this.files.delete(file);
  }

  private fresh(file: string, kind: TailKind, ino: number, dev: number, tag?: string): FileState {
    const sink: FileState['sink'] = { points: [], hparams: [] };
    const s: FileState = { kind, ino, dev, offset: 0, sink };
    if (kind === 'tfevents') {
      s.decoder = new EventDecoder({
        scalar: (t, step, wallTime, value) => sink.points.push({ tag: t, step, value, wallTime }),
        hparams: (h) => {
          if (h.kind === 'session_start') sink.hparams.push(h.hparams);
        },
      });
    } else if (kind === 'csv') s.csv = new CsvLogReader(file);
    else if (kind === 'jsonl') s.jsonl = new JsonlLogReader(file);
    else if (kind === 'mlflow_metric') {
      s.mlflow = new MlflowMetricReader(file);
      s.tag = tag ?? file.split(/[\\/]metrics[\\/]/).pop()?.split(/[\\/]/).join('/') ?? basename(file);
    } else s.entries = 0;
    return s;
  }

  /** A CSV whose first line changed was rewritten (new columns): start over. */
  private async headerChanged(file: string, state: FileState): Promise<boolean> {
    const line = state.csv?.headerLine;
    if (line === undefined) return false;
    const want = Buffer.from(line, 'utf8');
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(want.length);
      const { bytesRead } = await fh.read(buf, 0, want.length, 0);
      // Quoted headers are re-joined without their quotes: compare only when the header had none.
      return bytesRead < want.length || (!buf.includes(0x22) && !buf.equals(want));
    } finally {
      await fh.close();
    }
  }

  private async readNew(file: string, s: FileState): Promise<RunWarning[]> {
    const push = (tag: string, step: number, value: number, wallTime?: number): void => {
      s.sink.points.push(wallTime === undefined ? { tag, step, value } : { tag, step, value, wallTime });
    };
    switch (s.kind) {
      case 'tfevents': {
        const res = await readEventFile(file, s.decoder as EventDecoder, { startOffset: s.offset });
        s.offset = res.nextOffset;
        if (res.stop === 'bad_length_crc') {
          if (s.stuckAt === res.nextOffset && res.records === 0) return [];
          s.stuckAt = res.nextOffset;
        }
        return res.problems.map((message) => ({ file, message }));
      }
      case 'csv': {
        const r = s.csv as CsvLogReader;
        await r.readMore(push);
        s.offset = r.offset;
        return [];
      }
      case 'jsonl': {
        const r = s.jsonl as JsonlLogReader;
        await r.readMore(push);
        s.offset = r.offset;
        return [];
      }
      case 'mlflow_metric': {
        const r = s.mlflow as MlflowMetricReader;
        await r.readMore((step, value, wallTime) => push(s.tag as string, step, value, wallTime));
        s.offset = r.offset;
        return [];
      }
      case 'trainer_state': {
        // Rewritten whole at each save: re-read and deliver the entries past those already seen. A file
        // caught half-written does not parse; the next poll will see it whole.
        let state;
        try {
          state = await loadTrainerState(file);
        } catch (e) {
          return [{ file, message: `not readable yet: ${e instanceof Error ? e.message : String(e)}` }];
        }
        const seen = s.entries ?? 0;
        if (state.log_history.length < seen) {
          s.entries = 0;
          s.sink.points.length = 0;
        }
        trainerStatePoints(state.log_history, s.entries ?? 0, push);
        s.entries = state.log_history.length;
        s.offset = (await stat(file)).size;
        return [];
      }
    }
  }
}
