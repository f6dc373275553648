/**
 * Trains the demo's two checkpoints on the digits data (data.ts makes the arrays) with the product's
 * own float64 Dense engine (src/core/lab/dense-f64.ts) and full-batch L-BFGS (lbfgs.ts), and saves them
 * as TensorFlow.js models with our own IO handler:
 *   - checkpoints/softmax: softmax regression 64 → 10 with Keras-style L2 on the kernel
 *     (kernel_regularizer l2(1e-3): ℓ_b includes 1e-3·‖W‖², THEORY.md §3's digits setup);
 *   - checkpoints/mlp: 64 → 32 (tanh) → 10 (softmax), L2 1e-3 on both kernels. tanh rather than ReLU so
 *     the optimum is a smooth strict minimum (ReLU kinks make the Hessian jump under SGD's noise).
 * Both are trained to the optimum as far as float64 allows; the saved float32 weights are checked
 * afterwards through the lab's own loader: ‖ḡ‖² / E‖g_b‖² (how close to a stationary point, THEORY.md §2)
 * goes into checkpoints/<name>/training.json. Run from the repository root:
 *   npx tsx examples/digits/train.ts [softmax|mlp]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../src/core/data/npy';
import { DenseF64Model } from '../../src/core/lab/dense-f64';
import { denseNetSpec } from '../../src/core/lab/dense-spec';
import { openLab } from '../../src/core/lab/open';
import { buildSequential, type LayerSpec } from '../../src/core/model/build';
import { saveLayersModel } from '../../src/core/model/load';
import { flatParams, setFlatParams, trainableParams } from '../../src/core/model/params';
import { initBackend } from '../../src/core/tf/backend';
import { lbfgs } from './lbfgs';

const here = __dirname;
const LOSS = 'sparse_categorical_crossentropy';

const CHECKPOINTS: { name: string; layers: LayerSpec[]; seed: number; maxIter: number }[] = [
  { name: 'softmax', layers: [{ type: 'dense', units: 10, activation: 'softmax', kernelL2: 1e-3 }], seed: 1, maxIter: 5000 },
  {
    name: 'mlp',
    layers: [
      { type: 'dense', units: 32, activation: 'tanh', kernelL2: 1e-3 },
      { type: 'dense', units: 10, activation: 'softmax', kernelL2: 1e-3 },
    ],
    seed: 7,
    maxIter: 10000,
  },
];

/** ‖ḡ‖², E‖g_b‖² and the loss at w, from per-example gradients of the same engine. */
function stationarity(model: DenseF64Model, w: Float64Array) {
  const P = w.length;
  const mean = new Float64Array(P);
  const g = new Float64Array(P);
  const one = new Int32Array(1);
  let second = 0;
  for (let b = 0; b < model.n; b++) {
    one[0] = b;
    model.batchLossGrad(w, one, g);
    for (let i = 0; i < P; i++) {
      mean[i] += g[i] / model.n;
      second += (g[i] * g[i]) / model.n;
    }
  }
  const meanSq = mean.reduce((s, v) => s + v * v, 0);
  return { loss: model.fullLoss(w), meanGradSq: meanSq, meanSqGrad: second, ratio: meanSq / second };
}

async function main(): Promise<void> {
  await initBackend('cpu');
  const x = readNpy(join(here, 'data', 'x.npy'));
  const labels = readNpy(join(here, 'data', 'y.npy'));
  const n = labels.data.length;
  const y = new Float64Array(n * 10);
  labels.data.forEach((c, i) => (y[i * 10 + c] = 1));
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const only = process.argv[2];
  for (const c of CHECKPOINTS.filter((k) => !only || k.name === only)) {
    const t0 = performance.now();
    const tfModel = buildSequential([64], c.layers, c.seed);
    const params = trainableParams(tfModel);
    const spec = denseNetSpec(tfModel, params, { kind: LOSS, fromLogits: false, source: 'train.ts' });
    if (!('layers' in spec)) throw new Error(`not a Dense model: ${spec.reason}`);
    const engine = new DenseF64Model(spec, { n, x: x.data, y });
    const fit = lbfgs((w, g) => engine.batchLossGrad(w, all, g), flatParams(params), {
      maxIter: c.maxIter,
      gradTol: 1e-12,
      log: (it, loss, gn) => console.log(`${c.name} L-BFGS ${it}: loss ${loss.toPrecision(12)}, ‖∇L‖ ${gn.toExponential(3)}`),
    });
    setFlatParams(params, fit.w);
    const dir = join(here, 'checkpoints', c.name);
    await saveLayersModel(tfModel, dir, { loss: LOSS });
    // Check what was saved, read back exactly as the lab reads it (float32 weights).
    const saved = await openLab({ model: join(dir, 'model.json'), data: { data: join(here, 'data', 'x.npy'), labels: join(here, 'data', 'y.npy') }, engine: 'dense-f64', backend: 'cpu', batchSize: 1 });
    const st = stationarity(saved.model as DenseF64Model, saved.initial);
    const summary = {
      layers: c.layers,
      loss: LOSS,
      init_seed: c.seed,
      optimizer: 'full-batch L-BFGS (float64), examples/digits/lbfgs.ts',
      iterations: fit.iterations,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      float64_optimum: { loss: fit.loss, grad_norm: fit.gradNorm },
      saved_float32_weights: { loss: st.loss, mean_grad_sq: st.meanGradSq, mean_sq_grad: st.meanSqGrad, stationarity_ratio: st.ratio },
      params: engine.paramCount,
      examples: n,
    };
    writeFileSync(join(dir, 'training.json'), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`${c.name}: ${fit.iterations} iterations, loss ${fit.loss.toPrecision(10)}, ‖∇L‖ ${fit.gradNorm.toExponential(2)}; saved float32: ‖ḡ‖²/E‖g_b‖² = ${st.ratio.toExponential(2)}`);
  }
}

void main();
