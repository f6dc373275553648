import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { checkResultShape } from '../../../src/core/report/resultShape';
import { assertValidResult, undeclaredKeys } from '../../support/resultSchema';
import { fixture, FIXTURE_NAMES } from './fixtures';

describe('report/resultShape and the result fixtures', () => {
  for (const name of FIXTURE_NAMES) {
    it(`fixture ${name} is a valid result by analysis-result.schema.json and by checkResultShape`, () => {
      const r = fixture(name);
      assertValidResult(r);
      assert.deepEqual(undeclaredKeys(JSON.parse(JSON.stringify(r))), []);
      assert.deepEqual(checkResultShape(r), []);
    });
  }

  it('names the path of each problem', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately breaking typed fields
    const r = fixture('iid-sweep') as any;
    r.observed.points[2].lr = 'fast';
    r.runs[1].curve.values = [1, 2];
    r.gradnorms.histogram.counts.push(3);
    r.schema_version = '2.0.0';
    const errs = checkResultShape(r);
    assert.ok(errs.includes('observed.points[2].lr: expected a finite number'), errs.join('\n'));
    assert.ok(errs.includes('runs[1].curve: steps and values have different lengths'), errs.join('\n'));
    assert.ok(errs.some((e) => e.startsWith('gradnorms.histogram: log10_edges')), errs.join('\n'));
    assert.ok(errs.includes('schema_version: expected a 1.x schema version'), errs.join('\n'));
  });

  it('checks predicted.finite_eta when present (1.2), and accepts its absence (1.0/1.1)', () => {
    const r = fixture('finite-eta');
    const fe = r.predicted!.finite_eta!;
    const bad = { ...r, predicted: { ...r.predicted!, finite_eta: { ...fe, status: 'great', curve: { ...fe.curve!, linear: [1] } } } };
    assert.deepEqual(checkResultShape(bad), [
      'predicted.finite_eta.status: expected one of ok, not_near_minimum, not_converged, unsupported, skipped',
      'predicted.finite_eta.curve: lr and linear have different lengths',
    ]);
    const older = fixture('iid-sweep');
    assert.equal(older.predicted?.finite_eta, undefined);
    assert.deepEqual(checkResultShape(older), []);
  });

  it('never throws and never reports more than 20 problems, whatever the input (property, seeded)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const errs = checkResultShape(v);
        assert.ok(errs.length >= 1 && errs.length <= 20);
      }),
      { seed: 7, numRuns: 300 },
    );
    const huge = fixture('iid-sweep') as unknown as { runs: unknown[] };
    huge.runs = Array.from({ length: 1000 }, () => ({ bad: true }));
    assert.equal(checkResultShape(huge).length, 20);
  });
});
