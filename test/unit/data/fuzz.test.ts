import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isHeatcapError } from '../../../src/core/errors';
import { readNpy } from '../../../src/core/data/npy';
import { NpzArchive } from '../../../src/core/data/npz';

// Property: whatever the bytes, the readers either return arrays consistent with the file or throw a
// HeatcapError — never another error (a RangeError would mean we allocated from a claimed size),
// never a hang. Seeded, so failures reproduce.
const dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
const fx = (n: string) => readFileSync(join(__dirname, 'fixtures', n));

const mutation = (len: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat({ max: len - 1 }), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat({ max: len }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat({ max: len }), bytes: fc.uint8Array({ maxLength: 16 }) }),
  );

function mutate(src: Uint8Array, ms: { kind: string; at: number; byte?: number; bytes?: Uint8Array }[]): Uint8Array {
  let b = Uint8Array.from(src);
  for (const m of ms) {
    const at = Math.min(m.at, b.length);
    if (m.kind === 'set' && at < b.length) b[at] = m.byte!;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...m.bytes!, ...b.subarray(at)]);
  }
  return b;
}

function onlyHeatcapErrors(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isHeatcapError(e), `unexpected ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

describe('fuzzing the npy/npz readers (fast-check, seeded)', () => {
  for (const name of ['f32_2x3.npy', 'v2_2x3.npy', 'i64_4.npy', 'f64_be_2x3.npy']) {
    it(`mutated ${name}: arrays or a HeatcapError`, () => {
      const src = fx(name);
      fc.assert(
        fc.property(fc.array(mutation(src.length), { minLength: 1, maxLength: 4 }), (ms) => {
          const p = join(dir, 'm.npy');
          writeFileSync(p, mutate(src, ms));
          onlyHeatcapErrors(() => {
            const r = readNpy(p);
            assert.equal(r.data.length, r.shape.reduce((a, b) => a * b, 1));
          });
        }),
        { numRuns: 300, seed: 7 },
      );
    });
  }

  it('headers claiming huge shapes or header lengths fail without allocating', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 2 ** 53 }), fc.constant(2 ** 40)), { minLength: 1, maxLength: 4 }), fc.constantFrom('<f4', '<f8', '|u1', '<i8'), (shape, descr) => {
        const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`.padEnd(118) + '\n';
        const bytes = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length, 0]), Buffer.from(dict, 'latin1'), Buffer.alloc(16)]);
        const p = join(dir, 'h.npy');
        writeFileSync(p, bytes);
        onlyHeatcapErrors(() => readNpy(p));
      }),
      { numRuns: 200, seed: 8 },
    );
  });

  for (const name of ['xy_stored.npz', 'xy_deflated.npz']) {
    it(`mutated ${name}: arrays or a HeatcapError`, () => {
      const src = fx(name);
      fc.assert(
        fc.property(fc.array(mutation(src.length), { minLength: 1, maxLength: 4 }), (ms) => {
          const p = join(dir, 'm.npz');
          writeFileSync(p, mutate(src, ms));
          onlyHeatcapErrors(() => {
            const z = NpzArchive.open(p);
            try {
              for (const k of z.keys) {
                const a = z.array(k);
                const out = new Float64Array(a.n * a.rowSize);
                a.readRows(0, a.n, out);
              }
            } finally {
              z.close();
            }
          });
        }),
        { numRuns: 300, seed: 9 },
      );
    });
  }
});
