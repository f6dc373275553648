import { strict as assert } from 'node:assert';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isHeatcapError } from '../../../../src/core/errors';
import { loadOnnxGraph } from '../../../../src/core/model/onnx/load';
import { isError } from './support';
import { tmp } from './synth';

// Property: a damaged .onnx file (truncated, bytes flipped) either loads or is rejected with a
// HeatcapError naming it — never another exception, never a hang (mocha's timeout), never an
// allocation sized by a claimed length (protobufjs and the front-end check lengths first). Seeded.
const DIR = join(__dirname, '../../../fixtures/onnx-frontend');
const FILES = ['mlp.onnx', 'cnn_bn_preserve.onnx', 'transformer_op17.onnx', 'mlp_ext.onnx'];
const dir = tmp('onnx-fuzz-');
copyFileSync(join(DIR, 'w.bin'), join(dir, 'w.bin'));
let n = 0;

function loadsOrHeatcapError(bytes: Uint8Array): void {
  const file = join(dir, `f${n++ % 8}.onnx`);
  writeFileSync(file, bytes);
  try {
    loadOnnxGraph(file);
  } catch (e) {
    assert.ok(isHeatcapError(e), `not a HeatcapError: ${e instanceof Error ? e.stack : String(e)}`);
    assert.ok(e.file === file || e.file === join(dir, 'w.bin'), `error names another file: ${e.message}`);
  }
}

describe('fuzzing .onnx files (seeded)', () => {
  for (const name of FILES) {
    const bytes = readFileSync(join(DIR, name));

    it(`${name}: truncated at 150 cut points → loads or HeatcapError`, () => {
      const cuts = new Set<number>();
      for (let i = 0; i < 150; i++) cuts.add(Math.floor((i * bytes.length) / 150));
      for (let i = 0; i < 16; i++) cuts.add(bytes.length - 1 - i);
      for (const cut of cuts) loadsOrHeatcapError(bytes.subarray(0, Math.max(0, cut)));
    });

    it(`${name}: random byte flips → loads or HeatcapError`, () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
          const b = Uint8Array.from(bytes);
          for (const [at, v] of edits) b[at] = v;
          loadsOrHeatcapError(b);
        }),
        { seed: 14, numRuns: 150 },
      );
    });
  }

  it('a length-delimited field claiming 4 GB in a 6-byte file → malformed or truncated', () => {
    // ModelProto.graph (field 7, wire type 2) with length varint 2^32 − 1 and nothing after it.
    const file = join(dir, 'claim.onnx');
    writeFileSync(file, Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f));
    assert.throws(() => loadOnnxGraph(file), isError(file, /^malformed or truncated ONNX protobuf: /));
  });

  it('raw_data claiming more bytes than the file holds → malformed or truncated', () => {
    const bytes = readFileSync(join(DIR, 'mlp.onnx'));
    // Find the raw_data field (tag 0x4a) of fc1.weight (8·4 floats = 128 bytes: varint 0x80 0x01) and claim 2^28 bytes.
    const at = bytes.findIndex((b, i) => b === 0x4a && bytes[i + 1] === 0x80 && bytes[i + 2] === 0x01);
    assert.ok(at > 0);
    const b = Buffer.concat([bytes.subarray(0, at + 1), Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01), bytes.subarray(at + 3)]);
    const file = join(dir, 'raw.onnx');
    writeFileSync(file, b);
    assert.throws(() => loadOnnxGraph(file), isError(file, /^malformed or truncated ONNX protobuf: /));
  });
});
