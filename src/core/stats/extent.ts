/**
 * Smallest and largest of a list by a loop. `Math.min(...xs)` passes every element as an argument and
 * overflows the call stack from about 124k elements in Node 20: a logged learning-rate series of that
 * length made the run be skipped ("Maximum call stack size exceeded"). Same results as Math.min/max
 * (Infinity / −Infinity for an empty list; NaN if any element is NaN).
 */
export function minOf(xs: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    if (v < m || Number.isNaN(v)) m = v;
    if (Number.isNaN(m)) return NaN;
  }
  return m;
}

export function maxOf(xs: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    if (v > m || Number.isNaN(v)) m = v;
    if (Number.isNaN(m)) return NaN;
  }
  return m;
}
