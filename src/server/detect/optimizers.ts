/**
 * Known optimizer constructors, recognised from the dotted callee as written (`torch.optim.SGD`,
 * `optim.AdamW`, `tf.keras.optimizers.SGD`, `optax.sgd`, `tf.compat.v1.train.MomentumOptimizer`).
 * For these the learning rate may also be passed by position; any other call counts only with an
 * `lr=`/`learning_rate=` keyword.
 */
export interface KnownOptimizer {
  /** Lower-case family, as `RunHparams.optimizer` spells it (`sgd`, `adam`, `adamw`, `rmsprop`, …). */
  family: string;
  /** Index of the learning rate among positional arguments. */
  lrPosition: number;
  /** The parameter's name in that library, shown as the setting's key when passed by position. */
  lrName: string;
}

/** optax's optimizer aliases whose first parameter is `learning_rate` (optax/_src/alias.py). */
const OPTAX_OPTIMIZERS = new Set([
  'sgd', 'adam', 'adamw', 'adamax', 'adamaxw', 'amsgrad', 'adabelief', 'adadelta', 'adafactor', 'adagrad',
  'adan', 'fromage', 'lamb', 'lars', 'lion', 'nadam', 'nadamw', 'noisy_sgd', 'novograd', 'radam', 'rmsprop',
  'sm3', 'yogi', 'rprop', 'polyak_sgd',
]);

/** tf.train (TF1) optimizer class → family; their first parameter is `learning_rate`. */
const TF1_FAMILIES: Record<string, string> = {
  GradientDescentOptimizer: 'sgd',
  MomentumOptimizer: 'sgd',
  AdamOptimizer: 'adam',
  RMSPropOptimizer: 'rmsprop',
  AdagradOptimizer: 'adagrad',
  AdadeltaOptimizer: 'adadelta',
  FtrlOptimizer: 'ftrl',
};

export function knownOptimizer(callee: string): KnownOptimizer | undefined {
  const parts = callee.split('.');
  const name = parts[parts.length - 1];
  const owner = parts.length >= 2 ? parts[parts.length - 2] : '';
  // torch.optim.SGD(params, lr=…): lr is the second parameter.
  if (owner === 'optim' && /^[A-Z]/.test(name)) return { family: name.toLowerCase(), lrPosition: 1, lrName: 'lr' };
  // keras.optimizers.SGD(learning_rate=…), tf.optimizers.Adam(…): the first.
  if (owner === 'optimizers' && /^[A-Z]/.test(name)) {
    return { family: name.toLowerCase(), lrPosition: 0, lrName: 'learning_rate' };
  }
  if (parts.length === 2 && owner === 'optax' && OPTAX_OPTIMIZERS.has(name)) {
    return { family: name === 'noisy_sgd' || name === 'polyak_sgd' ? 'sgd' : name, lrPosition: 0, lrName: 'learning_rate' };
  }
  if (owner === 'train' && Object.hasOwn(TF1_FAMILIES, name)) {
    return { family: TF1_FAMILIES[name], lrPosition: 0, lrName: 'learning_rate' };
  }
  return undefined;
}
