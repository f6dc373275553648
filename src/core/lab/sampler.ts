import type { Sampling } from '../runs/model';
import type { LabRng } from './rng';

/** What a sampler must remember to continue exactly where it stopped (resumable runs). */
export interface SamplerState {
  /** The current permutation (reshuffle) or the partial Fisher–Yates array (without replacement). */
  perm: Int32Array;
  /** Reshuffle: position of the next batch in `perm` (N means "draw a new permutation first"). */
  cursor: number;
}

/**
 * Draws the B example indices of each step, as THEORY.md §2–3 define the schemes:
 *  - `with_replacement`: B independent uniform indices (i.i.d.);
 *  - `without_replacement`: B distinct indices, each batch independent of the previous ones
 *    (a partial Fisher–Yates shuffle of a persistent array: the first B entries are a uniform sample
 *    of B distinct indices whatever order the array was left in);
 *  - `reshuffle`: epochs of a fresh random permutation cut into consecutive batches; a tail of fewer
 *    than B examples is dropped (PyTorch `DataLoader(shuffle=True, drop_last=True)`), so every batch
 *    has exactly B examples.
 */
export class BatchSampler {
  readonly state: SamplerState;

  constructor(
    readonly sampling: Sampling,
    readonly n: number,
    readonly batchSize: number,
    private readonly rng: LabRng,
    state?: SamplerState,
  ) {
    if (!(batchSize >= 1 && batchSize <= n)) throw new RangeError(`batch size ${batchSize} must be in 1..${n}`);
    this.state = state ?? { perm: Int32Array.from({ length: n }, (_, i) => i), cursor: n };
    if (this.state.perm.length !== n) throw new RangeError(`sampler state holds ${this.state.perm.length} indices, not ${n}`);
  }

  /** Fills `idx` (length B) with the next batch. */
  next(idx: Int32Array): void {
    const { n, batchSize: B, rng } = this;
    const perm = this.state.perm;
    if (this.sampling === 'with_replacement') {
      for (let i = 0; i < B; i++) idx[i] = rng.int(n);
    } else if (this.sampling === 'without_replacement') {
      for (let i = 0; i < B; i++) {
        const j = i + rng.int(n - i);
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        idx[i] = perm[i];
      }
    } else {
      if (this.state.cursor + B > n) {
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          const t = perm[i];
          perm[i] = perm[j];
          perm[j] = t;
        }
        this.state.cursor = 0;
      }
      for (let i = 0; i < B; i++) idx[i] = perm[this.state.cursor + i];
      this.state.cursor += B;
    }
  }
}
