import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
type RandomGenerator = ReturnType<typeof xoroshiro128plus>;

/**
 * The lab's random stream: xoroshiro128+ from `pure-rand`, whose state can be saved and restored
 * exactly (resumable runs). Each run of a sweep gets its own stream, derived from the sweep's seed and
 * the run's η, so a run's minibatches do not depend on which other η are in the sweep and the runs are
 * statistically independent (the sweep fit treats their converged losses as independent, THEORY.md §5).
 */
export class LabRng {
  private constructor(private readonly gen: RandomGenerator) {}

  static seeded(seed: number): LabRng {
    return new LabRng(xoroshiro128plus(seed | 0));
  }

  static fromState(state: readonly number[]): LabRng {
    return new LabRng(xoroshiro128plusFromState(state));
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    return uniformInt(this.gen, 0, n - 1);
  }

  state(): number[] {
    return [...this.gen.getState()];
  }
}

/** splitmix32's finaliser: a bijective 32-bit mix. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/** The 32-bit seed of the run at learning rate `lr` in a sweep seeded with `seed`. */
export function runSeed(seed: number, lr: number): number {
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, lr);
  return mix32(mix32(mix32(seed | 0) ^ bits.getInt32(0)) ^ bits.getInt32(4));
}
