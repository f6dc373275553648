/**
 * The training setup an analysis assumed (batch size, momentum, sampling, optimizer) and how the heat
 * capacity would scale if a setting's own batch size or momentum differs from it (THEORY.md §2):
 * - SGD, i.i.d. batches with replacement: s ∝ 1/B;
 * - SGD, B distinct examples per batch: s ∝ (N−B)/(B(N−1));
 * - Adam / RMSProp (β2 → 1): s ∝ 1/√B;
 * - heavy-ball momentum β with dampening d (SGD only): s ∝ (1−d)/(1−β); Adam's EMA β1 changes nothing.
 * Random reshuffling has no such law (THEORY.md §3), so no factor is given there.
 */
import type { AnalysisResult, Predicted } from '../../core/result/schema';

export interface AnalysisSetup {
  batchSize: number | null;
  batchSizeSource: string | null;
  momentum: number | null;
  dampening: number;
  sampling: Predicted['sampling'] | null;
  optimizer: string | null;
  datasetSize: number | null;
}

/** From the prediction when there is one, else from the runs when they all agree. */
export function analysisSetup(result: AnalysisResult): AnalysisSetup {
  const p = result.predicted;
  if (p) {
    return {
      batchSize: p.batch_size,
      batchSizeSource: p.sources?.batch_size ?? null,
      momentum: p.momentum,
      dampening: p.dampening ?? 0,
      sampling: p.sampling,
      optimizer: p.optimizer.toLowerCase(),
      datasetSize: p.dataset_size,
    };
  }
  const same = (xs: (number | null)[]): number | null => (xs.length > 0 && xs.every((x) => x !== null && x === xs[0]) ? xs[0] : null);
  return {
    batchSize: same(result.runs.map((r) => r.batch_size)),
    batchSizeSource: null,
    momentum: same(result.runs.map((r) => r.momentum)),
    dampening: 0,
    sampling: null,
    optimizer: null,
    datasetSize: null,
  };
}

const SGD = new Set(['sgd']);
const ADAPTIVE = new Set(['adam', 'adamw', 'rmsprop']);

export interface Rescale {
  factor: number;
  /** Which laws gave it, for the hover ("s ∝ 1/B for SGD with i.i.d. batches"). */
  laws: string[];
}

/**
 * The factor by which s changes from the analysed setup to `setting`'s batch size and momentum, when
 * THEORY.md §2 gives a law for this optimizer and sampling; undefined when nothing differs or no law applies.
 */
export function rescaleFor(setup: AnalysisSetup, setting: { batchSize?: number; momentum?: number }): Rescale | undefined {
  let factor = 1;
  const laws: string[] = [];
  const opt = setup.optimizer;
  const B = setup.batchSize;
  const B2 = setting.batchSize;
  if (B !== null && B2 !== undefined && B2 > 0 && B2 !== B && opt !== null && setup.sampling !== 'reshuffle') {
    if (SGD.has(opt) && setup.sampling === 'with_replacement') {
      factor *= B / B2;
      laws.push('s ∝ 1/B for SGD with i.i.d. batches');
    } else if (SGD.has(opt) && setup.sampling === 'without_replacement' && setup.datasetSize !== null && B2 < setup.datasetSize) {
      const N = setup.datasetSize;
      factor *= ((N - B2) / (B2 * (N - 1))) / ((N - B) / (B * (N - 1)));
      laws.push('s ∝ (N−B)/(B(N−1)) for SGD with distinct examples per batch');
    } else if (ADAPTIVE.has(opt)) {
      factor *= Math.sqrt(B / B2);
      laws.push('s ∝ 1/√B for Adam/RMSProp');
    } else {
      return undefined;
    }
  }
  const beta = setup.momentum;
  const beta2 = setting.momentum;
  if (beta !== null && beta2 !== undefined && beta2 !== beta && opt !== null && SGD.has(opt) && setup.sampling !== 'reshuffle') {
    if (!(beta2 >= 0 && beta2 < 1)) return undefined;
    factor *= (1 - beta) / (1 - beta2);
    laws.push('s ∝ (1−d)/(1−β) for heavy-ball momentum');
  }
  return laws.length > 0 ? { factor, laws } : undefined;
}
