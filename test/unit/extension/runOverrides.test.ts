import { strict as assert } from 'node:assert';
import { parseLearningRate, RunOverrides } from '../../../src/extension/state/runOverrides';

describe('extension: run overrides (excluded runs, η set by hand)', () => {
  it('excludes and includes a run per folder, immutably', () => {
    const a = RunOverrides.empty();
    const b = a.withExcluded('/r', 'run1', true);
    assert.equal(a.isExcluded('/r', 'run1'), false);
    assert.equal(b.isExcluded('/r', 'run1'), true);
    assert.equal(b.isExcluded('/other', 'run1'), false);
    assert.equal(b.withExcluded('/r', 'run1', false).isExcluded('/r', 'run1'), false);
  });

  it('sets and forgets η; refuses η ≤ 0 or not finite', () => {
    const o = RunOverrides.empty().withLr('/r', 'a', 0.01);
    assert.equal(o.lrOf('/r', 'a'), 0.01);
    assert.equal(o.withLr('/r', 'a', null).lrOf('/r', 'a'), undefined);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => o.withLr('/r', 'a', bad), RangeError);
  });

  it('round-trips through JSON (workspaceState), runs named like object internals included', () => {
    const o = RunOverrides.empty().withExcluded('/r', '__proto__', true).withLr('/r', 'constructor', 0.5).withLr('/s', 'x', 2e-4);
    const back = RunOverrides.fromJSON(JSON.parse(JSON.stringify(o.toJSON())));
    assert.equal(back.isExcluded('/r', '__proto__'), true);
    assert.equal(back.lrOf('/r', 'constructor'), 0.5);
    assert.equal(back.lrOf('/s', 'x'), 2e-4);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('drops what it cannot read from a stored state instead of guessing', () => {
    for (const raw of [undefined, null, 42, 'x', { version: 2, roots: [] }, { version: 1, roots: 'no' }]) {
      assert.deepEqual(RunOverrides.fromJSON(raw).toJSON(), { version: 1, roots: [] });
    }
    const o = RunOverrides.fromJSON({ version: 1, roots: [{ root: '/r', excluded: ['a', 3], lr: [['b', -1], ['c', 0.1], 'junk'] }, { root: 7 }] });
    assert.deepEqual(o.toJSON(), { version: 1, roots: [{ root: '/r', excluded: ['a'], lr: [['c', 0.1]] }] });
  });

  it('forgets a folder once nothing is overridden there', () => {
    const o = RunOverrides.empty().withExcluded('/r', 'a', true).withExcluded('/r', 'a', false);
    assert.deepEqual(o.toJSON().roots, []);
  });
});

describe('extension: learning rate input', () => {
  it('accepts decimals and exponents, with spaces around', () => {
    assert.deepEqual(parseLearningRate(' 0.01 '), { ok: true, value: 0.01 });
    assert.deepEqual(parseLearningRate('1e-3'), { ok: true, value: 1e-3 });
    assert.deepEqual(parseLearningRate('3E-4'), { ok: true, value: 3e-4 });
    assert.deepEqual(parseLearningRate('.5'), { ok: true, value: 0.5 });
  });

  it('refuses zero, negatives, hex, separators, words and overflow with a message', () => {
    for (const t of ['', '0', '-0.1', '0x10', '1_000', 'fast', '1e999', '0.1.2', 'NaN', 'Infinity']) {
      const r = parseLearningRate(t);
      assert.equal(r.ok, false, t);
      if (!r.ok) assert.ok(r.error.length > 0);
    }
  });
});
