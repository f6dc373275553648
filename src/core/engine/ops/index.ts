/**
 * The op table: every ONNX op the gradient program can differentiate, each rule in its own file.
 * An op missing here is reported by name when a model uses it on the path from a parameter to the loss.
 */
import { abs, gelu, hardSigmoid, hardSwish, reciprocal } from './activation';
import { concat, split } from './concat';
import { conv } from './conv';
import { add, div, mul, sub } from './elementwise';
import { gather } from './gather';
import { gemm, matmul } from './matmul';
import { batchNormalization, layerNormalization } from './normalization';
import { averagePool, globalAveragePool, globalMaxPool, maxPool } from './pool';
import { pow } from './pow';
import { reduceL2, reduceMax, reduceMean, reduceMin, reduceSum, reduceSumSquare } from './reduce';
import { clip, max, min, where } from './select';
import { reshapeLike, transpose } from './reshape';
import { pad, slice } from './slice';
import { logSoftmax, softmax } from './softmax';
import { expand, tile } from './tile';
import { elu, erf, exp, leakyRelu, log, neg, notDifferentiable, passThrough, relu, sigmoid, softplus, sqrt, tanh } from './unary';
import { prelu, resize, selu, softsign, thresholdedRelu } from './keras-activations';
import type { OpRule } from './types';

export const OP_RULES: Record<string, OpRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  MatMul: matmul,
  Gemm: gemm,
  Relu: relu,
  LeakyRelu: leakyRelu,
  Elu: elu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Exp: exp,
  Log: log,
  Sqrt: sqrt,
  Neg: neg,
  Erf: erf,
  Softplus: softplus,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  Reshape: reshapeLike,
  Flatten: reshapeLike,
  Squeeze: reshapeLike,
  Unsqueeze: reshapeLike,
  Transpose: transpose,
  Identity: passThrough,
  Dropout: passThrough,
  Cast: passThrough,
  Shape: notDifferentiable,
  Constant: notDifferentiable,
  ConstantOfShape: notDifferentiable,
  Range: notDifferentiable,
  Equal: notDifferentiable,
  GreaterOrEqual: notDifferentiable,
  Selu: selu,
  Softsign: softsign,
  ThresholdedRelu: thresholdedRelu,
  PRelu: prelu,
  Resize: resize,
  Not: notDifferentiable,
  ArgMax: notDifferentiable,
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  Gather: gather,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Tile: tile,
  Expand: expand,
  Pow: pow,
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  ReduceMax: reduceMax,
  ReduceMin: reduceMin,
  ReduceSumSquare: reduceSumSquare,
  ReduceL2: reduceL2,
  Where: where,
  Clip: clip,
  Max: max,
  Min: min,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Gelu: gelu,
  Abs: abs,
  Reciprocal: reciprocal,
  Size: notDifferentiable,
};
