import * as tf from '@tensorflow/tfjs';
import { throwIfCancelled, type CancelToken } from '../cancel';
import { perExampleLoss } from '../gradnorm/loss';
import type { GradProblem } from '../gradnorm/problem';
import { mulberry32 } from '../random';

export interface TrainOptions {
  optimizer?: 'sgd' | 'adam';
  learningRate: number;
  epochs: number;
  /** Minibatch size (default: the whole training set, i.e. full-batch gradient descent). */
  batchSize?: number;
  /** Seed of the per-epoch shuffling (mulberry32). */
  seed?: number;
  token?: CancelToken;
  onEpoch?: (epoch: number, meanLoss: number) => void;
}


/**
 * Trains a (small) model in place on its problem's data: minimise mean_b ℓ_b + the layers' own
 * penalties with SGD or Adam, deterministic for a given seed (reshuffled each epoch). Meant for test
 * fixtures, the demo and the sweep lab's starting checkpoints; the whole training set is held in memory.
 * Runs on the current backend (conv models need `cpu`: wasm has no Conv2DBackpropFilter).
 */
export async function trainModel(problem: GradProblem, opts: TrainOptions): Promise<{ epochLosses: number[] }> {
  const n = problem.n;
  const xs = new Float32Array(n * problem.inputs.rowSize);
  problem.inputs.readRows(0, n, xs);
  const ys = problem.targets.read(0, n);
  const vars = problem.params.map((p) => p.variable.read() as tf.Variable);
  const optimizer = opts.optimizer === 'adam' ? tf.train.adam(opts.learningRate) : tf.train.sgd(opts.learningRate);
  const batch = Math.max(1, Math.min(n, opts.batchSize ?? n));
  const rand = mulberry32(opts.seed ?? 1);
  const order = Array.from({ length: n }, (_, i) => i);
  const xb = new Float32Array(batch * problem.inputs.rowSize);
  const yb = new Float32Array(batch * problem.targets.size);
  const epochLosses: number[] = [];
  const penalties = () => problem.model.layers.flatMap((l) => l.calculateLosses());
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      throwIfCancelled(opts.token);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      let sum = 0;
      for (let s = 0; s + batch <= n; s += batch) {
        for (let k = 0; k < batch; k++) {
          const b = order[s + k];
          xb.set(xs.subarray(b * problem.inputs.rowSize, (b + 1) * problem.inputs.rowSize), k * problem.inputs.rowSize);
          yb.set(ys.subarray(b * problem.targets.size, (b + 1) * problem.targets.size), k * problem.targets.size);
        }
        const cost = tf.tidy(() => {
          const x = tf.tensor(xb, [batch, ...problem.inputs.rowShape]);
          const y = tf.tensor(yb, [batch, ...problem.outputShape]);
          return optimizer.minimize(() => tf.addN([tf.mean(perExampleLoss(problem.loss, y, problem.model.apply(x, { training: false }) as tf.Tensor)), ...penalties()]) as tf.Scalar, true, vars) as tf.Scalar;
        });
        sum += cost.dataSync()[0];
        cost.dispose();
      }
      const mean = sum / Math.floor(n / batch);
      epochLosses.push(mean);
      opts.onEpoch?.(epoch, mean);
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    optimizer.dispose();
  }
  return { epochLosses };
}
