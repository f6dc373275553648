import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { denseF64Refinements } from '../../../src/core/analysis/denseRefinements';
import { writeNpy } from '../../../src/core/data/npy';
import { buildSequential } from '../../../src/core/model/build';
import { flatParams, trainableParams } from '../../../src/core/model/params';
import { saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';
import { randomArray, rng } from '../../support/models/random';

/**
 * Oracle: softmax regression z = xW + b, ℓ_b = −log p_y + l2‖W‖², whose per-example gradient and Hessian
 * have closed forms: ∇_W ℓ_b = x_b ⊗ (p_b − e_y) + 2·l2·W, ∇_b ℓ_b = p_b − e_y, and
 * H = mean_b [x̃_b x̃_bᵀ] ⊗ (diag p_b − p_b p_bᵀ) + 2·l2·I on the kernel block (x̃ = (x, 1) for the bias),
 * written here as naive loops independent of the product's engines.
 */
describe('float64 Hessian and per-example gradients of Dense models (oracle: softmax-regression closed form)', function () {
  this.timeout(60_000);
  const d = 3;
  const k = 3;
  const n = 25;
  const l2 = 1e-2;
  let dir: string;
  let W: Float64Array; // [d, k] row-major, then bias [k]
  let x: Float32Array;
  let y: Int32Array;

  before(async () => {
    await initBackend('cpu');
    dir = mkdtempSync(path.join(os.tmpdir(), 'heatcap-dense-h-'));
    const model = buildSequential([d], [{ type: 'dense', units: k, activation: 'softmax', kernelL2: l2 }], 3);
    W = flatParams(trainableParams(model));
    await saveLayersModel(model, dir, { loss: 'sparse_categorical_crossentropy' });
    x = randomArray(n * d, 5);
    const r = rng(9);
    y = Int32Array.from({ length: n }, () => Math.floor(r() * k));
    writeNpy(path.join(dir, 'x.npy'), x, [n, d]);
    writeNpy(path.join(dir, 'y.npy'), y, [n]);
  });

  function probs(b: number): number[] {
    const z = Array.from({ length: k }, (_, j) => W[d * k + j] + Array.from({ length: d }, (_, i) => x[b * d + i] * W[i * k + j]).reduce((a, v) => a + v, 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / s);
  }

  it('matches the closed forms: per-example gradients to 1e-6, Hessian to 1e-6 relative to its largest entry', async () => {
    const extras = await denseF64Refinements({ model: path.join(dir, 'model.json'), data: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') });
    assert.ok(extras, 'a Dense-only model is eligible');
    const P = d * k + k;
    const G = extras.perExampleGrads as Float64Array;
    const H = extras.hessian as Float64Array;
    const Hx = new Float64Array(P * P);
    let gErr = 0;
    for (let b = 0; b < n; b++) {
      const p = probs(b);
      const xt = [...Array.from({ length: d }, (_, i) => x[b * d + i]), 1];
      const r = p.map((v, j) => v - (j === y[b] ? 1 : 0));
      for (let i = 0; i <= d; i++) {
        for (let j = 0; j < k; j++) {
          const at = i < d ? i * k + j : d * k + j;
          const want = xt[i] * r[j] + (i < d ? 2 * l2 * W[at] : 0);
          // Inputs and weights are stored as float32 in the files: compare at float32 input precision.
          gErr = Math.max(gErr, Math.abs(G[b * P + at] - want) / Math.max(1, Math.abs(want)));
          for (let i2 = 0; i2 <= d; i2++) {
            for (let j2 = 0; j2 < k; j2++) {
              const at2 = i2 < d ? i2 * k + j2 : d * k + j2;
              const curv = (j === j2 ? p[j] : 0) - p[j] * p[j2];
              Hx[at * P + at2] += (xt[i] * xt[i2] * curv) / n;
            }
          }
        }
      }
    }
    for (let i = 0; i < d * k; i++) Hx[i * P + i] += 2 * l2;
    assert.ok(gErr < 1e-6, `per-example gradient error ${gErr}`);
    const scale = Math.max(...Hx.map(Math.abs));
    let hErr = 0;
    for (let i = 0; i < P * P; i++) hErr = Math.max(hErr, Math.abs(H[i] - Hx[i]) / scale);
    // Central differences in float64: truncation ~h² = 1e-10, rounding ~1e-16/1e-5 = 1e-11.
    assert.ok(hErr < 1e-6, `Hessian error ${hErr} of the largest entry`);
  });

  it('returns null (TensorFlow.js path instead) for a model that is not Dense-only', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'heatcap-dense-h2-'));
    const model = buildSequential([4], [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'layerNorm' }, { type: 'dense', units: 2, activation: 'softmax' }], 2);
    await saveLayersModel(model, other, { loss: 'sparse_categorical_crossentropy' });
    writeNpy(path.join(other, 'x.npy'), randomArray(8 * 4, 1), [8, 4]);
    writeNpy(path.join(other, 'y.npy'), Int32Array.from({ length: 8 }, (_, i) => i % 2), [8]);
    assert.equal(await denseF64Refinements({ model: path.join(other, 'model.json'), data: path.join(other, 'x.npy'), labels: path.join(other, 'y.npy') }), null);
  });
});
