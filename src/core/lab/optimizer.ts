/** SGD's hyperparameters besides η, with PyTorch's names and meanings (`torch.optim.SGD`). */
export interface SgdSettings {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** Coupled weight decay λ: λw is added to the gradient (not to the logged loss). */
  weightDecay: number;
}

/**
 * One `torch.optim.SGD` step in float64, in place (torch/optim/sgd.py, PyTorch ≥ 1.0):
 *   d = g + λw
 *   momentum β ≠ 0:  v ← d on the first step, else v ← βv + (1−d_amp)·d;   d ← nesterov ? d + βv : v
 *   w ← w − η·d
 * `velocity` is null before the first step; the returned buffer must be passed to the next call.
 * The momentum factor (1−dampening)/(1−β) of THEORY.md §2 comes from this recursion.
 */
export function sgdStep(w: Float64Array, grad: Float64Array, lr: number, s: SgdSettings, velocity: Float64Array | null): Float64Array | null {
  const n = w.length;
  const { momentum: beta, dampening: damp, nesterov, weightDecay: wd } = s;
  if (beta === 0) {
    for (let i = 0; i < n; i++) w[i] -= lr * (grad[i] + wd * w[i]);
    return null;
  }
  const first = velocity === null;
  const v = velocity ?? new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = grad[i] + wd * w[i];
    const vi = first ? d : beta * v[i] + (1 - damp) * d;
    v[i] = vi;
    w[i] -= lr * (nesterov ? d + beta * vi : vi);
  }
  return v;
}
