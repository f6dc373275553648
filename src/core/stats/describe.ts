/** Elementary summaries over plain number arrays (no allocation proportional to anything but the input). */

export function mean(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i];
  return s / (to - from);
}

/** Sample variance (n − 1 denominator). */
export function sampleVariance(x: ArrayLike<number>, from = 0, to = x.length): number {
  const n = to - from;
  if (n < 2) return Number.NaN;
  const m = mean(x, from, to);
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] - m) * (x[i] - m);
  return s / (n - 1);
}

export function median(x: ArrayLike<number>, from = 0, to = x.length): number {
  const a = Array.prototype.slice.call(x, from, to) as number[];
  a.sort((p, q) => p - q);
  const n = a.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? a[(n - 1) / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

/** Ordinary least-squares line y = a + b·x with the usual (homoscedastic, independent) slope SE. */
export function olsLine(x: ArrayLike<number>, y: ArrayLike<number>): { intercept: number; slope: number; slopeStderr: number; dof: number } {
  const n = x.length;
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const r = y[i] - intercept - slope * x[i];
    rss += r * r;
  }
  const dof = n - 2;
  const slopeStderr = dof > 0 ? Math.sqrt(rss / dof / sxx) : Number.NaN;
  return { intercept, slope, slopeStderr, dof };
}

/** Lag-1 autocorrelation (biased estimator, the usual one for diagnostics). */
export function lag1Autocorrelation(x: ArrayLike<number>): number {
  const n = x.length;
  if (n < 3) return Number.NaN;
  const m = mean(x);
  let c0 = 0;
  let c1 = 0;
  for (let i = 0; i < n; i++) c0 += (x[i] - m) * (x[i] - m);
  for (let i = 1; i < n; i++) c1 += (x[i] - m) * (x[i - 1] - m);
  return c0 === 0 ? 0 : c1 / c0;
}
