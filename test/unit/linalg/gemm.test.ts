/**
 * The packed, register-tiled product C = op(A)·op(B) (src/core/linalg/gemm.ts) against a naive triple
 * loop (oracle) on random matrices: odd sizes that are not multiples of the 4×4 tile, depths past the
 * k block (128), transposed operands, offsets into larger arrays, the upper-triangle mode. Tolerance 1e-13
 * relative to Σ|a||b| (reassociation only); the WebAssembly and plain-JS micro-kernels bit for bit equal.
 */
import { strict as assert } from 'node:assert';
import { gemm, gemmRowMajor, gemmUsesWasm, type MatView } from '../../../src/core/linalg/gemm';
import { Rng } from '../../support/oracle/rng';

function random(rng: Rng, len: number): Float64Array {
  return Float64Array.from({ length: len }, () => rng.normal());
}

function at(x: MatView, r: number, c: number): number {
  return x.trans ? x.data[(x.offset ?? 0) + c * x.ld + r] : x.data[(x.offset ?? 0) + r * x.ld + c];
}

/** Naive C = op(A)·op(B) and Σ_p |a_ip||b_pj| (the scale of the rounding error). */
function naive(m: number, k: number, n: number, a: MatView, b: MatView): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        s += at(a, i, p) * at(b, p, j);
        t += Math.abs(at(a, i, p) * at(b, p, j));
      }
      c[i * n + j] = s;
      scale[i * n + j] = t;
    }
  }
  return { c, scale };
}

function check(got: Float64Array, ref: { c: Float64Array; scale: Float64Array }, what: string, only?: (u: number) => boolean): void {
  assert.equal(got.length, ref.c.length, what);
  for (let u = 0; u < got.length; u++) {
    if (only && !only(u)) continue;
    assert.ok(Math.abs(got[u] - ref.c[u]) <= 1e-13 * ref.scale[u] + 1e-300, `${what}: entry ${u}: ${got[u]} vs ${ref.c[u]}`);
  }
}

describe('linalg: gemm (packed 4×4-tiled product) vs a naive triple loop', () => {
  const rng = new Rng(20);
  const shapes: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [13, 7, 1], [1, 300, 9], [65, 650, 33], [5, 129, 6], [4, 128, 4], [9, 257, 11]];

  it(`row-major products on odd sizes (${shapes.map((s) => s.join('×')).join(', ')}), WebAssembly SIMD kernel ${gemmUsesWasm() ? 'on' : 'unavailable'}`, () => {
    for (const [m, k, n] of shapes) {
      const a = random(rng, m * k);
      const b = random(rng, k * n);
      const ref = naive(m, k, n, { data: a, ld: k }, { data: b, ld: n });
      const c = gemmRowMajor(a, b, m, k, n);
      check(c, ref, `${m}×${k}×${n}`);
      const js = gemmRowMajor(a, b, m, k, n, { js: true });
      assert.deepEqual(Array.from(js), Array.from(c), `${m}×${k}×${n}: JS and WebAssembly kernels bit for bit`);
    }
  });

  it('65×650 times 650×650 (the digits layer: F × P and P × P)', () => {
    const [m, k, n] = [65, 650, 650];
    const a = random(rng, m * k);
    const b = random(rng, k * n);
    check(gemmRowMajor(a, b, m, k, n), naive(m, k, n, { data: a, ld: k }, { data: b, ld: n }), '65×650×650');
  });

  it('transposed operands and offsets into larger arrays (sub-blocks), every combination', () => {
    const [m, k, n] = [11, 130, 7];
    const big = random(rng, 200 * 200);
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a: MatView = { data: big, ld: 200, offset: 3 * 200 + 5, trans: ta };
        const b: MatView = { data: big, ld: 190, offset: 17, trans: tb };
        check(gemm(m, k, n, a, b), naive(m, k, n, a, b), `transA ${ta}, transB ${tb}`);
        check(gemm(m, k, n, a, b, { js: true }), naive(m, k, n, a, b), `JS kernel, transA ${ta}, transB ${tb}`);
      }
    }
  });

  it('upper: every entry on or above the diagonal exact (square results 1, 6, 37, 130)', () => {
    for (const p of [1, 6, 37, 130]) {
      const k = 19;
      const a = random(rng, p * k);
      const b = random(rng, p * k);
      const av: MatView = { data: a, ld: k };
      const bv: MatView = { data: b, ld: k, trans: true };
      const ref = naive(p, k, p, av, bv);
      const c = gemm(p, k, p, av, bv, { upper: true });
      check(c, ref, `upper ${p}`, (u) => u % p >= Math.floor(u / p));
      assert.throws(() => gemm(p, k, p + 1, av, { data: b, ld: p + 1 }, { upper: true }), /square/);
    }
  });

  it('empty dimensions give zeros', () => {
    assert.deepEqual(Array.from(gemmRowMajor(new Float64Array(0), new Float64Array(0), 2, 0, 3)), [0, 0, 0, 0, 0, 0]);
    assert.equal(gemmRowMajor(new Float64Array(0), new Float64Array(6), 0, 2, 3).length, 0);
  });
});
