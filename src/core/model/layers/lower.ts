import { HeatcapError } from '../../errors';
import { attr, type Attr } from '../../graph/types';
import { ONNX_INT64 } from './builder';
import { lowerActivation } from './activations';
import { axes, bool, channelsFirst, get, num, str, tuple } from './config';
import { LayerCtx, type Shape } from './context';

/** Lowers one application of a layer; returns its output values in order. */
type Lowering = (ctx: LayerCtx) => string[];

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/** Perm taking channels-last [N, …spatial, C] to channels-first [N, C, …spatial] (rank r). */
const toFirstPerm = (r: number): number[] => [0, r - 1, ...range(1, r - 1)];
/** Its inverse. */
const toLastPerm = (r: number): number[] => [0, ...range(2, r), 1];

function toFirst(ctx: LayerCtx, x: string, r: number): string {
  return ctx.op('Transpose', 'to_channels_first', [x], { perm: attr.ints(toFirstPerm(r)) });
}

function toLast(ctx: LayerCtx, x: string, r: number): string {
  return ctx.op('Transpose', 'to_channels_last', [x], { perm: attr.ints(toLastPerm(r)) });
}

function rankOf(ctx: LayerCtx, i = 0): number {
  return ctx.inShapes[i].length;
}

/** Spatial sizes of the input (null where unknown) for a layer with `n` spatial axes. */
function spatialSizes(shape: Shape, n: number, cf: boolean): (number | null)[] {
  return cf ? shape.slice(2, 2 + n) : shape.slice(1, 1 + n);
}

/**
 * ONNX padding attributes for TF's `valid` / `same` / `causal`. `same` becomes explicit pads (TF puts
 * the odd pixel at the end: SAME_UPPER) when the spatial sizes are known, else auto_pad SAME_UPPER.
 */
function padAttrs(ctx: LayerCtx, sizes: (number | null)[], k: number[], s: number[], d: number[]): Record<string, Attr> {
  const padding = str(ctx.cfg, 'padding', 'valid').toLowerCase();
  const n = k.length;
  if (padding === 'valid') return {};
  if (padding === 'causal') {
    if (n !== 1) throw ctx.error(`padding 'causal' needs one spatial axis`);
    return { pads: attr.ints([(k[0] - 1) * d[0], 0]) };
  }
  if (padding !== 'same') throw ctx.error(`padding '${padding}' is not supported`);
  if (sizes.some((v) => v === null)) return { auto_pad: attr.string('SAME_UPPER') };
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < n; i++) {
    const size = sizes[i] as number;
    const eff = (k[i] - 1) * d[i] + 1;
    const total = Math.max((Math.ceil(size / s[i]) - 1) * s[i] + eff - size, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return begin.every((v) => v === 0) && end.every((v) => v === 0) ? {} : { pads: attr.ints([...begin, ...end]) };
}

/** Notes constraints (a projection after each step, which the gradient statistics do not model). */
function checkExtras(ctx: LayerCtx): void {
  if (get(ctx.cfg, 'activityRegularizer') !== undefined) {
    throw ctx.error('has an activity regularizer, which the engine graph does not support (its penalty depends on the activations)');
  }
  for (const key of Object.keys(ctx.cfg)) {
    if (/constraint$/i.test(key) && ctx.cfg[key] !== null && ctx.cfg[key] !== undefined) {
      ctx.b.notes.push(`layer '${ctx.name}': ${key} is ignored (a projection after each step is not part of the gradient)`);
    }
  }
}

function activationOf(ctx: LayerCtx, x: string): string {
  return lowerActivation(ctx, x, get(ctx.cfg, 'activation'));
}

// ---------------------------------------------------------------------------------------------- core

const dense: Lowering = (ctx) => {
  const kernel = ctx.need('kernel', 'kernelRegularizer');
  let y = ctx.op('MatMul', 'matmul', [ctx.inputs[0], kernel]);
  if (bool(ctx.cfg, 'useBias', true)) {
    const bias = ctx.weight('bias', 'biasRegularizer');
    if (bias) y = ctx.op('Add', 'bias', [y, bias]);
  }
  return [activationOf(ctx, y)];
};

/** Conv1D/2D/3D: Transpose → Conv (W = Transpose of the tfjs kernel) → Transpose back. */
function conv(n: number): Lowering {
  return (ctx) => {
    const cf = channelsFirst(ctx.cfg);
    const r = n + 2;
    if (rankOf(ctx) !== r) throw ctx.error(`expects a rank-${r} input, got rank ${rankOf(ctx)}`);
    const kernelShape = ctx.weightShape('kernel');
    const k = tuple(ctx.cfg, 'kernelSize', n, kernelShape?.slice(0, n))!;
    const s = tuple(ctx.cfg, 'strides', n, Array(n).fill(1))!;
    const d = tuple(ctx.cfg, 'dilationRate', n, Array(n).fill(1))!;
    const groups = num(ctx.cfg, 'groups', 1);
    const kernel = ctx.need('kernel', 'kernelRegularizer');
    // tfjs kernel [...k, in, out] → ONNX W [out, in, ...k].
    const w = ctx.op('Transpose', 'kernel_oihw', [kernel], { perm: attr.ints([n + 1, n, ...range(0, n)]) });
    const x = cf ? ctx.inputs[0] : toFirst(ctx, ctx.inputs[0], r);
    const ins = [x, w];
    if (bool(ctx.cfg, 'useBias', true)) {
      const bias = ctx.weight('bias', 'biasRegularizer');
      if (bias) ins.push(bias);
    }
    const attrs: Record<string, Attr> = {
      kernel_shape: attr.ints(k),
      strides: attr.ints(s),
      dilations: attr.ints(d),
      group: attr.int(groups),
      ...padAttrs(ctx, spatialSizes(ctx.inShapes[0], n, cf), k, s, d),
    };
    const y = ctx.op('Conv', 'conv', ins, attrs);
    return [activationOf(ctx, cf ? y : toLast(ctx, y, r))];
  };
}

/** The depthwise kernel [kh, kw, in, mult] as an ONNX grouped-conv W [in·mult, 1, kh, kw] (channel c·mult + m, as TF). */
function depthwiseWeight(ctx: LayerCtx, regKey: string): { w: string; k: number[]; channels: number } {
  const shape = ctx.weightShape('depthwiseKernel');
  if (!shape) throw ctx.error('has no depthwise kernel (is the layer built?)');
  const [kh, kw, cin, mult] = shape;
  const kernel = ctx.need('depthwiseKernel', regKey);
  const t = ctx.op('Transpose', 'depthwise_t', [kernel], { perm: attr.ints([2, 3, 0, 1]) });
  const w = ctx.op('Reshape', 'depthwise_w', [t, ctx.i64('depthwise_shape', [cin * mult, 1, kh, kw])]);
  return { w, k: [kh, kw], channels: cin };
}

const depthwiseConv2d: Lowering = (ctx) => {
  const cf = channelsFirst(ctx.cfg);
  if (rankOf(ctx) !== 4) throw ctx.error(`expects a rank-4 input, got rank ${rankOf(ctx)}`);
  const { w, k, channels } = depthwiseWeight(ctx, 'depthwiseRegularizer');
  const s = tuple(ctx.cfg, 'strides', 2, [1, 1])!;
  const d = tuple(ctx.cfg, 'dilationRate', 2, [1, 1])!;
  const x = cf ? ctx.inputs[0] : toFirst(ctx, ctx.inputs[0], 4);
  const ins = [x, w];
  if (bool(ctx.cfg, 'useBias', true)) {
    const bias = ctx.weight('bias', 'biasRegularizer');
    if (bias) ins.push(bias);
  }
  const y = ctx.op('Conv', 'conv', ins, {
    kernel_shape: attr.ints(k),
    strides: attr.ints(s),
    dilations: attr.ints(d),
    group: attr.int(channels),
    ...padAttrs(ctx, spatialSizes(ctx.inShapes[0], 2, cf), k, s, d),
  });
  return [activationOf(ctx, cf ? y : toLast(ctx, y, 4))];
};

const separableConv2d: Lowering = (ctx) => {
  const cf = channelsFirst(ctx.cfg);
  if (rankOf(ctx) !== 4) throw ctx.error(`expects a rank-4 input, got rank ${rankOf(ctx)}`);
  const { w, k, channels } = depthwiseWeight(ctx, 'depthwiseRegularizer');
  const s = tuple(ctx.cfg, 'strides', 2, [1, 1])!;
  const d = tuple(ctx.cfg, 'dilationRate', 2, [1, 1])!;
  const x = cf ? ctx.inputs[0] : toFirst(ctx, ctx.inputs[0], 4);
  const dw = ctx.op('Conv', 'depthwise', [x, w], {
    kernel_shape: attr.ints(k),
    strides: attr.ints(s),
    dilations: attr.ints(d),
    group: attr.int(channels),
    ...padAttrs(ctx, spatialSizes(ctx.inShapes[0], 2, cf), k, s, d),
  });
  const pointwise = ctx.need('pointwiseKernel', 'pointwiseRegularizer');
  const pw = ctx.op('Transpose', 'pointwise_w', [pointwise], { perm: attr.ints([3, 2, 0, 1]) });
  const ins = [dw, pw];
  if (bool(ctx.cfg, 'useBias', true)) {
    const bias = ctx.weight('bias', 'biasRegularizer');
    if (bias) ins.push(bias);
  }
  const y = ctx.op('Conv', 'pointwise', ins, { kernel_shape: attr.ints([1, 1]) });
  return [activationOf(ctx, cf ? y : toLast(ctx, y, 4))];
};

const embedding: Lowering = (ctx) => {
  if (bool(ctx.cfg, 'maskZero', false)) throw ctx.error('has mask_zero=True (masks are not supported by the engine graph)');
  const table = ctx.need('embeddings', 'embeddingsRegularizer');
  const ids = ctx.op('Cast', 'ids_int64', [ctx.inputs[0]], { to: attr.int(ONNX_INT64) });
  return [ctx.op('Gather', 'gather', [table, ids], { axis: attr.int(0) })];
};

// ---------------------------------------------------------------------------------------- normalisation

/** γ (or ones), β (or zeros) of a normalisation layer with parameter shape `shape`. */
function scaleAndBias(ctx: LayerCtx, shape: number[]): [string, string] {
  const size = shape.reduce((a, b) => a * b, 1);
  const gamma = bool(ctx.cfg, 'scale', true) ? ctx.weight('gamma', 'gammaRegularizer') : undefined;
  const beta = bool(ctx.cfg, 'center', true) ? ctx.weight('beta', 'betaRegularizer') : undefined;
  return [gamma ?? ctx.f32('ones', shape, new Float32Array(size).fill(1)), beta ?? ctx.f32('zeros', shape, new Float32Array(size))];
}

const layerNorm: Lowering = (ctx) => {
  const r = rankOf(ctx);
  const ax = [...new Set(axes(ctx.cfg, 'axis', r, [-1]))].sort((a, b) => a - b);
  const first = ax[0];
  if (ax.some((a, i) => a !== first + i) || ax[ax.length - 1] !== r - 1 || first < 1) {
    throw ctx.error(`normalises axes [${ax.join(', ')}] of a rank-${r} input; only trailing axes are supported`);
  }
  const shape = ctx.weightShape('gamma') ?? ctx.weightShape('beta') ?? ctx.inShapes[0].slice(first).map(Number);
  if (shape.some((v) => !Number.isFinite(v))) throw ctx.error('normalised axes have unknown sizes');
  const [scale, bias] = scaleAndBias(ctx, shape);
  const y = ctx.op('LayerNormalization', 'layernorm', [ctx.inputs[0], scale, bias], {
    axis: attr.int(first === r - 1 ? -1 : first),
    epsilon: attr.float(num(ctx.cfg, 'epsilon', 1e-3)),
  });
  return [y];
};

const batchNorm: Lowering = (ctx) => {
  const r = rankOf(ctx);
  if (r < 2) throw ctx.error('expects an input of rank ≥ 2');
  const ax = axes(ctx.cfg, 'axis', r, [-1]);
  if (ax.length !== 1 || (ax[0] !== 1 && ax[0] !== r - 1)) throw ctx.error(`normalises axis ${ax.join(', ')} of a rank-${r} input; only the channel axis (1 or −1) is supported`);
  const shape = ctx.weightShape('movingMean');
  if (!shape) throw ctx.error('has no moving statistics');
  const [scale, bias] = scaleAndBias(ctx, shape);
  const mean = ctx.need('movingMean');
  const variance = ctx.need('movingVariance');
  const direct = ax[0] === 1;
  if (direct && r > 2) {
    ctx.b.notes.push(`layer '${ctx.name}': BatchNormalization over axis 1 of a rank-${r} input follows Keras' definition (tfjs 4.22's own predict() broadcasts the statistics over the wrong axis here)`);
  }
  const x = direct ? ctx.inputs[0] : toFirst(ctx, ctx.inputs[0], r);
  const y = ctx.op('BatchNormalization', 'batchnorm', [x, scale, bias, mean, variance], { epsilon: attr.float(num(ctx.cfg, 'epsilon', 1e-3)) });
  return [direct ? y : toLast(ctx, y, r)];
};

// -------------------------------------------------------------------------------------------- pooling

function pool(kind: 'MaxPool' | 'AveragePool', n: number): Lowering {
  return (ctx) => {
    const cf = channelsFirst(ctx.cfg);
    const r = n + 2;
    if (rankOf(ctx) !== r) throw ctx.error(`expects a rank-${r} input, got rank ${rankOf(ctx)}`);
    const k = tuple(ctx.cfg, 'poolSize', n, Array(n).fill(2))!;
    const s = tuple(ctx.cfg, 'strides', n, k)!;
    const x = cf ? ctx.inputs[0] : toFirst(ctx, ctx.inputs[0], r);
    const attrs: Record<string, Attr> = { kernel_shape: attr.ints(k), strides: attr.ints(s), ...padAttrs(ctx, spatialSizes(ctx.inShapes[0], n, cf), k, s, Array(n).fill(1)) };
    // TF's 'same' average pooling divides by the number of real (unpadded) inputs.
    if (kind === 'AveragePool') attrs.count_include_pad = attr.int(0);
    const y = ctx.op(kind, kind === 'MaxPool' ? 'maxpool' : 'avgpool', [x], attrs);
    return [cf ? y : toLast(ctx, y, r)];
  };
}

function globalPool(kind: 'ReduceMean' | 'ReduceMax', n: number): Lowering {
  return (ctx) => {
    const r = rankOf(ctx);
    if (r !== n + 2) throw ctx.error(`expects a rank-${n + 2} input, got rank ${r}`);
    const ax = channelsFirst(ctx.cfg) ? range(2, r) : range(1, r - 1);
    return [ctx.op(kind, kind === 'ReduceMean' ? 'mean' : 'max', [ctx.inputs[0]], { axes: attr.ints(ax), keepdims: attr.int(bool(ctx.cfg, 'keepdims', false) ? 1 : 0) })];
  };
}

// ------------------------------------------------------------------------------------------- reshaping

const flatten: Lowering = (ctx) => {
  const r = rankOf(ctx);
  const x = channelsFirst(ctx.cfg) && r >= 3 ? toLast(ctx, ctx.inputs[0], r) : ctx.inputs[0];
  return [ctx.op('Flatten', 'flatten', [x], { axis: attr.int(1) })];
};

const reshape: Lowering = (ctx) => {
  const target = get(ctx.cfg, 'targetShape');
  if (!Array.isArray(target)) throw ctx.error('has no target shape');
  const dims = target.map((v) => (v === null || v === undefined || Number(v) < 0 ? -1 : Number(v)));
  return [ctx.op('Reshape', 'reshape', [ctx.inputs[0], ctx.i64('shape', [0, ...dims])])];
};

const permute: Lowering = (ctx) => {
  const dims = get(ctx.cfg, 'dims');
  if (!Array.isArray(dims)) throw ctx.error('has no dims');
  return [ctx.op('Transpose', 'permute', [ctx.inputs[0]], { perm: attr.ints([0, ...dims.map(Number)]) })];
};

/** Padding config as [[before, after], …] for `n` spatial axes (an int, a pair per axis, or n ints). */
function padPairs(ctx: LayerCtx, key: string, n: number): [number, number][] {
  const v = get(ctx.cfg, key);
  if (typeof v === 'number') return Array.from({ length: n }, () => [v, v]);
  if (Array.isArray(v)) {
    if (n === 1 && v.length === 2 && v.every((e) => typeof e === 'number')) return [[Number(v[0]), Number(v[1])]];
    if (v.length === n) return v.map((e) => (Array.isArray(e) ? [Number(e[0]), Number(e[1])] : [Number(e), Number(e)]));
  }
  throw ctx.error(`cannot read ${key} ${JSON.stringify(v)}`);
}

function zeroPadding(n: number): Lowering {
  return (ctx) => {
    const r = rankOf(ctx);
    const pairs = padPairs(ctx, 'padding', n);
    const cf = channelsFirst(ctx.cfg);
    const first = cf ? 2 : 1;
    const begin = Array(r).fill(0);
    const end = Array(r).fill(0);
    pairs.forEach(([b, e], i) => {
      begin[first + i] = b;
      end[first + i] = e;
    });
    return [ctx.op('Pad', 'pad', [ctx.inputs[0], ctx.i64('pads', [...begin, ...end])], { mode: attr.string('constant') })];
  };
}

function cropping(n: number): Lowering {
  return (ctx) => {
    const pairs = padPairs(ctx, 'cropping', n);
    const first = channelsFirst(ctx.cfg) ? 2 : 1;
    const ax = range(first, first + n);
    const starts = pairs.map(([b]) => b);
    const ends = pairs.map(([, e]) => (e > 0 ? -e : Number.MAX_SAFE_INTEGER));
    return [ctx.op('Slice', 'slice', [ctx.inputs[0], ctx.i64('starts', starts), ctx.i64('ends', ends), ctx.i64('axes', ax)])];
  };
}

const upSampling2d: Lowering = (ctx) => {
  const interpolation = str(ctx.cfg, 'interpolation', 'nearest');
  if (interpolation !== 'nearest') throw ctx.error(`interpolation '${interpolation}' is not supported (only nearest)`);
  const [sh, sw] = tuple(ctx.cfg, 'size', 2, [2, 2])!;
  const scales = channelsFirst(ctx.cfg) ? [1, 1, sh, sw] : [1, sh, sw, 1];
  // Nearest neighbour with integer factors repeats every pixel: asymmetric coordinates, floor.
  return [
    ctx.op('Resize', 'resize', [ctx.inputs[0], '', ctx.f32('scales', [4], scales)], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    }),
  ];
};

const repeatVector: Lowering = (ctx) => {
  const n = num(ctx.cfg, 'n', 1);
  const x = ctx.op('Unsqueeze', 'unsqueeze', [ctx.inputs[0], ctx.i64('axes', [1])]);
  return [ctx.op('Tile', 'tile', [x, ctx.i64('repeats', [1, n, 1])])];
};

/**
 * TimeDistributed(layer) on [N, T, …]: Reshape to [N·T, …], the wrapped layer, Reshape back to
 * [N, T, …]. Dense needs no reshapes (MatMul broadcasts over T).
 */
const timeDistributed: Lowering = (ctx) => {
  const inner = (ctx.layer as unknown as { layer?: LayerCtx['layer'] }).layer;
  if (!inner) throw ctx.error('has no wrapped layer');
  const [shape] = ctx.inShapes;
  const [outShape] = ctx.outShapes;
  const innerCls = (inner as unknown as { getClassName(): string }).getClassName();
  const sub = (inputs: string[], inShapes: Shape[], outShapes: Shape[]) => lowerLayer(new LayerCtx(ctx.b, inner, inputs, inShapes, outShapes));
  if (innerCls === 'Dense') return sub(ctx.inputs, ctx.inShapes, ctx.outShapes);
  const rest = shape.slice(2);
  const outRest = outShape.slice(2);
  const t = shape[1];
  if (t === null || rest.some((d) => d === null) || outRest.some((d) => d === null)) throw ctx.error('needs known time and feature sizes');
  const flat = ctx.op('Reshape', 'merge_time', [ctx.inputs[0], ctx.i64('merged_shape', [-1, ...(rest as number[])])]);
  const [y] = sub([flat], [[null, ...rest]], [[null, ...outRest]]);
  return [ctx.op('Reshape', 'split_time', [y, ctx.i64('split_shape', [-1, t, ...(outRest as number[])])])];
};

// ----------------------------------------------------------------------------------------- activations

const identity: Lowering = (ctx) => [ctx.inputs[0]];

const activationLayer: Lowering = (ctx) => [activationOf(ctx, ctx.inputs[0])];

const relu: Lowering = (ctx) => {
  const x = ctx.inputs[0];
  const max = get(ctx.cfg, 'maxValue');
  const slope = num(ctx.cfg, 'negativeSlope', 0);
  const threshold = num(ctx.cfg, 'threshold', 0);
  let y: string;
  if (threshold !== 0) {
    // x ≥ t: x; else slope·(x − t).
    const t = ctx.scalar('threshold', threshold);
    const below = ctx.op('Mul', 'below', [ctx.op('Sub', 'shifted', [x, t]), ctx.scalar('slope', slope)]);
    y = ctx.op('Where', 'relu', [ctx.op('GreaterOrEqual', 'above', [x, t]), x, below]);
  } else {
    y = slope !== 0 ? ctx.op('LeakyRelu', 'relu', [x], { alpha: attr.float(slope) }) : ctx.op('Relu', 'relu', [x]);
  }
  if (max !== undefined) y = ctx.op('Min', 'max_value', [y, ctx.scalar('max', Number(max))]);
  return [y];
};

const leakyRelu: Lowering = (ctx) => [ctx.op('LeakyRelu', 'leaky_relu', [ctx.inputs[0]], { alpha: attr.float(num(ctx.cfg, 'alpha', num(ctx.cfg, 'negativeSlope', 0.3))) })];

const elu: Lowering = (ctx) => [ctx.op('Elu', 'elu', [ctx.inputs[0]], { alpha: attr.float(num(ctx.cfg, 'alpha', 1)) })];

const thresholdedRelu: Lowering = (ctx) => [ctx.op('ThresholdedRelu', 'thresholded_relu', [ctx.inputs[0]], { alpha: attr.float(num(ctx.cfg, 'theta', 1)) })];

const softmax: Lowering = (ctx) => {
  const ax = axes(ctx.cfg, 'axis', rankOf(ctx), [-1]);
  if (ax.length !== 1) throw ctx.error('softmax over several axes is not supported');
  return [ctx.op('Softmax', 'softmax', [ctx.inputs[0]], { axis: attr.int(ax[0]) })];
};

const prelu: Lowering = (ctx) => [ctx.op('PRelu', 'prelu', [ctx.inputs[0], ctx.need('alpha', 'alphaRegularizer')])];

const rescaling: Lowering = (ctx) => {
  const scaled = ctx.op('Mul', 'scale', [ctx.inputs[0], ctx.scalar('scale_c', num(ctx.cfg, 'scale', 1))]);
  const offset = num(ctx.cfg, 'offset', 0);
  return [offset === 0 ? scaled : ctx.op('Add', 'offset', [scaled, ctx.scalar('offset_c', offset)])];
};

const activityRegularization: Lowering = (ctx) => {
  if (num(ctx.cfg, 'l1', 0) !== 0 || num(ctx.cfg, 'l2', 0) !== 0) {
    throw ctx.error('adds an activity penalty to the loss, which the engine graph does not support');
  }
  return [ctx.inputs[0]];
};

// ---------------------------------------------------------------------------------------------- merging

function chain(op: string): Lowering {
  return (ctx) => {
    if (ctx.inputs.length < 2) throw ctx.error('needs at least two inputs');
    let y = ctx.inputs[0];
    for (let i = 1; i < ctx.inputs.length; i++) y = ctx.op(op, `${op.toLowerCase()}${i}`, [y, ctx.inputs[i]]);
    return [y];
  };
}

const average: Lowering = (ctx) => {
  const [sum] = chain('Add')(ctx);
  return [ctx.op('Mul', 'mean', [sum, ctx.scalar('inv_n', 1 / ctx.inputs.length)])];
};

const subtract: Lowering = (ctx) => {
  if (ctx.inputs.length !== 2) throw ctx.error('needs exactly two inputs');
  return [ctx.op('Sub', 'sub', ctx.inputs)];
};

const concatenate: Lowering = (ctx) => [ctx.op('Concat', 'concat', ctx.inputs, { axis: attr.int(num(ctx.cfg, 'axis', -1)) })];

/** Every layer class the lowering handles, by `getClassName()`. */
export const LOWERINGS: Record<string, Lowering> = {
  Dense: dense,
  Conv1D: conv(1),
  Conv2D: conv(2),
  Conv3D: conv(3),
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Embedding: embedding,
  LayerNormalization: layerNorm,
  BatchNormalization: batchNorm,
  MaxPooling1D: pool('MaxPool', 1),
  MaxPooling2D: pool('MaxPool', 2),
  MaxPooling3D: pool('MaxPool', 3),
  AveragePooling1D: pool('AveragePool', 1),
  AveragePooling2D: pool('AveragePool', 2),
  AveragePooling3D: pool('AveragePool', 3),
  GlobalAveragePooling1D: globalPool('ReduceMean', 1),
  GlobalAveragePooling2D: globalPool('ReduceMean', 2),
  GlobalAveragePooling3D: globalPool('ReduceMean', 3),
  GlobalMaxPooling1D: globalPool('ReduceMax', 1),
  GlobalMaxPooling2D: globalPool('ReduceMax', 2),
  GlobalMaxPooling3D: globalPool('ReduceMax', 3),
  Flatten: flatten,
  Reshape: reshape,
  Permute: permute,
  ZeroPadding1D: zeroPadding(1),
  ZeroPadding2D: zeroPadding(2),
  ZeroPadding3D: zeroPadding(3),
  Cropping1D: cropping(1),
  Cropping2D: cropping(2),
  Cropping3D: cropping(3),
  UpSampling2D: upSampling2d,
  TimeDistributed: timeDistributed,
  RepeatVector: repeatVector,
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  SpatialDropout3D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: activityRegularization,
  Activation: activationLayer,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  ELU: elu,
  ThresholdedReLU: thresholdedRelu,
  Softmax: softmax,
  PReLU: prelu,
  Rescaling: rescaling,
  Add: chain('Add'),
  Subtract: subtract,
  Multiply: chain('Mul'),
  Average: average,
  Maximum: chain('Max'),
  Minimum: chain('Min'),
  Concatenate: concatenate,
};

/** Lowers one layer application after the checks every layer shares. */
export function lowerLayer(ctx: LayerCtx): string[] {
  const f = LOWERINGS[ctx.cls];
  if (!f) {
    throw new HeatcapError(ctx.b.file, `layer '${ctx.name}' (${ctx.cls}) is not supported by the engine graph; supported: ${Object.keys(LOWERINGS).join(', ')}`);
  }
  checkExtras(ctx);
  return f(ctx);
}
