import { strict as assert } from 'node:assert';
import { sgdStep, type SgdSettings } from '../../../src/core/lab/optimizer';
import { Rng } from '../../support/oracle/rng';

/**
 * Oracle: torch.optim.SGD's documented algorithm (pytorch.org/docs/stable/generated/torch.optim.SGD.html),
 * transcribed here element by element with plain numbers, including its first-step rule b₁ = g₁
 * (no dampening on the first step). Tolerance: exact float64 equality, since both evaluate the same
 * expressions in the same order per element; a hand-computed case pins the convention itself.
 */
function torchSgdReference(w: number[], grads: number[][], lr: number, s: SgdSettings): number[][] {
  const out: number[][] = [];
  const state: { b: number[] | null } = { b: null };
  const p = [...w];
  for (const g of grads) {
    const d = g.map((gi, i) => gi + s.weightDecay * p[i]);
    let step = d;
    if (s.momentum !== 0) {
      const prev = state.b;
      const buf = prev === null ? [...d] : prev.map((bi, i) => s.momentum * bi + (1 - s.dampening) * d[i]);
      state.b = buf;
      step = s.nesterov ? d.map((di, i) => di + s.momentum * buf[i]) : buf;
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i] - lr * step[i];
    out.push([...p]);
  }
  return out;
}

describe('lab optimizer (torch.optim.SGD rule)', () => {
  const settings: SgdSettings[] = [
    { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
    { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.1 },
    { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 },
    { momentum: 0.9, dampening: 0.5, nesterov: false, weightDecay: 0.01 },
    { momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0.05 },
  ];

  it('matches the float64 transcription of the documented algorithm step by step (exact)', () => {
    const rng = new Rng(11);
    for (const s of settings) {
      const w0 = Array.from({ length: 7 }, () => rng.normal());
      const grads = Array.from({ length: 25 }, () => Array.from({ length: 7 }, () => rng.normal()));
      const expected = torchSgdReference(w0, grads, 0.07, s);
      const w = Float64Array.from(w0);
      let v: Float64Array | null = null;
      grads.forEach((g, t) => {
        v = sgdStep(w, Float64Array.from(g), 0.07, s, v);
        assert.deepEqual([...w], expected[t], `${JSON.stringify(s)} step ${t}`);
      });
    }
  });

  it('hand-computed: heavy ball β = 0.5, dampening 0.5, λ = 0.1, η = 0.1 from w = 1 with g = 1, 1', () => {
    // d₁ = 1 + 0.1·1 = 1.1, b₁ = d₁ = 1.1 (first step: no dampening), w₁ = 1 − 0.11 = 0.89.
    // d₂ = 1 + 0.089 = 1.089, b₂ = 0.5·1.1 + 0.5·1.089 = 1.0945, w₂ = 0.89 − 0.10945 = 0.78055.
    const w = Float64Array.of(1);
    const s = { momentum: 0.5, dampening: 0.5, nesterov: false, weightDecay: 0.1 };
    let v = sgdStep(w, Float64Array.of(1), 0.1, s, null);
    assert.ok(Math.abs(w[0] - 0.89) < 1e-15);
    v = sgdStep(w, Float64Array.of(1), 0.1, s, v);
    assert.ok(Math.abs(w[0] - 0.78055) < 1e-15);
    assert.ok(v && Math.abs(v[0] - 1.0945) < 1e-15);
  });
});
