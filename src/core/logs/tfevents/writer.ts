import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ProtoWriter } from './encode';
import { frameRecord } from './framing';
import { HPARAMS_PLUGIN, SCALARS_PLUGIN } from './event';

/**
 * Writes TensorBoard event files that TensorBoard, and our reader, can read: a file-version record,
 * scalars as `simple_value` (PyTorch style) or as a one-element float tensor with plugin `scalars`
 * (TF2 style), and hyperparameters as an hparams-plugin `session_start_info`. Records are appended
 * whole with one write each, so a crash leaves at most one partial record at the end, which readers
 * treat as "not written yet".
 */

export type ScalarEncoding = 'simple_value' | 'tensor';

const DT_FLOAT = 1;

export function encodeFileVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter().double(1, wallTime).string(3, 'brain.Event:2').finish();
}

/** One Event holding one scalar. The TF2 form carries SummaryMetadata (plugin `scalars`) every time. */
export function encodeScalarEvent(tag: string, value: number, step: number, wallTime: number, encoding: ScalarEncoding = 'simple_value'): Uint8Array {
  const v = new ProtoWriter().string(1, tag);
  if (encoding === 'simple_value') v.float(2, value);
  else {
    const plugin = new ProtoWriter().string(1, SCALARS_PLUGIN).finish();
    const meta = new ProtoWriter().bytes(1, plugin).uint(4, 1).finish();
    const dv = new DataView(new ArrayBuffer(4));
    dv.setFloat32(0, value, true);
    const tensor = new ProtoWriter()
      .uint(1, DT_FLOAT)
      .bytes(2, new Uint8Array(0)) // rank-0 shape
      .bytes(4, new Uint8Array(dv.buffer))
      .finish();
    v.bytes(9, meta).bytes(8, tensor);
  }
  const summary = new ProtoWriter().bytes(1, v.finish()).finish();
  return new ProtoWriter().double(1, wallTime).uint(2, step).bytes(5, summary).finish();
}

/** An Event whose only value carries hparams plugin data with a `session_start_info`. */
export function encodeHparamsEvent(hparams: Record<string, string | number | boolean>, wallTime: number, groupName = ''): Uint8Array {
  const session = new ProtoWriter();
  for (const [k, val] of Object.entries(hparams)) {
    const value = new ProtoWriter();
    if (typeof val === 'number') value.double(2, val);
    else if (typeof val === 'string') value.string(3, val);
    else value.uint(4, val ? 1 : 0);
    session.bytes(1, new ProtoWriter().string(1, k).bytes(2, value.finish()).finish());
  }
  if (groupName) session.string(4, groupName);
  session.double(5, wallTime);
  const content = new ProtoWriter().uint(1, 0).bytes(3, session.finish()).finish();
  const plugin = new ProtoWriter().string(1, HPARAMS_PLUGIN).bytes(2, content).finish();
  const meta = new ProtoWriter().bytes(1, plugin).finish();
  const value = new ProtoWriter().string(1, '_hparams_/session_start_info').bytes(9, meta).finish();
  const summary = new ProtoWriter().bytes(1, value).finish();
  return new ProtoWriter().double(1, wallTime).bytes(5, summary).finish();
}

export interface TfeventsWriterOptions {
  /** Scalars as `simple_value` (default) or as TF2 tensors. */
  encoding?: ScalarEncoding;
  /** Clock for wall times, in seconds (tests pass a fixed one). */
  now?: () => number;
  /** Appended to the file name, like TensorFlow's `filename_suffix`. */
  filenameSuffix?: string;
}

let fileCounter = 0;

export class TfeventsWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private readonly opts: TfeventsWriterOptions,
  ) {}

  /** Creates `dir` if needed and a new `events.out.tfevents.<secs>.<host>.<pid>.<n>` file in it. */
  static async create(dir: string, opts: TfeventsWriterOptions = {}): Promise<TfeventsWriter> {
    await mkdir(dir, { recursive: true });
    const now = opts.now ?? (() => Date.now() / 1000);
    const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '_') || 'localhost';
    const name = `events.out.tfevents.${Math.floor(now())}.${host}.${process.pid}.${fileCounter++}${opts.filenameSuffix ?? ''}`;
    const file = join(dir, name);
    const fh = await open(file, 'a');
    const w = new TfeventsWriter(file, fh, opts);
    w.push(encodeFileVersionEvent(now()));
    await w.flush();
    return w;
  }

  private now(): number {
    return (this.opts.now ?? (() => Date.now() / 1000))();
  }

  private push(event: Uint8Array): void {
    const rec = frameRecord(event);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
  }

  addScalar(tag: string, value: number, step: number, encoding: ScalarEncoding = this.opts.encoding ?? 'simple_value'): void {
    this.push(encodeScalarEvent(tag, value, step, this.now(), encoding));
  }

  addHparams(hparams: Record<string, string | number | boolean>, groupName = ''): void {
    this.push(encodeHparamsEvent(hparams, this.now(), groupName));
  }

  /** Appends everything added so far in one write. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const all = new Uint8Array(this.pendingBytes);
    let o = 0;
    for (const p of this.pending) {
      all.set(p, o);
      o += p.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.write(all);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }
}
