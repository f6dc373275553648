/**
 * Initial-transient detection by MSER-5 (White, "An effective truncation heuristic for bias reduction
 * in simulation output", Simulation 69(6), 1997; White, Cobb & Spratt, WSC 2000): group the series into
 * means of 5, and truncate the d groups that minimise
 *   MSER(d) = Σ_{j≥d} (Z_j − Z̄_d)² / (m − d)²,
 * i.e. the squared standard error of the remaining mean (treating groups as independent). Keeping a
 * transient inflates the numerator; truncating too much inflates the 1/(m−d)² factor. The search is
 * limited to the first `maxFraction` of the series, as is standard, because the statistic is unstable
 * when only a few groups remain.
 */
export function mserTruncation(values: ArrayLike<number>, maxFraction = 0.5): number {
  const group = 5;
  const m = Math.floor(values.length / group);
  if (m < 4) return 0;
  const z = new Float64Array(m);
  let centre = 0;
  for (let j = 0; j < m; j++) {
    let s = 0;
    for (let i = 0; i < group; i++) s += values[j * group + i];
    z[j] = s / group;
    centre += z[j] / m;
  }
  // Centred so the suffix sums of squares do not cancel catastrophically for a large mean level.
  for (let j = 0; j < m; j++) z[j] -= centre;
  // Suffix sums so each candidate d costs O(1).
  const s1 = new Float64Array(m + 1);
  const s2 = new Float64Array(m + 1);
  for (let j = m - 1; j >= 0; j--) {
    s1[j] = s1[j + 1] + z[j];
    s2[j] = s2[j + 1] + z[j] * z[j];
  }
  const dMax = Math.floor(m * maxFraction);
  let best = 0;
  let bestStat = Number.POSITIVE_INFINITY;
  for (let d = 0; d <= dMax; d++) {
    const k = m - d;
    const ss = Math.max(0, s2[d] - (s1[d] * s1[d]) / k);
    const stat = ss / (k * k);
    if (stat < bestStat) {
      bestStat = stat;
      best = d;
    }
  }
  return best * group;
}
