import * as tf from '@tensorflow/tfjs';

/**
 * tf.fused.conv2d splits into separate conv, bias-add and activation ops whenever a gradient is being
 * recorded, since tfjs cannot differentiate its fused kernels. Inside fusedBlock (activation.ts) the
 * forward runs within a tf.customGrad, whose body the tape never records (the backward is ours), so
 * the fused kernel is safe there; on wasm it spares the extra passes over the output (measured: the
 * benchmark CNN's first conv 8.2 → 3.9 ms, B = 256). Call this only inside a custom-gradient forward.
 * (The same for tf.fused.matMul made no measurable difference to the MLP: Dense keeps tf.fused.matMul.)
 */
export function fusedConv2dKernel(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor | undefined,
  strides: [number, number],
  pad: 'same' | 'valid',
  dilations: [number, number],
  activation: 'linear' | 'relu' | 'sigmoid',
): tf.Tensor4D {
  const inputs = { x, filter, bias } as unknown as tf.NamedTensorMap;
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations, activation } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(tf.FusedConv2D, inputs, attrs) as tf.Tensor4D;
}

