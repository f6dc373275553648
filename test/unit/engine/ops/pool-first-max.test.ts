/**
 * MaxPool's VJP without ORT's Indices (float32, disjoint windows, no padding: the rank of each window's
 * first maximum from max pools of the window's prefixes, src/core/engine/ops/pool.ts) on inputs full of
 * ties, against an independent oracle computed here: the cotangent of each window goes to its first
 * maximum in row-major window order (ORT's and PyTorch's rule), window positions outside the input
 * skipped. Exact equality (dx is a placement of dy, no arithmetic). Padded pools take the Indices path
 * (checked by the nodes emitted) and give the same placement. End to end: per-example gradient norms of
 * a conv → relu → max-pool → dense model whose conv outputs are small integers (many tied maxima from
 * different patches, so the choice changes the weights' gradients) against TF.js' per-example loop.
 */
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { attr, type Attr, type GraphNode } from '../../../../src/core/graph/types';
import { maxPool } from '../../../../src/core/engine/ops/pool';
import { Emitter } from '../../../../src/core/engine/emitter';
import { buildModel } from '../../../../src/core/engine/onnx-encode';
import { encodeModel } from '../../../../src/core/onnx/proto';
import type { VjpContext } from '../../../../src/core/engine/ops/types';
import { openGradProblem } from '../../../../src/core/gradnorm/problem';
import { initBackend } from '../../../../src/core/tf/backend';
import { assertEnginesAgree, runEngine, runOnnxOnLayersModel } from '../../../support/models/compare';
import { asLoaded, memoryArrays, randomLabels } from '../../../support/models/random';
import { mulberry32 } from '../../../../src/core/random';

interface Geo {
  kernel: number[];
  strides: number[];
  pads: number[];
  ceil: boolean;
}

function outSize(n: number, k: number, s: number, pb: number, pe: number, ceil: boolean): number {
  let o = (ceil ? Math.ceil((n + pb + pe - k) / s) : Math.floor((n + pb + pe - k) / s)) + 1;
  if (ceil && (o - 1) * s >= n + pb) o--;
  return o;
}

/** Naive max pool + first-max placement over N·C planes of any rank. */
function oracle(x: number[], dims: number[], g: Geo, dy: (i: number) => number) {
  const sp = dims.slice(2);
  const d = sp.length;
  const out = sp.map((n, i) => outSize(n, g.kernel[i], g.strides[i], g.pads[i], g.pads[i + d], g.ceil));
  const plane = sp.reduce((a, b) => a * b, 1);
  const outPlane = out.reduce((a, b) => a * b, 1);
  const K = g.kernel.reduce((a, b) => a * b, 1);
  const dx = new Array<number>(x.length).fill(0);
  const y: number[] = [];
  for (let nc = 0; nc < dims[0] * dims[1]; nc++)
    for (let o = 0; o < outPlane; o++) {
      const oi: number[] = [];
      for (let i = d - 1, r = o; i >= 0; i--) {
        oi[i] = r % out[i];
        r = Math.floor(r / out[i]);
      }
      let best = -1;
      for (let p = 0; p < K; p++) {
        let at = 0;
        let inside = true;
        for (let i = 0, r = p, div = K; i < d; i++) {
          div /= g.kernel[i];
          const q = Math.floor(r / div);
          r %= div;
          const c = oi[i] * g.strides[i] - g.pads[i] + q;
          if (c < 0 || c >= sp[i]) inside = false;
          at = at * sp[i] + c;
        }
        if (!inside) continue;
        at += nc * plane;
        if (best < 0 || x[at] > x[best]) best = at;
      }
      const j = nc * outPlane + o;
      dx[best] += dy(j);
      y.push(x[best]);
    }
  return { dx, y, ys: [dims[0], dims[1], ...out] };
}

/** The rule's dx for x (float32), with dy_j = j + 1; returns it and the ops emitted. */
async function ruleDx(x: number[], dims: number[], attrs: Record<string, Attr>, ys: number[]) {
  const node: GraphNode = { op: 'MaxPool', name: 'pool', inputs: ['x'], outputs: ['y'], attrs };
  const shapes: Record<string, number[]> = { x: dims, y: ys, dy: ys };
  const em = new Emitter(17, 'vjp');
  const ctx: VjpContext = { node, em, shape: (n) => shapes[n] ?? em.shapeOf(n)!, dtype: () => 'float32', dy: ['dy'], needs: [true], constant: () => undefined };
  const dx = maxPool.vjp(ctx)[0]!;
  const model = buildModel({
    opset: 17,
    name: 'first-max',
    nodes: [node, ...em.nodes],
    initializers: em.constants,
    inputs: [
      { name: 'x', dtype: 'float32', shape: dims },
      { name: 'dy', dtype: 'float32', shape: ys },
    ],
    outputs: [{ name: dx }, { name: 'y' }],
  });
  const session = await ort.InferenceSession.create(encodeModel(model));
  const nDy = ys.reduce((a, b) => a * b, 1);
  const res = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), dims), dy: new ort.Tensor('float32', Float32Array.from({ length: nDy }, (_, j) => j + 1), ys) });
  await session.release();
  const withIndices = em.nodes.some((n) => n.op === 'MaxPool' && n.outputs.length === 2);
  return { dx: Array.from(res[dx].data as Float32Array), y: Array.from(res.y.data as Float32Array), withIndices };
}

function geoAttrs(g: Geo): Record<string, Attr> {
  const a: Record<string, Attr> = { kernel_shape: attr.ints(g.kernel), strides: attr.ints(g.strides) };
  if (g.pads.some((p) => p !== 0)) a.pads = attr.ints(g.pads);
  if (g.ceil) a.ceil_mode = attr.int(1);
  return a;
}

const data = {
  /** Every window constant (blank image regions): all of the cotangent to each window's first element. */
  constant: (n: number) => Array.from({ length: n }, () => 0.5),
  /** Relu-like: mostly zeros, some positives. */
  zeros: (n: number, seed: number) => {
    const r = mulberry32(seed);
    return Array.from({ length: n }, () => (r() < 0.7 ? 0 : Math.floor(r() * 3)));
  },
  /** Three values: most windows hold two or more equal maxima at different positions; −0 and +0 among the zeros. */
  ties: (n: number, seed: number) => {
    const r = mulberry32(seed);
    return Array.from({ length: n }, () => [0, -0, 1, 2, 2][Math.floor(r() * 5)]);
  },
};

describe('engine op MaxPool: the first maximum without Indices (oracle: first max in row-major window order, computed here)', () => {
  const shapes: [string, number[], Geo][] = [
    ['2×2 stride 2 (4×6)', [2, 3, 4, 6], { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil: false }],
    ['2×2 stride 2, tails not covered (7×5)', [2, 2, 7, 5], { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil: false }],
    ['3×3 stride 3, tails (8×10)', [1, 3, 8, 10], { kernel: [3, 3], strides: [3, 3], pads: [0, 0, 0, 0], ceil: false }],
    ['2×3 kernel, stride 3×4 > kernel (9×11)', [2, 2, 9, 11], { kernel: [2, 3], strides: [3, 4], pads: [0, 0, 0, 0], ceil: false }],
    ['ceil_mode, windows that fit (6×8)', [2, 2, 6, 8], { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil: true }],
    ['ceil_mode, 2 wide stride 3 (8×11: 3×4 whole windows)', [1, 2, 8, 11], { kernel: [2, 2], strides: [3, 3], pads: [0, 0, 0, 0], ceil: true }],
    ['1-D, 3 wide stride 3, tail', [2, 3, 11], { kernel: [3], strides: [3], pads: [0, 0], ceil: false }],
    ['3-D, 2×2×2 stride 2', [1, 2, 4, 5, 4], { kernel: [2, 2, 2], strides: [2, 2, 2], pads: [0, 0, 0, 0, 0, 0], ceil: false }],
    ['3-D, 1×2×3 kernel, stride 1×2×3', [2, 1, 3, 4, 7], { kernel: [1, 2, 3], strides: [1, 2, 3], pads: [0, 0, 0, 0, 0, 0], ceil: false }],
  ];
  for (const [name, dims, g] of shapes) {
    for (const kind of ['constant', 'zeros', 'ties'] as const) {
      it(`${name}: ${kind}`, async () => {
        const n = dims.reduce((a, b) => a * b, 1);
        const x = kind === 'constant' ? data.constant(n) : data[kind](n, n + dims.length);
        const want = oracle(x, dims, g, (j) => j + 1);
        const got = await ruleDx(x, dims, geoAttrs(g), want.ys);
        assert.equal(got.withIndices, false, 'takes the prefix form (no MaxPool with Indices)');
        // (Equal values; ORT's MLAS pool may return +0 where the first maximum is −0.)
        assert.deepEqual(got.y.map((v) => v + 0), want.y.map((v) => v + 0), 'ORT forward = naive max');
        assert.deepEqual(got.dx, want.dx);
        assert.equal(got.dx.filter((v) => v !== 0).length, want.y.length, 'one receiver per window');
      });
    }
  }

  it('−0 before +0 in a window: the first (−0) receives, as Equal and ORT Indices say', async () => {
    const dims = [1, 1, 2, 4];
    const x = [-0, 0, 0, -0, 0, 0, 0, 0];
    const want = oracle(x, dims, { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil: false }, (j) => j + 1);
    const got = await ruleDx(x, dims, { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, want.ys);
    assert.deepEqual(got.dx, [1, 0, 2, 0, 0, 0, 0, 0]);
    assert.deepEqual(got.dx, want.dx);
  });

  it('padded windows fall back to MaxPool with Indices (same placement)', async () => {
    const dims = [2, 2, 6, 7];
    const g: Geo = { kernel: [2, 3], strides: [3, 3], pads: [1, 0, 0, 1], ceil: false };
    const x = data.ties(dims.reduce((a, b) => a * b, 1), 3);
    const want = oracle(x, dims, g, (j) => j + 1);
    const got = await ruleDx(x, dims, geoAttrs(g), want.ys);
    assert.equal(got.withIndices, true);
    assert.deepEqual(got.dx, want.dx);
  });

  for (const kind of ['ties', 'nan'] as const)
    it(`ceil_mode with partial last windows takes the Indices path, MaxUnpool given the overhang as end padding (${kind})`, async () => {
      const dims = [2, 2, 5, 7];
      const g: Geo = { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil: true };
      const x = data.ties(dims.reduce((a, b) => a * b, 1), 5);
      if (kind === 'nan') for (let i = 3; i < x.length; i += 11) x[i] = NaN;
      const want = oracle(x, dims, g, (j) => j + 1);
      const got = await ruleDx(x, dims, geoAttrs(g), want.ys);
      assert.equal(got.withIndices, true);
      if (kind === 'ties') assert.deepEqual(got.dx, want.dx);
      else assert.equal(got.dx.filter((v) => v !== 0).length, want.y.length, 'one receiver per window, inside the input');
    });

  it('NaN inputs (whole windows): one receiver per window, inside it; NaN-free windows as the oracle', async () => {
    const dims = [2, 3, 8, 6];
    const g: Geo = { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil: false };
    const x = data.ties(dims.reduce((a, b) => a * b, 1), 6);
    for (let i = 5; i < x.length; i += 13) x[i] = NaN;
    const want = oracle(x, dims, g, (j) => j + 1);
    const got = await ruleDx(x, dims, geoAttrs(g), want.ys);
    assert.equal(got.withIndices, false);
    assert.equal(got.dx.filter((v) => v !== 0).length, want.y.length);
    // Windows without a NaN: exactly the oracle's receiver.
    const plane = 8 * 6;
    for (let nc = 0; nc < 6; nc++)
      for (let oi = 0; oi < 4; oi++)
        for (let oj = 0; oj < 3; oj++) {
          const at = [0, 1, 6, 7].map((o) => nc * plane + oi * 12 + oj * 2 + o);
          const seen = new Set(at.map((a) => got.dx[a]).filter((v) => v !== 0));
          assert.equal(seen.size, 1, 'the window\'s dy lands in the window');
          if (at.every((a) => !Number.isNaN(x[a]))) assert.deepEqual(at.map((a) => got.dx[a]), at.map((a) => want.dx[a]));
        }
  });

  it('overlapping windows keep the Indices scatter', async () => {
    const dims = [1, 2, 7, 7];
    const g: Geo = { kernel: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0], ceil: false };
    const x = data.ties(dims.reduce((a, b) => a * b, 1), 4);
    const want = oracle(x, dims, g, (j) => j + 1);
    const got = await ruleDx(x, dims, geoAttrs(g), want.ys);
    assert.equal(got.withIndices, true);
    assert.deepEqual(got.dx, want.dx);
  });
});

describe('engine MaxPool end to end: tied maxima from different patches (oracle: TF.js per-example loop, 1e-4)', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend('cpu');
  });

  it('integer conv (3×3, weights in {−1, 0, 1}) → relu → 2×2 pool (11 → 5 reads 10) → dense, inputs in {0, 1, 2} with blank regions', async () => {
    const r = mulberry32(77);
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [13, 13, 1], filters: 3, kernelSize: 3, activation: 'relu', useBias: true }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    });
    try {
      const [k, b] = model.layers[0].getWeights();
      model.layers[0].setWeights([tf.tensor(Array.from({ length: k.size }, () => Math.floor(r() * 3) - 1), k.shape), tf.tensor(Array.from({ length: b.size }, () => Math.floor(r() * 3)), b.shape)]);
      const [w, c] = model.layers[3].getWeights();
      model.layers[3].setWeights([tf.tensor(Array.from({ length: w.size }, () => (r() - 0.5) * 0.5), w.shape), c]);
      const n = 6;
      // Left third of every image blank (0), the rest small integers.
      const x = Float32Array.from({ length: n * 169 }, (_, i) => ((i % 169) % 13 < 4 ? 0 : Math.floor(r() * 3)));
      const data = () => memoryArrays(x, [13, 13, 1], randomLabels(n, 3, 5));
      const loss = 'sparse_categorical_crossentropy_from_logits';
      // The two tie rules differ on this model and data: check that ties occur at all.
      const conv = model.layers[0].apply(tf.tensor(x, [n, 13, 13, 1])) as tf.Tensor;
      const v = (await conv.data()) as Float32Array;
      conv.dispose();
      let tiedWindows = 0;
      for (let bb = 0; bb < n; bb++)
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 5; j++)
            for (let f = 0; f < 3; f++) {
              const at = (ii: number, jj: number) => v[((bb * 11 + 2 * i + ii) * 11 + 2 * j + jj) * 3 + f];
              const w4 = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
              const m = Math.max(...w4);
              if (m > 0 && w4.filter((t) => t === m).length > 1) tiedWindows++;
            }
      assert.ok(tiedWindows > 20, `tied windows with a positive maximum: ${tiedWindows}`);
      const naive = await runEngine(await openGradProblem({ model: asLoaded(model, loss), data: data() }), { diagonal: true });
      const onnx = await runOnnxOnLayersModel(model, loss, data(), { chunkSize: 3, diagonal: true });
      assert.equal(onnx.stats.engine, 'onnx', onnx.stats.notes.join(' | '));
      assertEnginesAgree(onnx, naive, 1e-4);
    } finally {
      model.dispose();
    }
  });
});
