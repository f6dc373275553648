import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, encodeModel, type OnnxModel } from '../../../../src/core/onnx/proto';
import { loadOnnxGraph } from '../../../../src/core/model/onnx/load';
import { isError } from './support';
import { tmp } from './synth';

// mlp_ext.onnx keeps every initializer in w.bin (onnx.save_model(..., save_as_external_data=True,
// all_tensors_to_one_file=True, location='w.bin', size_threshold=0)); oracle: mlp.onnx, the same tensors inline.
const DIR = join(__dirname, '../../../fixtures/onnx-frontend');

/** A fresh folder holding a copy of mlp_ext.onnx and w.bin. */
function copyExt(): { dir: string; model: string; bin: string } {
  const dir = tmp('onnx-ext-');
  copyFileSync(join(DIR, 'mlp_ext.onnx'), join(dir, 'mlp_ext.onnx'));
  copyFileSync(join(DIR, 'w.bin'), join(dir, 'w.bin'));
  return { dir, model: join(dir, 'mlp_ext.onnx'), bin: join(dir, 'w.bin') };
}

/** Rewrites the external_data entries of the first initializer. */
function editFirst(model: string, entries: Record<string, string>): void {
  const m: OnnxModel = decodeModel(readFileSync(model));
  const t = m.graph?.initializer?.[0];
  assert.ok(t?.external_data);
  t.external_data = t.external_data.map((e) => ({ key: e.key, value: entries[e.key ?? ''] ?? e.value }));
  writeFileSync(model, encodeModel(m));
}

describe('ONNX external data', () => {
  it('tensors in an external file load as the same parameters as inline ones (bit-equal)', () => {
    const ext = loadOnnxGraph(join(DIR, 'mlp_ext.onnx'));
    const inline = loadOnnxGraph(join(DIR, 'mlp.onnx'));
    assert.deepEqual(
      ext.params.map((p) => [p.name, p.tensor.dims, Array.from(p.tensor.data as Float32Array)]),
      inline.params.map((p) => [p.name, p.tensor.dims, Array.from(p.tensor.data as Float32Array)]),
    );
  });

  it('a missing external file: the error names it', () => {
    const { model, bin } = copyExt();
    unlinkSync(bin);
    assert.throws(() => loadOnnxGraph(model), isError(bin, /external data file of tensor 'fc1.weight' cannot be opened \(ENOENT\)/));
  });

  it('an external file shorter than offset + length: the error names it and the sizes', () => {
    const { model, bin } = copyExt();
    truncateSync(bin, 100);
    // fc1.weight is bytes 0–127; the first tensor past byte 100 is fc1.weight itself.
    assert.throws(() => loadOnnxGraph(model), isError(bin, /^is 100 bytes, shorter than the 128 \(offset 0 \+ length 128\) tensor 'fc1.weight' needs$/));
  });

  it('a claimed length far past the end of the file is refused before any allocation', () => {
    const { model, bin } = copyExt();
    editFirst(model, { length: '999999999999' });
    assert.throws(() => loadOnnxGraph(model), isError(bin, /shorter than/));
  });

  it('a length that disagrees with the tensor shape is refused', () => {
    const { model, bin } = copyExt();
    editFirst(model, { length: '64' });
    assert.throws(() => loadOnnxGraph(model), isError(bin, /claims 64 bytes of external data, its shape and type need 128/));
  });

  it('a non-numeric offset is refused', () => {
    const { model } = copyExt();
    editFirst(model, { offset: '-4' });
    assert.throws(() => loadOnnxGraph(model), isError(model, /offset '-4' is not a non-negative integer/));
  });

  for (const location of ['../w.bin', 'sub/../../w.bin', '/etc/passwd', 'C:\\w.bin', '..\\w.bin']) {
    it(`a location that leaves the model's folder is refused: ${location}`, () => {
      const { model } = copyExt();
      editFirst(model, { location });
      assert.throws(() => loadOnnxGraph(model), isError(model, /leaves the model's folder/));
    });
  }

  it('a symbolic link pointing out of the model folder is refused', () => {
    const outer = copyExt();
    const inner = join(outer.dir, 'inner');
    mkdirSync(inner);
    copyFileSync(outer.model, join(inner, 'mlp_ext.onnx'));
    symlinkSync(outer.bin, join(inner, 'w.bin'));
    assert.throws(() => loadOnnxGraph(join(inner, 'mlp_ext.onnx')), isError(join(inner, 'w.bin'), /resolves outside the model's folder/));
  });

  it('a location in a subfolder of the model folder is read', () => {
    const { dir, model, bin } = copyExt();
    mkdirSync(join(dir, 'data'));
    copyFileSync(bin, join(dir, 'data', 'w.bin'));
    unlinkSync(bin);
    const m: OnnxModel = decodeModel(readFileSync(model));
    for (const t of m.graph?.initializer ?? []) t.external_data = t.external_data?.map((e) => (e.key === 'location' ? { key: 'location', value: 'data/w.bin' } : e));
    writeFileSync(model, encodeModel(m));
    assert.equal(loadOnnxGraph(model).params.length, 4);
  });
});
