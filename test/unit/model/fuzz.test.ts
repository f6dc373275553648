import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isHeatcapError } from '../../../src/core/errors';
import { buildSequential } from '../../../src/core/model/build';
import { loadModel, saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';

// Property: a model.json whose manifest (or a layer setting) has been altered either loads or is
// rejected with a HeatcapError — never another error, never a hang, never an allocation sized by a
// claimed shape. Seeded; the shard file is left as it is.
type Json = unknown;

function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function setAt(root: Json, path: (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let o = copy;
  for (const k of path.slice(0, -1)) {
    const next = o[k];
    // An earlier edit replaced this branch: nothing left to edit here.
    if (typeof next !== 'object' || next === null) return copy;
    o = next as Record<string | number, Json>;
  }
  o[path[path.length - 1]] = value;
  return copy;
}

const replacement = fc.oneof(
  fc.integer({ min: -3, max: 4096 }),
  fc.constantFrom(0, -1, 2 ** 31, 1e9, 2 ** 53, 0.5, null, '', 'float32', 'int32', 'string', 'complex64', 'bool', '../x.bin', 'missing.bin'),
  fc.array(fc.integer({ min: -2, max: 64 }), { maxLength: 4 }),
  fc.constantFrom({}, [], { dtype: 'uint8', scale: 1, min: 0 }, { dtype: 'float16' }, { dtype: 'int4' }),
);

describe('fuzzing model.json manifests (fast-check, seeded)', () => {
  let dir = '';
  let original: Json;
  before(async () => {
    await initBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'mfuzz-'));
    const model = buildSequential([3], [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'dense', units: 2 }], 3);
    await saveLayersModel(model, dir, { loss: 'mse' });
    original = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  });

  async function check(json: Json) {
    const file = join(dir, 'model.json');
    writeFileSync(file, JSON.stringify(json));
    try {
      await loadModel(file);
    } catch (e) {
      assert.ok(isHeatcapError(e), `unexpected ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }

  it('altered weightsManifest entries: a model or a HeatcapError', async () => {
    const targets = paths((original as { weightsManifest: Json }).weightsManifest).map((p) => ['weightsManifest', ...p]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...targets), replacement), { minLength: 1, maxLength: 3 }), async (edits) => {
        let json = original;
        for (const [p, v] of edits) json = setAt(json, p, v);
        await check(json);
      }),
      { numRuns: 250, seed: 11 },
    );
  });

  it('altered numbers in the layer configs: a model or a HeatcapError', async () => {
    const topo = (original as { modelTopology: Json }).modelTopology;
    const targets = paths(topo)
      .filter((p) => p.length > 0)
      .map((p) => ['modelTopology', ...p]);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), replacement, async (p, v) => {
        await check(setAt(original, p, v));
      }),
      { numRuns: 250, seed: 12 },
    );
  });
});
