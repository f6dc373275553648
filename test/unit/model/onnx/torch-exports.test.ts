import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadOnnxGraph } from '../../../../src/core/model/onnx/load';
import { TORCH_EXPORT_RECIPE } from '../../../../src/core/model/onnx/export-recipe';
import { assertTopological, sumSq } from './support';

// Oracle: PyTorch's model.named_parameters() of the exported model (names, shapes, float64 Σw²),
// recorded by test/fixtures/onnx-frontend/make.py. Σw² agrees to 1e-12 relative (same float32 values).
const DIR = join(__dirname, '../../../fixtures/onnx-frontend');
interface Expected {
  opset: number;
  params: { name: string; shape: number[]; sumsq: number }[];
}
const expected = (JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { models: Record<string, Expected> }).models;

describe('ONNX front-end on torch.onnx.export files', () => {
  for (const [file, want] of Object.entries(expected)) {
    it(`${file}: parameters are named_parameters() (names, order, shapes, Σw² to 1e-12)`, () => {
      const g = loadOnnxGraph(join(DIR, file));
      assert.equal(g.format, 'onnx');
      assert.equal(g.opset, want.opset);
      assert.deepEqual(
        g.params.map((p) => p.name),
        want.params.map((p) => p.name),
      );
      g.params.forEach((p, i) => {
        assert.deepEqual(p.tensor.dims, want.params[i].shape, p.name);
        assert.equal(p.tensor.dtype, 'float32');
        assert.ok(Math.abs(sumSq(p.tensor.data as Float32Array) - want.params[i].sumsq) <= 1e-12 * want.params[i].sumsq, p.name);
      });
      assert.ok(!g.nodes.some((n) => n.op === 'Constant'), 'Constant nodes are folded into constants');
      assertTopological(g);
      assert.deepEqual(g.output, { name: 'output', dtype: 'float32', shape: [null, 3] });
    });
  }

  it('CNN with BatchNorm (PRESERVE): running statistics are constants, hasBatchNorm, no folding warning', () => {
    const g = loadOnnxGraph(join(DIR, 'cnn_bn_preserve.onnx'));
    assert.equal(g.facts.hasBatchNorm, true);
    assert.deepEqual(
      g.constants.map((c) => c.name),
      ['bn1.running_mean', 'bn1.running_var', 'bn2.running_mean', 'bn2.running_var'],
    );
    assert.deepEqual(g.input, { name: 'input', dtype: 'float32', shape: [null, 1, 8, 8] });
    assert.ok(!g.notes.some((n) => /constant-folded/.test(n)));
    // torch wrote bn2's initial weights as Identity copies of bn1's: they are parameters of their own.
    assert.ok(g.notes.some((n) => /'bn2.weight'.*copies/.test(n)));
    assert.ok(!g.nodes.some((n) => n.op === 'Identity'));
    assert.equal(g.nodes.filter((n) => n.op === 'BatchNormalization')[1].inputs[1], 'bn2.weight');
  });

  it('the same CNN exported with defaults: BatchNorm folded into Conv is detected and the export recipe given', () => {
    const g = loadOnnxGraph(join(DIR, 'cnn_bn_folded.onnx'));
    assert.equal(g.facts.hasBatchNorm, false);
    const note = g.notes.find((n) => /constant-folded/.test(n));
    assert.ok(note, 'a folding warning');
    assert.match(note, /BatchNorm is folded into the Conv weights/);
    assert.match(note, /'onnx::Conv_27'/);
    assert.ok(note.includes(TORCH_EXPORT_RECIPE));
  });

  it('transformer: token-id input, learned positional table and LayerNorm weights are parameters, GELU scalars constants', () => {
    for (const file of ['transformer_op17.onnx', 'transformer_op13.onnx']) {
      const g = loadOnnxGraph(join(DIR, file));
      assert.deepEqual(g.input, { name: 'input', dtype: 'int64', shape: [null, 6] });
      assert.equal(g.params[0].name, 'pos');
      const scalars = g.constants.filter((c) => c.tensor.dtype === 'float32' && c.tensor.data.length === 1).map((c) => Number(c.tensor.data[0]));
      for (const v of [0.5, 1, Math.SQRT2]) assert.ok(scalars.some((s) => Math.abs(s - v) < 1e-6), `${file}: constant ${v}`);
      assert.equal(g.facts.hasBatchNorm, false);
    }
    const op13 = loadOnnxGraph(join(DIR, 'transformer_op13.onnx'));
    // The written-out LayerNorm: the exponent 2 of Pow and the epsilon are constants.
    const pow = op13.nodes.find((n) => n.op === 'Pow');
    assert.ok(pow && op13.constants.some((c) => c.name === pow.inputs[1]));
  });
});

describe('ONNX front-end on torch modules that hide their parameters', () => {
  it('TransformerEncoderLayer + class token: the copies of fresh LayerNorm weights in named_parameters() order; cls is a parameter', () => {
    const g = loadOnnxGraph(join(DIR, 'vit_op17.onnx'));
    const names = g.params.map((p) => p.name);
    assert.deepEqual(names.slice(0, 2), ['cls', 'pos']);
    assert.deepEqual(names.slice(-6), ['enc.norm1.weight', 'enc.norm1.bias', 'enc.norm2.weight', 'enc.norm2.bias', 'head.weight', 'head.bias']);
    assert.ok(g.notes.some((n) => /'enc.norm1.bias'.*written as copies/.test(n)));
  });

  it('nn.MultiheadAttention and a learned one-element scale (torch-named, not onnx::) are parameters', () => {
    const g = loadOnnxGraph(join(DIR, 'mha_op13.onnx'));
    assert.deepEqual(g.params[0].name, 'scale');
    assert.deepEqual(g.params[0].tensor.dims, [1]);
    assert.ok(g.params.some((p) => p.name === 'att.in_proj_weight'));
  });
});

// The gradient-engine fixtures (test/fixtures/onnx, another commit): their per_weight lists are PyTorch's
// named_parameters(); the folded CNN must warn.
const SHARED = join(__dirname, '../../../fixtures/onnx');
describe('ONNX front-end on the gradient-engine fixtures (test/fixtures/onnx)', () => {
  const dirs = existsSync(SHARED) ? readdirSync(SHARED).filter((d) => existsSync(join(SHARED, d, 'model.onnx'))) : [];
  it('are present', function () {
    if (dirs.length === 0) this.skip();
  });
  for (const d of dirs) {
    const oracle = join(SHARED, d, 'oracle.json');
    for (const model of readdirSync(join(SHARED, d)).filter((f) => f.endsWith('.onnx'))) {
      it(`${d}/${model}: loads; parameters as oracle.json lists them (a folded export without oracle: warns)`, () => {
        const g = loadOnnxGraph(join(SHARED, d, model));
        assertTopological(g);
        if (existsSync(oracle)) {
          const o = JSON.parse(readFileSync(oracle, 'utf8')) as { per_weight: { name: string; shape: number[] }[] };
          assert.deepEqual(
            g.params.map((p) => [p.name, p.tensor.dims]),
            o.per_weight.map((w) => [w.name, w.shape]),
          );
          assert.ok(!g.notes.some((n) => /constant-folded/.test(n)));
        } else if (/folded/.test(d)) {
          assert.ok(g.notes.some((n) => /constant-folded/.test(n)));
        }
      });
    }
  }
});
