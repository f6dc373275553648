import { strict as assert } from 'node:assert';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_FILE_EXTENSIONS, modelFormatOf } from '../../../../src/core/model/format';
import { TORCH_EXPORT_RECIPE } from '../../../../src/core/model/onnx/export-recipe';
import { isError } from './support';
import { tmp } from './synth';

const dir = tmp('model-format-');
const HDF5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** The first bytes of a zip whose first entry is `name` (a local file header; enough for sniffing). */
function zipHead(name: string): Uint8Array {
  const header = new Uint8Array(30);
  header.set([0x50, 0x4b, 0x03, 0x04]);
  header[26] = name.length;
  return Buffer.concat([header, Buffer.from(name, 'latin1'), new Uint8Array(64)]);
}

function file(name: string, bytes: ArrayLike<number> | string): string {
  const path = join(dir, name);
  writeFileSync(path, typeof bytes === 'string' ? bytes : Uint8Array.from(bytes));
  return path;
}

/** The weights-without-architecture error: one line, the export call, never "not valid JSON". */
function weightsOnly(path: string) {
  return (e: unknown) => {
    isError(path, /^holds weights without the architecture \(the architecture is the model's Python code, which is never executed\); export the model to ONNX/)(e);
    assert.ok((e as Error).message.includes(TORCH_EXPORT_RECIPE));
    assert.doesNotMatch((e as Error).message, /JSON/);
    return true;
  };
}

describe('modelFormatOf: which front-end reads a model file', () => {
  it('by extension: model.json, .onnx, .keras (zip), .h5/.hdf5 (HDF5)', () => {
    assert.equal(modelFormatOf(file('model.json', '{"format": "layers-model"}')), 'tfjs');
    const onnx = join(dir, 'net.onnx');
    copyFileSync(join(__dirname, '../../../fixtures/onnx-frontend/mlp.onnx'), onnx);
    assert.equal(modelFormatOf(onnx), 'onnx');
    assert.equal(modelFormatOf(file('m.keras', zipHead('metadata.json'))), 'keras');
    assert.equal(modelFormatOf(file('m.h5', [...HDF5, 0, 0])), 'h5');
    assert.equal(modelFormatOf(file('m.HDF5', [...HDF5])), 'h5');
  });

  it('by content where the extension is ambiguous or missing', () => {
    // Keras 2 wrote HDF5 under any name; an HDF5 user block puts the signature at byte 512.
    assert.equal(modelFormatOf(file('old.keras', [...HDF5])), 'h5');
    assert.equal(modelFormatOf(file('block.h5', [...new Array(512).fill(0), ...HDF5])), 'h5');
    assert.equal(modelFormatOf(file('v3.h5', zipHead('config.json'))), 'keras');
    assert.equal(modelFormatOf(file('model', '  {"modelTopology": {}}')), 'tfjs');
    const onnx = join(dir, 'exported');
    copyFileSync(join(__dirname, '../../../fixtures/onnx-frontend/mlp.onnx'), onnx);
    assert.equal(modelFormatOf(onnx), 'onnx');
    assert.throws(() => modelFormatOf(file('bad.h5', 'hello')), isError(join(dir, 'bad.h5'), /is neither a Keras archive \(zip\) nor an HDF5 file/));
    assert.throws(() => modelFormatOf(file('notes.txt', 'hello')), isError(join(dir, 'notes.txt'), /is not a model file this extension reads \(\.json, \.onnx, \.keras, \.h5, \.hdf5\)/));
  });

  for (const ext of ['.pt', '.pth', '.ckpt', '.bin', '.safetensors', '.PT']) {
    it(`a PyTorch checkpoint (${ext}): weights without the architecture, and the export call to run`, () => {
      const path = join(dir, `model${ext}`);
      assert.throws(() => modelFormatOf(path), weightsOnly(path));
    });
  }

  it('a torch.save zip or pickle under another name is recognised by its bytes', () => {
    for (const name of ['model.onnx', 'model.keras', 'model.json', 'checkpoint']) {
      const path = file(name, zipHead('archive/data.pkl'));
      assert.throws(() => modelFormatOf(path), weightsOnly(path));
    }
    const pickle = file('legacy', [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46]);
    assert.throws(() => modelFormatOf(pickle), weightsOnly(pickle));
  });

  it('a missing file', () => {
    const path = join(dir, 'absent.onnx');
    assert.throws(() => modelFormatOf(path), isError(path, /^cannot open \(ENOENT\)$/));
  });

  it('file pickers offer the extensions the front-ends read', () => {
    assert.deepEqual([...MODEL_FILE_EXTENSIONS], ['json', 'onnx', 'keras', 'h5', 'hdf5']);
  });
});
