import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { unzipSync, zipSync } from 'fflate';
import { isHeatcapError } from '../../../../src/core/errors';
import { loadKerasModel } from '../../../../src/core/model/keras';
import { initBackend } from '../../../../src/core/tf/backend';

// Property: a real Keras file that has been truncated or had bytes flipped either loads or is
// rejected with a HeatcapError that names it — never another error, never a crash of the HDF5
// reader. Flips favour the first kilobytes, where HDF5 keeps its superblock and object headers (raw
// weight data further on has no checksum: flipping it still loads). Seeded.
const FIXTURES = join(__dirname, '../../../fixtures/keras');

describe('fuzzing real Keras files (fast-check, seeded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keras-fuzz-'));
  const h5 = new Uint8Array(readFileSync(join(FIXTURES, 'mnist_cnn_tf210.h5')));
  const archive = unzipSync(new Uint8Array(readFileSync(join(FIXTURES, 'flownet_mlp.keras'))));
  const weights = archive['model.weights.h5'];
  let n = 0;

  // tfjs warns (console.warn) when a flipped digit in a config makes a layer's declared input shape
  // disagree with what reaches it; that is expected here and only noise in the test output.
  const warn = console.warn;
  before(async () => {
    await initBackend('cpu');
    console.warn = () => undefined;
  });
  after(() => {
    console.warn = warn;
  });

  async function loadsOrNamesFile(bytes: Uint8Array, ext: string): Promise<void> {
    const p = join(dir, `f${n++}${ext}`);
    writeFileSync(p, bytes);
    try {
      const m = await loadKerasModel(p);
      m.model.dispose();
    } catch (e) {
      assert.ok(isHeatcapError(e), `not a HeatcapError: ${e instanceof Error ? e.stack : String(e)}`);
      assert.equal(e.file, p);
      assert.doesNotMatch(e.what, /crashed/, 'the HDF5 reader trapped');
    }
  }

  const flips = (size: number) =>
    fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: Math.min(size, 8192) - 1 }), fc.integer({ min: 0, max: size - 1 })), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 });
  const flip = (src: Uint8Array, fs: [number, number][]) => {
    const b = src.slice();
    for (const [at, bit] of fs) b[at] ^= 1 << bit;
    return b;
  };

  it('truncated legacy .h5 files', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: h5.length - 1 }), (len) => loadsOrNamesFile(h5.subarray(0, len), '.h5')),
      { numRuns: 20, seed: 21 },
    );
  });

  it('legacy .h5 files with flipped bits', async () => {
    await fc.assert(
      fc.asyncProperty(flips(h5.length), (fs) => loadsOrNamesFile(flip(h5, fs), '.h5')),
      { numRuns: 40, seed: 22 },
    );
  });

  it('.keras archives whose model.weights.h5 has flipped bits (re-zipped, so the CRC matches)', async () => {
    await fc.assert(
      fc.asyncProperty(flips(weights.length), (fs) => loadsOrNamesFile(zipSync({ ...archive, 'model.weights.h5': flip(weights, fs) }), '.keras')),
      { numRuns: 40, seed: 23 },
    );
  });

  it('truncated and bit-flipped .keras archives', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'flownet_mlp.keras')));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), flips(bytes.length), (len, fs) => loadsOrNamesFile(flip(bytes, fs).subarray(0, len), '.keras')),
      { numRuns: 20, seed: 24 },
    );
  });

  it('leaves the HDF5 reader intact: the undamaged files still load afterwards', async () => {
    for (const name of ['mnist_cnn_tf210.h5', 'flownet_mlp.keras']) {
      const m = await loadKerasModel(join(FIXTURES, name));
      assert.ok(m.model.trainableWeights.length > 0);
      m.model.dispose();
    }
  });
});
