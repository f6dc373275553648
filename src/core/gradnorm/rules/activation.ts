import * as tf from '@tensorflow/tfjs';

/**
 * The layer's own activation, applied through tfjs' Activation layer so its semantics (softmax axis,
 * gelu variant, …) are exactly those of the layer being replaced.
 */
export function activationOf(config: Record<string, unknown>): (x: tf.Tensor) => tf.Tensor {
  const name = activationName(config);
  if (name === 'linear') return (x) => x;
  const layer = tf.layers.activation({ activation: name as never });
  return (x) => layer.apply(x) as tf.Tensor;
}

export function activationName(config: Record<string, unknown>): string {
  const a = config.activation;
  return typeof a === 'string' ? a : 'linear';
}

/** Activations whose derivative we write from the output y alone, for the fused custom backward. */
const FROM_OUTPUT = new Set(['linear', 'relu', 'sigmoid', 'tanh', 'softmax']);

export function hasFastBackward(name: string): boolean {
  return FROM_OUTPUT.has(name);
}

/** tfjs fused kernels can apply these activations themselves. */
export function fusedActivation(name: string): 'linear' | 'relu' | 'sigmoid' | undefined {
  return name === 'linear' || name === 'relu' || name === 'sigmoid' ? name : undefined;
}

/**
 * δ = ∂L/∂z from ∂L/∂y and y = σ(z): relu: dy·[y > 0]; sigmoid: dy·y(1−y); tanh: dy·(1−y²);
 * softmax over the last axis: y∘(dy − Σ dy∘y) (its Jacobian diag(y) − yyᵀ). Same values as tfjs'
 * registered gradients (relu's uses step(z), and z > 0 ⟺ y > 0).
 */
export function activationBackward(name: string, y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'linear':
      return dy;
    case 'relu':
      return tf.mul(dy, tf.step(y));
    case 'sigmoid':
      return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
    case 'tanh':
      return tf.mul(dy, tf.sub(1, tf.square(y)));
    case 'softmax':
      return tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), -1, true)));
    default:
      throw new Error(`no fast backward for activation ${name}`);
  }
}

/**
 * The fused block y = σ(linear(x) + b) as one tape node (tfjs' tape then records nothing inside it,
 * and saves no clones — on wasm every saved tensor is a copy). Its backward computes δ from y, hands it
 * to `capture`, and returns the input gradient `inputGrad(δ)` when the input needs one. `x` is passed
 * as a tape input only in that case; `e` always is (it keeps the block on the gradient path).
 */
export function fusedBlock(
  x: tf.Tensor,
  e: tf.Tensor,
  act: string,
  forward: (x: tf.Tensor) => tf.Tensor,
  inputGrad: ((delta: tf.Tensor) => tf.Tensor) | undefined,
  capture: (delta: tf.Tensor) => void,
  hold: <T extends tf.Tensor>(t: T) => T,
): tf.Tensor {
  const f = tf.customGrad((...args: unknown[]) => {
    const input = inputGrad ? (args[0] as tf.Tensor) : x;
    const y = hold(forward(input));
    return {
      value: y,
      gradFunc: (dy: tf.Tensor) => {
        const delta = tf.keep(activationBackward(act, y, dy));
        capture(delta);
        const de = tf.zeros([]);
        return inputGrad ? [inputGrad(delta), de] : [de];
      },
    };
  });
  return (inputGrad ? f(x, e) : f(e)) as tf.Tensor;
}
