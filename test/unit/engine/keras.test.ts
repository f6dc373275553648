/**
 * The ONNX engine on real Keras files (test/fixtures/keras: Keras 3 `.keras` and a TF 2.10 `.h5`),
 * against test/fixtures/keras/make_oracle.py: the weights read with h5py and every example's gradient
 * norm of the recorded loss computed by its own PyTorch float64 interpreter. Tolerance 1e-4 relative per
 * example (float32 program), floor 1e-6 of the mean.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { computeOnnxPartial } from '../../../src/core/engine/compute';
import { openEngineProblem } from '../../../src/core/engine/problem';
import { readNpy } from '../../../src/core/data/npy';

const DIR = join(__dirname, '../../fixtures/keras');

describe('ONNX engine on real Keras files vs PyTorch float64 (h5py-read weights)', function () {
  this.timeout(120_000);
  for (const [name, file] of [
    ['flownet_mlp', 'flownet_mlp.keras'],
    ['mnist_cnn_tf210', 'mnist_cnn_tf210.h5'],
    ['crispr_resnet1d', 'crispr_resnet1d.keras'],
  ]) {
    it(`${file}: every example's ‖g_b‖² of the recorded loss`, async () => {
      const problem = await openEngineProblem({ model: join(DIR, file), data: { data: join(DIR, `x_${name}.npy`), labels: join(DIR, `t_${name}.npy`) } });
      try {
        const norms = new Float64Array(problem.n);
        const r = await computeOnnxPartial(problem, { threads: 1, chunkSize: 64, onNorms: (s, v) => norms.set(v, s) });
        assert.equal(r.engine, 'onnx', r.notes.join(' | '));
        const want = readNpy(join(DIR, `g2_${name}.npy`)).data;
        const mean = want.reduce((a, b) => a + b, 0) / want.length;
        want.forEach((w, b) => assert.ok(Math.abs(norms[b] - w) <= 1e-4 * Math.max(w, 1e-6 * mean), `example ${b}: ${norms[b]} vs ${w}`));
      } finally {
        problem.close();
      }
    });
  }
});
