/**
 * Full-batch L-BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 7.4: two-loop
 * recursion, memory m) with a backtracking Armijo line search, in float64. Used only to train the demo's
 * checkpoints to their optimum; pairs that violate the curvature condition sᵀy > 0 are skipped.
 */
export interface LbfgsResult {
  w: Float64Array;
  loss: number;
  gradNorm: number;
  iterations: number;
}

export function lbfgs(
  f: (w: Float64Array, grad: Float64Array) => number,
  w0: Float64Array,
  opts: { maxIter: number; gradTol: number; memory?: number; log?: (it: number, loss: number, gnorm: number) => void },
): LbfgsResult {
  const n = w0.length;
  const m = opts.memory ?? 20;
  const w = Float64Array.from(w0);
  const g = new Float64Array(n);
  let loss = f(w, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const wNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  let it = 0;
  let stalled = 0;
  for (; it < opts.maxIter; it++) {
    const gnorm = Math.sqrt(dot(g, g));
    if (it % 100 === 0) opts.log?.(it, loss, gnorm);
    if (gnorm < opts.gradTol) break;
    // Two-loop recursion: d = −H_k g with H_0 = (sᵀy / yᵀy) I.
    d.set(g);
    const alpha: number[] = [];
    for (let i = S.length - 1; i >= 0; i--) {
      alpha[i] = rho[i] * dot(S[i], d);
      for (let j = 0; j < n; j++) d[j] -= alpha[i] * Y[i][j];
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(gnorm, 1);
    for (let j = 0; j < n; j++) d[j] *= gamma;
    for (let i = 0; i < S.length; i++) {
      const beta = rho[i] * dot(Y[i], d);
      for (let j = 0; j < n; j++) d[j] += S[i][j] * (alpha[i] - beta);
    }
    for (let j = 0; j < n; j++) d[j] = -d[j];
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let j = 0; j < n; j++) d[j] = -g[j];
      slope = -gnorm * gnorm;
    }
    let step = 1;
    let lossNew = Infinity;
    for (let k = 0; k < 60; k++) {
      for (let j = 0; j < n; j++) wNew[j] = w[j] + step * d[j];
      lossNew = f(wNew, gNew);
      if (lossNew <= loss + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(lossNew <= loss)) break;
    // The loss no longer decreases at float64 resolution: the gradient is as small as it can be made.
    stalled = lossNew < loss ? 0 : stalled + 1;
    if (stalled >= 10) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = wNew[j] - w[j];
      y[j] = gNew[j] - g[j];
    }
    const sy = dot(s, y);
    if (sy > 1e-300) {
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      if (S.length > m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    w.set(wNew);
    g.set(gNew);
    loss = lossNew;
  }
  return { w, loss, gradNorm: Math.sqrt(dot(g, g)), iterations: it };
}
