/**
 * The ONNX operators (default domain) this front-end accepts, with the first opset each exists in where
 * that is above 13. The list is what PyTorch exports of MLPs, CNNs (BatchNorm, pooling, residuals) and
 * small transformers contain, including the shape arithmetic and attention-mask ops around them (and
 * the Pad torch writes before an AveragePool with padding).
 */
import { HeatcapError } from '../../errors';

/** Opsets of the default domain the front-end reads. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 20;

const SINCE: Record<string, number> = {
  Gemm: 13, MatMul: 13, Conv: 13, BatchNormalization: 13, LayerNormalization: 17, Gather: 13,
  Relu: 13, LeakyRelu: 13, Sigmoid: 13, Tanh: 13, Erf: 13, Softmax: 13, LogSoftmax: 13, Elu: 13, Gelu: 20,
  Softplus: 13, Clip: 13, HardSigmoid: 13, HardSwish: 14, PRelu: 13, Selu: 13, Softsign: 13, ThresholdedRelu: 13,
  MaxPool: 13, AveragePool: 13, GlobalAveragePool: 13, GlobalMaxPool: 13, Resize: 13,
  Flatten: 13, Reshape: 13, Transpose: 13, Pad: 13, Squeeze: 13, Unsqueeze: 13, Concat: 13, Split: 13, Slice: 13, Tile: 13, Expand: 13,
  Add: 13, Sub: 13, Mul: 13, Div: 13, Pow: 13, Sqrt: 13, Neg: 13, Exp: 13, Log: 13, Max: 13, Min: 13, Abs: 13, Reciprocal: 13,
  ReduceMean: 13, ReduceSum: 13, ReduceMax: 13, ReduceMin: 13, ReduceSumSquare: 13, ReduceL2: 13, ArgMax: 13,
  Constant: 13, Identity: 13, Shape: 13, Size: 13, Cast: 13, Dropout: 13, ConstantOfShape: 13, Range: 13, Equal: 13, GreaterOrEqual: 13, Where: 13, Not: 13,
};

export const SUPPORTED_OPS: readonly string[] = Object.keys(SINCE);

/** Throws a one-line error naming the op, the node and the opset when the front-end cannot take a node. */
export function checkOp(model: string, op: string, domain: string, node: string, opset: number): void {
  if (domain !== '' && domain !== 'ai.onnx') {
    throw new HeatcapError(model, `node '${node}': operator ${domain}.${op} is outside the default ONNX domain (only ai.onnx operators are supported)`);
  }
  const since = SINCE[op];
  if (since === undefined) {
    throw new HeatcapError(model, `node '${node}': operator ${op} (opset ${opset}) is not supported; supported: ${SUPPORTED_OPS.join(', ')}`);
  }
  if (opset < since) {
    throw new HeatcapError(model, `node '${node}': operator ${op} needs opset ${since} or later, the model imports opset ${opset}`);
  }
}
