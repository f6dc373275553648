import * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../errors';

export type LossKind = 'sparse_categorical_crossentropy' | 'categorical_crossentropy' | 'binary_crossentropy' | 'mse' | 'nll';

export interface LossSpec {
  kind: LossKind;
  /** The model outputs logits (Keras `from_logits=True`), not probabilities. */
  fromLogits: boolean;
  /** Where the loss came from: `model.json trainingConfig` or `--loss`. */
  source: string;
  /** PyTorch's `label_smoothing` (cross-entropy only): targets (1 − ε)·y + ε/C. */
  labelSmoothing?: number;
}

/** Keras' backend epsilon (and tfjs-layers'): probabilities are clipped to [ε, 1−ε]. */
export const KERAS_EPSILON = 1e-7;

const NAMES: Record<string, LossKind> = {
  sparse_categorical_crossentropy: 'sparse_categorical_crossentropy',
  sparsecategoricalcrossentropy: 'sparse_categorical_crossentropy',
  categorical_crossentropy: 'categorical_crossentropy',
  categoricalcrossentropy: 'categorical_crossentropy',
  binary_crossentropy: 'binary_crossentropy',
  binarycrossentropy: 'binary_crossentropy',
  mse: 'mse',
  mean_squared_error: 'mse',
  meansquarederror: 'mse',
  mse_loss: 'mse',
  nll: 'nll',
  nll_loss: 'nll',
};

/** PyTorch's names (torch.nn.functional): cross_entropy and bce_with_logits take logits. */
const TORCH_NAMES: Record<string, { kind: LossKind; fromLogits: boolean }> = {
  cross_entropy: { kind: 'categorical_crossentropy', fromLogits: true },
  crossentropyloss: { kind: 'categorical_crossentropy', fromLogits: true },
  bce_with_logits: { kind: 'binary_crossentropy', fromLogits: true },
  binary_cross_entropy_with_logits: { kind: 'binary_crossentropy', fromLogits: true },
  bcewithlogitsloss: { kind: 'binary_crossentropy', fromLogits: true },
  bce: { kind: 'binary_crossentropy', fromLogits: false },
  binary_cross_entropy: { kind: 'binary_crossentropy', fromLogits: false },
  bceloss: { kind: 'binary_crossentropy', fromLogits: false },
  nllloss: { kind: 'nll', fromLogits: false },
  mseloss: { kind: 'mse', fromLogits: false },
};

/**
 * Accepts Keras snake_case names, tfjs camelCase aliases and Keras class names, with an optional
 * `_from_logits` / `:logits` suffix on the CLI (e.g. `sparse_categorical_crossentropy_from_logits`).
 */
export function parseLossName(name: string): { kind: LossKind; fromLogits: boolean } | undefined {
  const torch = TORCH_NAMES[name.trim().toLowerCase()];
  if (torch) return { ...torch };
  let s = name.trim();
  let fromLogits = false;
  const m = /^(.*?)(?:[_:-]?from[_-]?logits|:logits)$/i.exec(s);
  if (m) {
    s = m[1];
    fromLogits = true;
  }
  const key = s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  const kind = NAMES[key] ?? NAMES[key.replace(/_/g, '')];
  return kind ? { kind, fromLogits } : undefined;
}

export const LOSS_NAMES_HELP =
  'PyTorch names cross_entropy (logits), nll (log-probabilities), bce_with_logits, bce, mse; Keras names sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy, mse (append _from_logits for logits)';

/** The loss recorded in a tfjs/Keras trainingConfig: a name, or a serialised Keras loss object. */
function lossFromTrainingConfig(tc: Record<string, unknown>, file: string): { kind: LossKind; fromLogits: boolean } | undefined {
  const loss = tc.loss;
  if (loss === undefined || loss === null) return undefined;
  if (typeof loss === 'string') {
    const p = parseLossName(loss);
    if (!p) throw new HeatcapError(file, `trainingConfig loss '${loss}' is not supported (${LOSS_NAMES_HELP}); pass --loss to override`);
    return p;
  }
  if (typeof loss === 'object' && !Array.isArray(loss)) {
    const o = loss as Record<string, unknown>;
    const className = o.class_name ?? o.className;
    const config = (o.config ?? {}) as Record<string, unknown>;
    if (typeof className === 'string') {
      const p = parseLossName(className);
      if (!p) throw new HeatcapError(file, `trainingConfig loss '${className}' is not supported (${LOSS_NAMES_HELP}); pass --loss to override`);
      return { kind: p.kind, fromLogits: config.from_logits === true || config.fromLogits === true };
    }
  }
  throw new HeatcapError(file, 'trainingConfig has one loss per output (multi-output models are not supported); pass --loss');
}

/**
 * The loss the model was trained with: `--loss` wins when given (it is the user's explicit statement),
 * else model.json's trainingConfig, else an error asking for `--loss`.
 */
export function resolveLoss(flag: string | undefined, trainingConfig: Record<string, unknown> | undefined, modelFile: string): LossSpec {
  if (flag) {
    const p = parseLossName(flag);
    if (!p) throw new HeatcapError(undefined, `--loss '${flag}' is not supported (${LOSS_NAMES_HELP})`);
    return { ...p, source: '--loss' };
  }
  const fromTc = trainingConfig ? lossFromTrainingConfig(trainingConfig, modelFile) : undefined;
  if (fromTc) return { ...fromTc, source: 'model.json' };
  throw new HeatcapError(modelFile, `records no training loss; pass --loss (${LOSS_NAMES_HELP})`);
}

export function lossLabel(spec: LossSpec): string {
  return spec.fromLogits ? `${spec.kind} (from logits)` : spec.kind;
}

/**
 * max over the last axis as a constant for autodiff: the result of logSoftmax does not depend on the
 * shift, so its gradient is zero, and tf.max's own backward (a mask through Equal) is skipped.
 */
const rowMaxConstant = tf.customGrad((...args: unknown[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.max(x, -1, true), gradFunc: () => tf.zerosLike(x) };
});

/** log softmax over the last axis: x − m − log Σ exp(x − m), m the row maximum. */
function logSoftmax(x: tf.Tensor): tf.Tensor {
  const m = rowMaxConstant(x) as tf.Tensor;
  const shifted = tf.sub(x, m);
  return tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), -1, true)));
}

/**
 * Per-example losses ℓ_b (shape [B]) with Keras semantics (keras/backend.py, TF 2.x): the loss is
 * reduced over the last axis (sum for cross-entropies, mean for binary CE and MSE), then averaged over
 * any remaining non-batch axes — so mean_b ℓ_b is exactly the batch loss Keras reports. `yTrue` holds
 * one-hot targets for both categorical losses (targets.ts builds them).
 */
export function perExampleLoss(spec: LossSpec, yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    let perElement: tf.Tensor;
    const eps = KERAS_EPSILON;
    switch (spec.kind) {
      case 'sparse_categorical_crossentropy':
      case 'categorical_crossentropy': {
        if (spec.fromLogits) {
          perElement = tf.neg(tf.sum(tf.mul(yTrue, logSoftmax(yPred)), -1));
        } else if (spec.kind === 'categorical_crossentropy') {
          // Keras: output /= Σ output; clip to [ε, 1−ε]; −Σ y log output.
          const p = tf.clipByValue(tf.div(yPred, tf.sum(yPred, -1, true)), eps, 1 - eps);
          perElement = tf.neg(tf.sum(tf.mul(yTrue, tf.log(p)), -1));
        } else {
          // Keras sparse CE on probabilities: logits = log(clip(p)), then softmax CE on those logits.
          perElement = tf.neg(tf.sum(tf.mul(yTrue, logSoftmax(tf.log(tf.clipByValue(yPred, eps, 1 - eps)))), -1));
        }
        break;
      }
      case 'binary_crossentropy': {
        let bce: tf.Tensor;
        if (spec.fromLogits) {
          // sigmoid_cross_entropy_with_logits: max(x, 0) − x·y + log(1 + exp(−|x|)).
          bce = tf.add(tf.sub(tf.relu(yPred), tf.mul(yPred, yTrue)), tf.log1p(tf.exp(tf.neg(tf.abs(yPred)))));
        } else {
          const p = tf.clipByValue(yPred, eps, 1 - eps);
          bce = tf.neg(tf.add(tf.mul(yTrue, tf.log(tf.add(p, eps))), tf.mul(tf.sub(1, yTrue), tf.log(tf.add(tf.sub(1, p), eps)))));
        }
        perElement = tf.mean(bce, -1);
        break;
      }
      case 'mse':
        perElement = tf.mean(tf.square(tf.sub(yPred, yTrue)), -1);
        break;
      case 'nll':
        // PyTorch's nll_loss: the output holds log-probabilities.
        perElement = tf.neg(tf.sum(tf.mul(yTrue, yPred), -1));
        break;
    }
    const b = yPred.shape[0];
    return perElement.rank > 1 ? tf.mean(tf.reshape(perElement, [b, -1]), 1) : perElement.reshape([b]);
  }) as tf.Tensor1D;
}
