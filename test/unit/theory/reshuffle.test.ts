import { strict as assert } from 'node:assert';
import { reshuffleDirectionExcess, reshufflePrediction } from '../../../src/core/theory/reshuffle';
import { Rng } from '../../support/oracle/rng';
import { relClose } from './helpers';

/** THEORY.md §3's B = 1 formula, transcribed literally (direct powers): the closed-form oracle. */
function theoryB1(h: number, sigma2: number, eta: number, N: number): number {
  const a = 1 - eta * h;
  const S = (k: number): number => (N * (1 - a ** (2 * k))) / (1 - a * a) - ((1 - a ** k) / (1 - a)) ** 2;
  const V0 = (eta * eta * sigma2 * S(N)) / ((N - 1) * (1 - a ** (2 * N)));
  let sum = 0;
  for (let k = 0; k < N; k++) sum += a ** (2 * k) * V0 + (eta * eta * sigma2 * S(k)) / (N - 1);
  return (h / 2) * (sum / N);
}

/**
 * Monte Carlo of the additive-noise model the formula describes: e ← (I − ηH)e − η·(batch mean of
 * g_b), batches from a fresh permutation each epoch (drop_last). Returns mean of ½eᵀHe over steps
 * and its standard error from batch means over epochs.
 */
function monteCarlo(H: number[][], G: number[][], B: number, eta: number, epochs: number, seed: number): { mean: number; se: number } {
  const rng = new Rng(seed);
  const N = G.length;
  const d = H.length;
  const m = Math.floor(N / B);
  const perm = Array.from({ length: N }, (_, i) => i);
  let e = new Array<number>(d).fill(0);
  const burn = Math.ceil(20 / (eta * Math.min(...H.map((r, i) => r[i]))) / m) + 10;
  const nb = 50;
  const per = Math.floor(epochs / nb);
  const bm: number[] = [];
  let acc = 0;
  let cnt = 0;
  for (let ep = 0; ep < burn + nb * per; ep++) {
    rng.shuffle(perm);
    for (let t = 0; t < m; t++) {
      if (ep >= burn) {
        let q = 0;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q += e[i] * H[i][j] * e[j];
        acc += 0.5 * q;
        cnt++;
      }
      const gb = new Array<number>(d).fill(0);
      for (let i = 0; i < B; i++) for (let j = 0; j < d; j++) gb[j] += G[perm[t * B + i]][j] / B;
      e = e.map((_, i) => e[i] - eta * (H[i].reduce((s, h, j) => s + h * e[j], 0) + gb[i]));
    }
    if (ep >= burn && (ep - burn + 1) % per === 0) {
      bm.push(acc / cnt);
      acc = 0;
      cnt = 0;
    }
  }
  const mean = bm.reduce((s, v) => s + v, 0) / nb;
  const sd = Math.sqrt(bm.reduce((s, v) => s + (v - mean) ** 2, 0) / (nb - 1));
  return { mean, se: sd / Math.sqrt(nb) };
}

/** N per-example scalars with mean exactly 0 and population variance exactly σ². */
function centredNoise(rng: Rng, N: number, sigma2: number): number[] {
  const z = Array.from({ length: N }, () => rng.normal());
  const mu = z.reduce((s, v) => s + v, 0) / N;
  const c = z.map((v) => v - mu);
  const v = c.reduce((s, x) => s + x * x, 0) / N;
  return c.map((x) => x * Math.sqrt(sigma2 / v));
}

describe('random reshuffling model (THEORY.md §3)', () => {
  it('B = 1 equals the THEORY.md §3 formula transcribed literally (oracle: closed form; tol 1e-9)', () => {
    for (const [h, eta, N] of [[0.5, 0.01, 10], [2, 0.1, 50], [1, 0.3, 7], [0.1, 0.05, 100]]) {
      relClose(reshuffleDirectionExcess(h, 1.7, eta, N, 1), theoryB1(h, 1.7, eta, N), 1e-9, `h=${h} η=${eta} N=${N}`);
    }
  });

  it('small η·h·N/B: the excess is quadratic, η²N·hσ²/(12B²) (oracle: THEORY.md §3 limit; tol 0.5% at m = 100)', () => {
    for (const eta of [1e-5, 1e-4]) relClose(reshuffleDirectionExcess(1, 1, eta, 1000, 10), (eta * eta * 1000) / (12 * 100), 5e-3, `η=${eta}`);
  });

  it('large η·h·N/B: matches independent batches without replacement, ησ²(N−B)/(2B(N−1)(2−ηh)) (oracle: i.i.d. additive-noise closed form; the gap shrinks like 1/(ηhm): 1.8% at ηhm = 100, tol 0.3% at ηhm = 1000)', () => {
    const [h, eta, N, B] = [1, 0.1, 10000, 1];
    relClose(reshuffleDirectionExcess(h, 1, eta, N, B), (eta * (N - B)) / (2 * B * (N - 1) * (2 - eta * h)), 0.003, 'excess');
  });

  for (const [N, B] of [[24, 4], [24, 5], [12, 1]]) {
    it(`B = ${B}, N = ${N}${N % B ? ' (drop_last)' : ''}: 1-D formula agrees with a Monte Carlo simulation (oracle: MC of the same model; tol 4 MC standard errors)`, () => {
      const rng = new Rng(100 + N + B);
      const z = centredNoise(rng, N, 2);
      const h = 1;
      const eta = 0.08;
      const mc = monteCarlo([[h]], z.map((v) => [v]), B, eta, 40000, 5);
      const f = reshuffleDirectionExcess(h, 2, eta, N, B);
      assert.ok(Math.abs(mc.mean - f) <= 4 * mc.se, `formula ${f} vs MC ${mc.mean} ± ${mc.se}`);
      assert.ok(mc.se < 0.05 * f, `MC too noisy: ${mc.se / f}`);
    });
  }

  it('reshufflePrediction sums eigen-directions of a coupled 3-D problem and matches Monte Carlo (oracle: MC; tol 4 SE)', () => {
    const rng = new Rng(31);
    const H = [
      [1.5, 0.4, 0.1],
      [0.4, 0.8, -0.2],
      [0.1, -0.2, 0.3],
    ];
    const N = 20;
    const B = 4;
    const cols = [0, 1, 2].map(() => centredNoise(rng, N, 1));
    const G = Array.from({ length: N }, (_, b) => [cols[0][b], cols[1][b] + 0.5 * cols[0][b], cols[2][b]]);
    const eta = 0.1;
    const curve = reshufflePrediction(Float64Array.from(H.flat()), Float64Array.from(G.flat()), { batchSize: B, lrs: [eta, 5] });
    assert.deepEqual(curve.lr, [eta]);
    assert.deepEqual(curve.unstable_lrs, [5]);
    const mc = monteCarlo(H, G, B, eta, 30000, 9);
    assert.ok(Math.abs(mc.mean - curve.excess[0]) <= 4 * mc.se, `prediction ${curve.excess[0]} vs MC ${mc.mean} ± ${mc.se}`);
  });
});
