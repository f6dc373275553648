import type { RunWarning } from '../runs/model';
import { isUsableStep, parseNumberCell } from './numbers';
import { tryParseJsonLenient } from './json-lenient';
import { streamText, type TextStreamOptions } from './text-stream';
import { flattenParams } from './types';

/**
 * JSONL metric logs: one JSON object per line with a step key (`step`, `global_step`, `iteration`
 * (detectron2), `_step` (Weights & Biases history), `epoch`, …). Nested objects become `a/b` tags.
 * Lines that do not parse are skipped and counted; every other line is kept.
 */

export const STEP_KEYS = ['step', 'global_step', 'trainer/global_step', '_step', 'iteration', 'iter', 'it', 'epoch'];

export function findStepKey(obj: Record<string, unknown>): string | undefined {
  for (const k of STEP_KEYS) if (isUsableStep(asNumber(obj[k]))) return k;
  return undefined;
}

function asNumber(v: unknown): number | null | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseNumberCell(v);
  return undefined;
}

export class JsonlLogReader {
  offset = 0;
  stepKey: string | undefined;
  private lineNo = 0;
  private badLines: number[] = [];
  private badCount = 0;
  private noStep = 0;
  private partialLast: number | undefined;

  constructor(readonly file: string) {}

  async readMore(onPoint: (tag: string, step: number, value: number) => void, opts: TextStreamOptions = {}): Promise<{ fileBytes: number; lineTooLong?: number }> {
    const res = await streamText(
      this.file,
      (text, final) => {
        let i = 0;
        while (i < text.length) {
          const nl = text.indexOf('\n', i);
          if (nl < 0 && !final) break;
          const end = nl < 0 ? text.length : nl;
          this.line(text.slice(i, end), onPoint, nl < 0);
          i = nl < 0 ? text.length : nl + 1;
        }
        return i;
      },
      { ...opts, startOffset: this.offset },
    );
    this.offset = res.nextOffset;
    return res;
  }

  /** `unterminated`: the file's last line, with no line end yet (a one-shot read of a file being written). */
  private line(line: string, onPoint: (tag: string, step: number, value: number) => void, unterminated = false): void {
    this.lineNo++;
    if (line.trim() === '') return;
    const obj = tryParseJsonLenient(line);
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      if (unterminated) {
        this.partialLast = this.lineNo;
        return;
      }
      this.badCount++;
      if (this.badLines.length < 5) this.badLines.push(this.lineNo);
      return;
    }
    const rec = obj as Record<string, unknown>;
    this.stepKey ??= findStepKey(rec);
    const step = this.stepKey === undefined ? undefined : asNumber(rec[this.stepKey]);
    if (!isUsableStep(step)) {
      this.noStep++;
      return;
    }
    const flat = flattenParams(rec, '/');
    for (const k in flat) {
      if (k === this.stepKey) continue;
      const v = flat[k];
      if (typeof v === 'number') onPoint(k, step, v);
    }
  }

  warnings(): RunWarning[] {
    const w: RunWarning[] = [];
    if (this.badCount) w.push({ file: this.file, message: `${this.badCount} line(s) were not JSON objects and were skipped (line ${this.badLines.join(', ')}${this.badCount > this.badLines.length ? ', …' : ''})` });
    if (this.partialLast !== undefined) w.push({ file: this.file, message: `the last line (${this.partialLast}) has no line end and is not a whole JSON object yet (still being written?); skipped` });
    if (this.noStep) w.push({ file: this.file, message: `${this.noStep} line(s) without a usable step (${this.stepKey ?? STEP_KEYS.join('/')}) were skipped` });
    return w;
  }
}
