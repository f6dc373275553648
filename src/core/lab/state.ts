import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HeatcapError } from '../errors';
import type { LogMarks } from './logs';

const MAGIC = 'HEATCAP-LAB-STATE 1\n';

/** Everything a run needs to continue exactly where it stopped, besides the parameter arrays. */
export interface RunStateHeader {
  /** Updates done so far (the next step to run). */
  step: number;
  /** The run finished (or diverged): resuming skips it. */
  done: boolean;
  diverged?: boolean;
  lr: number;
  runSeed: number;
  rng: number[];
  cursor: number;
  /** Minibatch losses accumulated for the next `train_loss` window. */
  windowSum: number;
  windowCount: number;
  /** The full-training-set loss at the checkpoint (step 0). */
  checkpointLoss: number;
  /** Log files and their lengths when this state was saved; later bytes are discarded on resume. */
  logs: LogMarks;
  /** Compute seconds spent so far (for steps/s across resumes). */
  seconds: number;
  paramCount: number;
  n: number;
  hasVelocity: boolean;
}

export interface RunState {
  header: RunStateHeader;
  w: Float64Array;
  velocity: Float64Array | null;
  perm: Int32Array;
}

/**
 * Binary layout: the magic line, a uint32 JSON length, the JSON header, zero padding to a multiple of
 * 8 bytes, then float64 w, float64 velocity (when present), int32 permutation. Written to a temporary
 * file and renamed over the old one, so a crash leaves either the old state or the new one.
 */
export async function saveRunState(file: string, s: RunState): Promise<void> {
  const json = Buffer.from(JSON.stringify(s.header), 'utf8');
  const head = MAGIC.length + 4 + json.length;
  const pad = (8 - (head % 8)) % 8;
  const arrays = [s.w, ...(s.velocity ? [s.velocity] : []), s.perm];
  const size = head + pad + arrays.reduce((a, x) => a + x.byteLength, 0);
  const buf = Buffer.alloc(size);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(json.length, MAGIC.length);
  json.copy(buf, MAGIC.length + 4);
  let o = head + pad;
  for (const a of arrays) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, o);
    o += a.byteLength;
  }
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/** A finished run keeps only its header (no arrays): resuming sees it is done. */
export async function saveDoneState(file: string, header: RunStateHeader): Promise<void> {
  await saveRunState(file, { header: { ...header, done: true, hasVelocity: false }, w: new Float64Array(0), velocity: null, perm: new Int32Array(0) });
}

export async function readRunState(file: string): Promise<RunState | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch {
    return undefined;
  }
  const bad = (what: string) => new HeatcapError(file, `is not a readable lab state (${what}); delete it to restart the run`);
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw bad('wrong magic');
  const len = buf.readUInt32LE(MAGIC.length);
  const head = MAGIC.length + 4 + len;
  if (head > buf.length) throw bad('truncated header');
  let header: RunStateHeader;
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, head)) as RunStateHeader;
  } catch {
    throw bad('header is not JSON');
  }
  if (header.done) return { header, w: new Float64Array(0), velocity: null, perm: new Int32Array(0) };
  let o = head + ((8 - (head % 8)) % 8);
  const P = header.paramCount;
  const need = o + 8 * P * (header.hasVelocity ? 2 : 1) + 4 * header.n;
  if (buf.length !== need) throw bad(`${buf.length} bytes, expected ${need}`);
  const f64 = (count: number) => {
    const a = new Float64Array(count);
    Buffer.from(a.buffer).set(buf.subarray(o, o + 8 * count));
    o += 8 * count;
    return a;
  };
  const w = f64(P);
  const velocity = header.hasVelocity ? f64(P) : null;
  const perm = new Int32Array(header.n);
  Buffer.from(perm.buffer).set(buf.subarray(o, o + 4 * header.n));
  return { header, w, velocity, perm };
}
