// Assertions shared by the ONNX front-end tests.
import { strict as assert } from 'node:assert';
import { HeatcapError } from '../../../../src/core/errors';
import type { EngineGraph } from '../../../../src/core/graph/types';

/** An assert.throws validator: a HeatcapError about `file` (when given) whose text matches. */
export function isError(file: string | undefined, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof HeatcapError, `not a HeatcapError: ${String(e)}`);
    if (file !== undefined) assert.equal(e.file, file);
    assert.match(e.what, pattern);
    assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
    return true;
  };
}

/** Every node input is the model input, a parameter, a constant or an earlier node's output. */
export function assertTopological(g: EngineGraph): void {
  const known = new Set<string>([g.input.name, '', ...g.params.map((p) => p.name), ...g.constants.map((c) => c.name)]);
  for (const n of g.nodes) {
    for (const v of n.inputs) assert.ok(known.has(v), `node '${n.name}' reads '${v}' before it is defined`);
    for (const o of n.outputs) known.add(o);
  }
  assert.ok(known.has(g.output.name));
}

/** Σx² of a float array, in float64. */
export function sumSq(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}
