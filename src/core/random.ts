/**
 * mulberry32: a tiny seeded uniform PRNG in [0, 1), for reproducible synthetic data, initial weights and
 * shuffles (tests, benchmarks, `trainModel`). The sweep lab uses pure-rand's xoroshiro128+ instead, whose
 * state it must save and restore.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
