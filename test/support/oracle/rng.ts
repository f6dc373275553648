/**
 * A small seeded PRNG for deterministic tests: xoshiro128** (Blackman & Vigna, 2018) seeded through
 * splitmix32, with uniform, normal (Marsaglia polar method) and integer draws. Test-only: statistical
 * quality far beyond what coverage tests with a few hundred seeds can detect.
 */
export class Rng {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32 step
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  private nextU32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(a: T[] | Int32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * AR(1) series x_t = μ + φ(x_{t−1} − μ) + σ ε_t, started from the stationary distribution so that
 * it has no transient: its mean is exactly μ and its integrated autocorrelation time (1+φ)/(1−φ).
 */
export function ar1(rng: Rng, n: number, mu: number, phi: number, sigma: number): number[] {
  const out = new Array<number>(n);
  let x = (sigma / Math.sqrt(1 - phi * phi)) * rng.normal();
  for (let t = 0; t < n; t++) {
    out[t] = mu + x;
    x = phi * x + sigma * rng.normal();
  }
  return out;
}

export function range(n: number, start = 0, stride = 1): number[] {
  return Array.from({ length: n }, (_, i) => start + i * stride);
}
