import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { AnalysisResult } from '../../../src/core/result/schema';
import { cellText } from '../../../src/core/report/format';
import { curvesTable, eventDrop, eventsTable, histogramTable, perWeightTable, pointsTable, predictedDrop, runsTable, topTable, type Table } from '../../../src/core/report/tables';
import { verdictView } from '../../../src/core/report/verdict';
import { fixture, FIXTURE_NAMES } from './fixtures';

function allTables(r: AnalysisResult): Table[] {
  return [pointsTable(r), eventsTable(r), histogramTable(r), topTable(r), perWeightTable(r), runsTable(r), curvesTable(r)].filter((t): t is Table => t !== null);
}

/** Columns that quote the logs' own words ("loss became NaN at step 20"): not numbers we format. */
const QUOTED = new Set(['Warnings', 'Note']);

/** Every number-bearing string a reader sees for a result: table cells and the verdict card. */
function shownTexts(r: AnalysisResult): string[] {
  const v = verdictView(r);
  return [
    ...allTables(r).flatMap((t) => t.rows.flatMap((row) => row.filter((_, i) => !QUOTED.has(t.columns[i])).map(cellText))),
    ...allTables(r).map((t) => t.note ?? ''),
    ...v.facts.map((f) => cellText(f.cell)),
    cellText(v.ratio),
    cellText(v.ratioCi),
  ];
}

const BAD_WORDS = /\b(NaN|undefined|null|Infinity)\b/;

describe('report/tables and verdict', () => {
  it('computes a schedule event’s drop, its SE (independent plateaus: √(SE₁² + SE₂²)) and the predicted s·Δη (oracle: hand arithmetic)', () => {
    const r = fixture('schedule-events');
    const e = r.observed.events[0];
    const { drop, se } = eventDrop(e);
    assert.ok(Math.abs((drop as number) - (0.0643 - 0.04352)) < 1e-15);
    assert.ok(Math.abs((se as number) - Math.sqrt(0.00061 ** 2 + 0.00018 ** 2)) < 1e-15);
    assert.ok(Math.abs((predictedDrop(r, e) as number) - 0.2148 * (0.1 - 0.01)) < 1e-15);
    const row = eventsTable(r).rows[0].map(cellText);
    assert.equal(row[2], '0.1 → 0.01');
    assert.equal(row[5], '0.02078 ± 0.00064');
    assert.equal(row[6], '0.01933');
    assert.equal(row[7], '1.075');
  });

  it('per-weight shares sum to 100% (squared norms of different weights add up)', () => {
    const t = perWeightTable(fixture('schedule-events')) as Table;
    const total = t.rows.reduce((s, row) => s + Number.parseFloat(row[3].text), 0);
    assert.ok(Math.abs(total - 100) <= 0.2, `rounded shares sum to ${total} (4 shares rounded to 0.1%: ±0.2)`);
  });

  it('fills the points table with fitted and predicted L(η) = a + sη (oracle: hand arithmetic on the fixture’s numbers)', () => {
    const r = fixture('iid-sweep');
    const row = pointsTable(r).rows[2];
    const a = r.observed.intercept as number;
    assert.equal(row[6].text, String(Number((a + (r.observed.slope as number) * 0.01).toPrecision(4))));
    assert.equal(row[7].text, String(Number((a + (r.predicted?.slope as number) * 0.01).toPrecision(4))));
    assert.equal(pointsTable(r).rows[4][8].text, 'beyond the linear range (quadratic term significant above η = 0.02)');
  });

  it('states the verdict of each fixture', () => {
    const expect: Record<string, [string, string, string]> = {
      'iid-sweep': ['agree', '1.001', '[0.979, 1.024]'],
      'schedule-events': ['agree', '1.075', '[1.010, 1.140]'],
      'reshuffle-sweep': ['not_comparable', '— (not comparable (see the verdict))', '— (not comparable (see the verdict))'],
      'no-prediction': ['no_prediction', '— (no prediction)', '— (no prediction)'],
      gaps: ['no_observation', '— (no finite predicted slope)', '— (no finite predicted slope)'],
    };
    for (const [name, [status, ratio, ci]] of Object.entries(expect)) {
      const v = verdictView(fixture(name as never));
      assert.deepEqual([v.status, cellText(v.ratio), cellText(v.ratioCi)], [status, ratio, ci], name);
    }
    const v = verdictView(fixture('reshuffle-sweep'));
    assert.ok(v.facts.some((f) => f.label === 'i.i.d. upper bound' && f.cell.text === '0.02644'));
    assert.deepEqual(v.warnings.map((w) => w.code), ['reshuffle_linear_law_fails', 'linear_fit_inadequate']);
  });

  it('under reshuffling with the model curve, says the ratio compares excess losses', () => {
    const r = fixture('reshuffle-sweep');
    const agreed = { ...r, ratio: 1.01, ratio_ci: [0.99, 1.03] as [number, number], verdict: { status: 'agree' as const, message: 'model agrees' } };
    const v = verdictView(agreed);
    assert.equal(v.headline, 'No linear law (random reshuffling); the reshuffling model agrees');
    assert.equal(v.ratioLabel, 'observed / predicted excess loss');
    assert.equal(verdictView(fixture('iid-sweep')).ratioLabel, 'observed / predicted');
  });

  it('lists warnings errors first', () => {
    const v = verdictView(fixture('hostile'));
    assert.deepEqual(v.warnings.map((w) => w.severity), ['error', 'warning', 'info']);
  });

  for (const name of FIXTURE_NAMES) {
    it(`shows no NaN/undefined/null/Infinity as a number for fixture ${name}`, () => {
      for (const t of shownTexts(fixture(name))) assert.doesNotMatch(t, BAD_WORDS);
    });
  }

  it('shows no NaN/undefined/null/Infinity when any number of the result is null (property, seeded)', () => {
    const base = fixture('iid-sweep');
    const paths: string[][] = [];
    const walk = (v: unknown, p: string[]): void => {
      if (typeof v === 'number') paths.push(p);
      else if (v && typeof v === 'object' && !(Array.isArray(v) && v.length > 50)) for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    };
    walk(base, []);
    fc.assert(
      fc.property(fc.subarray(paths, { minLength: 1 }), (chosen) => {
        const r = JSON.parse(JSON.stringify(base));
        for (const p of chosen) {
          let o = r;
          for (const k of p.slice(0, -1)) o = o[k];
          o[p[p.length - 1]] = null;
        }
        for (const t of shownTexts(r)) assert.doesNotMatch(t, BAD_WORDS);
      }),
      { seed: 11, numRuns: 150 },
    );
  });
});
