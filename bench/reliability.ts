/**
 * Reliability figures for README (issue #10): valid logs with one corrupted region each, read back by the
 * product's readers. For every trial: which records lie entirely outside the damaged bytes, and how many
 * of those came back; anything thrown other than our HeatcapError is counted as a bug. Time-bounded per
 * format (HEATCAP_RELIABILITY_SECONDS, default 8).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isHeatcapError } from '../src/core/errors';
import { readCsvLog, readJsonlLog, readTfeventsLog } from '../src/core/logs/read';
import { frameRecord } from '../src/core/logs/tfevents/framing';
import { encodeFileVersionEvent, encodeScalarEvent } from '../src/core/logs/tfevents/writer';

const SECONDS = Number(process.env.HEATCAP_RELIABILITY_SECONDS ?? 8);
const RECORDS = 2000;

interface Layout {
  bytes: Uint8Array;
  /** Byte range [start, end) of record i (step i). */
  spans: [number, number][];
}

function concat(parts: Uint8Array[]): Layout {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const bytes = new Uint8Array(total);
  const spans: [number, number][] = [];
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    spans.push([at, at + p.length]);
    at += p.length;
  }
  return { bytes, spans };
}

function tfeventsLayout(): Layout {
  const head = frameRecord(encodeFileVersionEvent(1));
  const recs = Array.from({ length: RECORDS }, (_, i) => frameRecord(encodeScalarEvent('loss', 1 + i / 1000, i, 1 + i)));
  const l = concat([head, ...recs]);
  return { bytes: l.bytes, spans: l.spans.slice(1) };
}

function textLayout(header: string, row: (i: number) => string): Layout {
  const enc = new TextEncoder();
  const l = concat([enc.encode(header), ...Array.from({ length: RECORDS }, (_, i) => enc.encode(row(i)))]);
  return { bytes: l.bytes, spans: l.spans.slice(1) };
}

interface Tally {
  trials: number;
  bytesTried: number;
  outside: number;
  recovered: number;
  foreignErrors: number;
  slowestMs: number;
}

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

async function trials(name: string, layout: Layout, file: string, read: () => Promise<Set<number>>): Promise<Tally> {
  const t: Tally = { trials: 0, bytesTried: 0, outside: 0, recovered: 0, foreignErrors: 0, slowestMs: 0 };
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    const b = Uint8Array.from(layout.bytes);
    const len = 1 + rand(48);
    const at = rand(b.length - len);
    for (let i = at; i < at + len; i++) b[i] = rand(256);
    writeFileSync(file, b);
    const outside = layout.spans.map(([s, e], i) => (e <= at || s >= at + len ? i : -1)).filter((i) => i >= 0);
    const t0 = performance.now();
    let got = new Set<number>();
    try {
      got = await read();
    } catch (e) {
      if (!isHeatcapError(e)) {
        t.foreignErrors++;
        console.error(`${name}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
    t.slowestMs = Math.max(t.slowestMs, performance.now() - t0);
    const rec = outside.filter((i) => got.has(i)).length;
    t.trials++;
    t.bytesTried += b.length;
    t.outside += outside.length;
    t.recovered += rec;
  }
  return t;
}

function stepsOf(scalars: Record<string, { steps: number[] }>, tag: string): Set<number> {
  return new Set(scalars[tag]?.steps ?? []);
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heatcap-reliability-'));
  try {
    const results: [string, Tally][] = [];
    const tfDir = path.join(dir, 'tf');
    require('node:fs').mkdirSync(tfDir);
    const tf = tfeventsLayout();
    results.push(['tfevents', await trials('tfevents', tf, path.join(tfDir, 'events.out.tfevents.1'), async () => stepsOf((await readTfeventsLog(tfDir, [{ dir: tfDir, prefix: '' }])).scalars, 'loss'))]);
    const csv = textLayout('step,loss\n', (i) => `${i},${(1 + i / 1000).toFixed(6)}\n`);
    results.push(['CSV', await trials('csv', csv, path.join(dir, 'm.csv'), async () => stepsOf((await readCsvLog(path.join(dir, 'm.csv'))).scalars, 'loss'))]);
    const jsonl = textLayout('', (i) => `{"step": ${i}, "loss": ${(1 + i / 1000).toFixed(6)}}\n`);
    results.push(['JSONL', await trials('jsonl', jsonl, path.join(dir, 'm.jsonl'), async () => stepsOf((await readJsonlLog(path.join(dir, 'm.jsonl'))).scalars, 'loss'))]);
    const rows = results.map(([n, t]) => {
      const lost = t.outside - t.recovered;
      return `| ${n} | ${t.trials} | ${(t.bytesTried / 2 ** 20).toFixed(1)} MiB | ${t.recovered} of ${t.outside} (${lost} lost) | ${t.foreignErrors} | ${t.slowestMs.toFixed(0)} ms |`;
    });
    return [
      '## Reliability: one corrupted region per file',
      '',
      `Valid logs of ${RECORDS} records each; every trial overwrites 1–48 random bytes at a random offset and reads the file back (${SECONDS} s per format).`,
      '"Recovered" counts records lying entirely outside the damaged bytes that came back with the right step.',
      '',
      '| format | trials | corrupted input read | records outside the damage recovered | errors other than HeatcapError | slowest read |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}.`,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().then((md) => console.log(md));
}
