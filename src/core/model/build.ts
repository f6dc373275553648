import * as tf from '@tensorflow/tfjs';

/** A small, JSON-describable layer list for building models in tests, the sweep lab and the demo. */
export type LayerSpec =
  | { type: 'dense'; units: number; activation?: string; useBias?: boolean; kernelL1?: number; kernelL2?: number; biasL2?: number }
  | { type: 'conv2d'; filters: number; kernelSize: number | [number, number]; strides?: number | [number, number]; padding?: 'valid' | 'same'; dilation?: number; activation?: string; kernelL2?: number }
  | { type: 'maxPool2d'; poolSize: number }
  | { type: 'flatten' }
  | { type: 'dropout'; rate: number }
  | { type: 'embedding'; inputDim: number; outputDim: number; embeddingsL2?: number }
  | { type: 'layerNorm'; axis?: number }
  | { type: 'batchNorm'; axis?: number }
  | { type: 'activation'; activation: string };

function penalty(l1?: number, l2?: number) {
  return l1 || l2 ? tf.regularizers.l1l2({ l1: l1 ?? 0, l2: l2 ?? 0 }) : undefined;
}

/**
 * A Sequential model with deterministic (seeded) initial weights: layer i's initialisers use seed+i.
 * Biases and normalisation parameters get small seeded random values too (not zeros), so tests see
 * every weight's gradient path.
 */
export function buildSequential(inputShape: number[], specs: LayerSpec[], seed = 1): tf.Sequential {
  const model = tf.sequential();
  specs.forEach((s, i) => {
    const first = i === 0 ? { inputShape } : {};
    const init = tf.initializers.glorotUniform({ seed: seed + i });
    const small = tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1000 + i });
    switch (s.type) {
      case 'dense':
        model.add(tf.layers.dense({ ...first, units: s.units, activation: (s.activation ?? 'linear') as never, useBias: s.useBias ?? true, kernelInitializer: init, biasInitializer: small, kernelRegularizer: penalty(s.kernelL1, s.kernelL2), biasRegularizer: penalty(0, s.biasL2) }));
        break;
      case 'conv2d':
        model.add(tf.layers.conv2d({ ...first, filters: s.filters, kernelSize: s.kernelSize, strides: s.strides ?? 1, padding: s.padding ?? 'valid', dilationRate: s.dilation ?? 1, activation: (s.activation ?? 'linear') as never, kernelInitializer: init, biasInitializer: small, kernelRegularizer: penalty(0, s.kernelL2) }));
        break;
      case 'maxPool2d':
        model.add(tf.layers.maxPooling2d({ ...first, poolSize: s.poolSize }));
        break;
      case 'flatten':
        model.add(tf.layers.flatten(first));
        break;
      case 'dropout':
        model.add(tf.layers.dropout({ ...first, rate: s.rate }));
        break;
      case 'embedding':
        model.add(tf.layers.embedding({ ...first, inputDim: s.inputDim, outputDim: s.outputDim, embeddingsInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: seed + i }), embeddingsRegularizer: penalty(0, s.embeddingsL2) }));
        break;
      case 'layerNorm':
        model.add(tf.layers.layerNormalization({ ...first, axis: s.axis ?? -1, gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed + i }), betaInitializer: small }));
        break;
      case 'batchNorm':
        model.add(
          tf.layers.batchNormalization({
            ...first,
            axis: s.axis ?? -1,
            gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed + i }),
            betaInitializer: small,
            movingMeanInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: seed + 2000 + i }),
            movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: seed + 3000 + i }),
          }),
        );
        break;
      case 'activation':
        model.add(tf.layers.activation({ ...first, activation: s.activation as never }));
        break;
    }
  });
  return model;
}
