import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeatcapError } from '../../../src/core/errors';
import { NpyFileSource, NpyWriter, readNpy, writeNpy } from '../../../src/core/data/npy';
import { NpzArchive } from '../../../src/core/data/npz';

// Oracle: the fixtures were written by NumPy 2.x (fixtures/make_fixtures.py); expected values are the
// arrays that script saved, so every comparison is exact (tolerance 0).
const fx = (name: string) => join(__dirname, 'fixtures', name);
const A = [0, 0.25, 0.5, 0.75, 1, 1.25];

describe('npy reader (oracle: files written by NumPy; exact)', () => {
  it('reads float32 C-order with shape', () => {
    const r = readNpy(fx('f32_2x3.npy'));
    assert.deepEqual(r.shape, [2, 3]);
    assert.deepEqual([...r.data], A);
    assert.equal(r.integer, false);
  });

  it('reads big-endian float64, float16 and a version 2.0 header', () => {
    assert.deepEqual([...readNpy(fx('f64_be_2x3.npy')).data], A);
    assert.deepEqual([...readNpy(fx('f16_2x3.npy')).data], A);
    assert.deepEqual([...readNpy(fx('v2_2x3.npy')).data], A);
  });

  it('reads integer, uint8 and bool arrays as exact numbers', () => {
    assert.deepEqual([...readNpy(fx('i64_4.npy')).data], [0, -3, 7, 2 ** 40]);
    const u8 = readNpy(fx('u8_2x2.npy'));
    assert.deepEqual([...u8.data], [0, 255, 17, 3]);
    assert.equal(u8.integer, true);
    assert.deepEqual([...readNpy(fx('i16_3.npy')).data], [-2, 0, 300]);
    assert.deepEqual([...readNpy(fx('bool_3.npy')).data], [1, 0, 1]);
  });

  it('reads row ranges', () => {
    const s = NpyFileSource.open(fx('f32_2x3.npy'));
    const out = new Float32Array(3);
    s.readRows(1, 1, out);
    s.close();
    assert.deepEqual([...out], [0.75, 1, 1.25]);
  });

  for (const [file, pattern] of [
    ['fortran_2x3.npy', /Fortran-ordered arrays are not supported/],
    ['object_2.npy', /object arrays .* are not supported/],
    ['structured_2.npy', /structured \(record\) arrays are not supported/],
    ['scalar.npy', /0-d \(scalar\) array has no rows/],
  ] as const) {
    it(`rejects ${file} with a HeatcapError naming the file`, () => {
      assert.throws(
        () => readNpy(fx(file)),
        (e: unknown) => e instanceof HeatcapError && e.file === fx(file) && pattern.test(e.what),
      );
    });
  }

  it('rejects a truncated file without allocating its claimed size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    const bytes = readFileSync(fx('f32_2x3.npy'));
    const p = join(dir, 'cut.npy');
    writeFileSync(p, bytes.subarray(0, bytes.length - 4));
    assert.throws(() => readNpy(p), /truncated: shape \(2, 3\) needs 24 bytes, the file has 20/);
  });

  it('round-trips through writeNpy and the streaming float64 writer (out-of-order chunks)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    const p = join(dir, 'w.npy');
    writeNpy(p, new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
    assert.deepEqual(readNpy(p).shape, [3, 2]);
    const q = join(dir, 'n.npy');
    const w = new NpyWriter(q, 5);
    w.write(3, new Float64Array([4, 5]));
    w.write(0, new Float64Array([1, 2, 3]));
    w.close();
    const r = readNpy(q);
    assert.deepEqual(r.shape, [5]);
    assert.deepEqual([...r.data], [1, 2, 3, 4, 5]);
  });
});

describe('npz reader (oracle: np.savez / np.savez_compressed; exact)', () => {
  const X = Array.from({ length: 24 }, (_, i) => (i - 5) / 8);
  for (const f of ['xy_stored.npz', 'xy_deflated.npz']) {
    it(`reads both members of ${f}`, () => {
      const z = NpzArchive.open(fx(f));
      assert.deepEqual(z.keys.sort(), ['x', 'y']);
      const x = z.array('x');
      assert.deepEqual([x.n, ...x.rowShape], [4, 2, 3]);
      const xs = new Float64Array(24);
      x.readRows(0, 4, xs);
      assert.deepEqual([...xs], X);
      const y = z.array('y');
      const ys = new Float64Array(4);
      y.readRows(0, 4, ys);
      assert.deepEqual([...ys], [1, 0, 2, 1]);
      assert.equal(y.integer, true);
      z.close();
    });
  }

  it('names the available arrays when a key is missing', () => {
    const z = NpzArchive.open(fx('xy_stored.npz'));
    assert.throws(() => z.array('labels'), /has no array 'labels' \(it holds: x, y\)/);
    z.close();
  });
});
