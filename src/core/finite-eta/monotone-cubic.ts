/**
 * Monotone piecewise-cubic Hermite interpolation (Fritsch & Carlson 1980, with the weighted harmonic-mean
 * slopes of Fritsch & Butland and shape-preserving three-point end slopes): through every node exactly, no overshoot where the data are monotone,
 * and exact for data on a straight line. The finite-η closure's ratio to the linear law is smooth and
 * monotone in η, so three solved η give it to about 1.5 % in between (dense-closure.ts, predict.ts).
 */
export function monotoneCubic(x: readonly number[], y: readonly number[]): (t: number) => number {
  const n = x.length;
  if (n !== y.length || n < 2) throw new Error(`monotoneCubic: ${n} nodes and ${y.length} values (need ≥ 2 of each, as many)`);
  for (let i = 1; i < n; i++) if (!(x[i] > x[i - 1])) throw new Error('monotoneCubic: nodes must increase strictly');
  const h = x.slice(1).map((v, i) => v - x[i]);
  const d = h.map((hi, i) => (y[i + 1] - y[i]) / hi);
  const m = new Array<number>(n);
  m[0] = n > 2 ? endSlope(h[0], h[1], d[0], d[1]) : d[0];
  m[n - 1] = n > 2 ? endSlope(h[n - 2], h[n - 3], d[n - 2], d[n - 3]) : d[n - 2];
  for (let k = 1; k < n - 1; k++) {
    if (d[k - 1] * d[k] <= 0) m[k] = 0;
    else {
      const w1 = 2 * h[k] + h[k - 1];
      const w2 = h[k] + 2 * h[k - 1];
      m[k] = (w1 + w2) / (w1 / d[k - 1] + w2 / d[k]);
    }
  }
  return (t) => {
    let k = 0;
    while (k < n - 2 && t > x[k + 1]) k++;
    const u = (t - x[k]) / h[k];
    const u2 = u * u;
    const u3 = u2 * u;
    return (2 * u3 - 3 * u2 + 1) * y[k] + (u3 - 2 * u2 + u) * h[k] * m[k] + (-2 * u3 + 3 * u2) * y[k + 1] + (u3 - u2) * h[k] * m[k + 1];
  };
}

/** One-sided three-point slope at an end, kept shape-preserving (as MATLAB's pchip does). */
function endSlope(h0: number, h1: number, d0: number, d1: number): number {
  const m = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
  if (Math.sign(m) !== Math.sign(d0)) return 0;
  if (Math.sign(d0) !== Math.sign(d1) && Math.abs(m) > 3 * Math.abs(d0)) return 3 * d0;
  return m;
}
