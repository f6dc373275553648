/**
 * Which log file "Reveal Log File" shows, and how. Discovery lists each run's files (`heatcap runs
 * --json`, `files`), the run's own before its splits (Keras `train/` before `validation/`), so the first
 * one still on disk is the run's main log. No `vscode` import (unit-tested).
 */
import { basename } from 'node:path';
import { isEventFileName } from '../../core/logs/read';

/** Text logs larger than this are revealed, not opened: the editor would load all of it. */
export const MAX_OPEN_BYTES = 20 * 1024 * 1024;

export interface LogFileStat {
  isFile: boolean;
  size: number;
}

export type LogFileAction = { file: string; action: 'open' | 'reveal' };

/**
 * The first listed file that exists: opened in an editor when it is text of a readable size (CSV,
 * JSONL, trainer_state.json, MLflow metric files), revealed when it is a binary TensorBoard event file
 * or too large. Undefined when none of the listed files is there any more.
 */
export async function pickLogFile(files: readonly string[], stat: (file: string) => Promise<LogFileStat | undefined>): Promise<LogFileAction | undefined> {
  for (const file of files) {
    const st = await stat(file);
    if (!st?.isFile) continue;
    const text = !isEventFileName(basename(file));
    return { file, action: text && st.size <= MAX_OPEN_BYTES ? 'open' : 'reveal' };
  }
  return undefined;
}
