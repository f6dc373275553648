import { attr } from '../../graph/types';
import { serialized } from './config';
import type { LayerCtx } from './context';

/** Activation names the lowering knows (tfjs and Keras spellings, normalised to snake_case). */
export const SUPPORTED_ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'sigmoid', 'hard_sigmoid', 'tanh', 'softmax', 'log_softmax', 'elu', 'selu', 'softplus', 'softsign',
  'swish', 'silu', 'hard_silu', 'hard_swish', 'mish', 'gelu', 'gelu_new', 'exponential', 'leaky_relu',
] as const;

/** tfjs' SELU constants (activations.ts), which ONNX's float defaults round differently. */
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** `hardSigmoid` → `hard_sigmoid`, `logSoftmax` → `log_softmax`. */
export function activationName(raw: string): string {
  return raw.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Lowers an activation (a name, or a serialized {className, config}) applied to `x`; returns the
 * output value (`x` itself for linear). `suffix` prefixes the emitted nodes' names.
 */
export function lowerActivation(ctx: LayerCtx, x: string, spec: unknown, suffix = 'act'): string {
  const s = serialized(spec);
  if (!s) return x;
  const [raw, c] = s;
  const name = activationName(raw);
  const op = (o: string, ins: string[], attrs = {}, tag = name) => ctx.op(o, `${suffix}_${tag}`, ins, attrs);
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return op('Relu', [x]);
    case 'relu6':
      return op('Clip', [x, ctx.scalar(`${suffix}_min`, 0), ctx.scalar(`${suffix}_max`, 6)]);
    case 'sigmoid':
      return op('Sigmoid', [x]);
    case 'hard_sigmoid':
      // tfjs and Keras 2: clip(0.2·x + 0.5, 0, 1).
      return op('HardSigmoid', [x], { alpha: attr.float(0.2), beta: attr.float(0.5) });
    case 'tanh':
      return op('Tanh', [x]);
    case 'softmax':
      return op('Softmax', [x], { axis: attr.int(-1) });
    case 'log_softmax':
      return op('LogSoftmax', [x], { axis: attr.int(-1) });
    case 'elu':
      return op('Elu', [x], { alpha: attr.float(Number(c.alpha ?? 1)) });
    case 'selu':
      return op('Selu', [x], { alpha: attr.float(SELU_ALPHA), gamma: attr.float(SELU_SCALE) });
    case 'softplus':
      return op('Softplus', [x]);
    case 'softsign':
      return op('Softsign', [x]);
    case 'exponential':
      return op('Exp', [x]);
    case 'leaky_relu':
      // Keras' leaky_relu activation: negative_slope 0.2 by default.
      return op('LeakyRelu', [x], { alpha: attr.float(Number(c.negative_slope ?? c.negativeSlope ?? c.alpha ?? 0.2)) });
    case 'swish':
    case 'silu':
      return op('Mul', [x, op('Sigmoid', [x], {}, `${name}_sigmoid`)]);
    case 'hard_silu':
    case 'hard_swish':
      // Keras 3: x·relu6(x + 3)/6.
      return op('HardSwish', [x]);
    case 'mish': {
      const sp = op('Softplus', [x], {}, 'mish_softplus');
      return op('Mul', [x, op('Tanh', [sp], {}, 'mish_tanh')]);
    }
    case 'gelu':
    case 'gelu_new': {
      if (name === 'gelu_new' || c.approximate === true) {
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        const x3 = op('Mul', [x, op('Mul', [x, x], {}, 'gelu_x2')], {}, 'gelu_x3');
        const inner = op('Add', [x, op('Mul', [x3, ctx.scalar(`${suffix}_gelu_c`, 0.044715)], {}, 'gelu_cx3')], {}, 'gelu_inner');
        const t = op('Tanh', [op('Mul', [inner, ctx.scalar(`${suffix}_gelu_k`, Math.sqrt(2 / Math.PI))], {}, 'gelu_scaled')], {}, 'gelu_tanh');
        const half = op('Mul', [x, ctx.scalar(`${suffix}_gelu_half`, 0.5)], {}, 'gelu_halfx');
        return op('Mul', [half, op('Add', [t, ctx.scalar(`${suffix}_gelu_one`, 1)], {}, 'gelu_1p')]);
      }
      // x·Φ(x) = 0.5·x·(1 + erf(x/√2))
      const e = op('Erf', [op('Div', [x, ctx.scalar(`${suffix}_gelu_sqrt2`, Math.SQRT2)], {}, 'gelu_div')], {}, 'gelu_erf');
      const half = op('Mul', [x, ctx.scalar(`${suffix}_gelu_half`, 0.5)], {}, 'gelu_halfx');
      return op('Mul', [half, op('Add', [e, ctx.scalar(`${suffix}_gelu_one`, 1)], {}, 'gelu_1p')]);
    }
    default:
      throw ctx.error(`activation '${raw}' is not supported by the engine graph; supported: ${SUPPORTED_ACTIVATIONS.join(', ')}`);
  }
}
