/**
 * Checks that a parsed JSON value is an `AnalysisResult` the server can use: `schema_version` 1.x
 * (the schema's version policy: readers accept any 1.x) and the right types for every field the
 * lenses and hovers read. Fields the server does not read are not checked. Anything wrong throws
 * `HeatcapError(file, what)` naming the field.
 */
import { HeatcapError } from '../../core/errors';
import type { AnalysisResult } from '../../core/result/schema';

type Json = Record<string, unknown>;

export function parseAnalysisResult(value: unknown, file: string): AnalysisResult {
  const fail = (what: string): never => {
    throw new HeatcapError(file, what);
  };
  const obj = (v: unknown, where: string): Json =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : fail(`${where}: expected an object`);
  const str = (o: Json, k: string, where: string): string =>
    typeof o[k] === 'string' ? (o[k] as string) : fail(`${where}.${k}: expected a string`);
  const numOrNull = (o: Json, k: string, where: string): number | null => {
    const v = o[k];
    if (v === null || v === undefined) return null;
    return typeof v === 'number' && Number.isFinite(v) ? v : fail(`${where}.${k}: expected a number or null`);
  };
  const arr = (o: Json, k: string, where: string): unknown[] =>
    Array.isArray(o[k]) ? (o[k] as unknown[]) : fail(`${where}.${k}: expected an array`);

  const r = obj(value, 'analysis result');
  const version = typeof r.schema_version === 'string' ? r.schema_version : fail('schema_version: missing');
  if (!/^1\.\d+(\.\d+)?([-+].*)?$/.test(version)) fail(`schema_version ${JSON.stringify(version.slice(0, 40))} is not 1.x`);
  if (str(r, 'root', 'result') === '') fail('root: empty');
  str(r, 'generated_at', 'result');
  if (r.sweep !== null && r.sweep !== undefined) str(obj(r.sweep, 'sweep'), 'name', 'sweep');

  const observed = obj(r.observed, 'observed');
  numOrNull(observed, 'slope', 'observed');
  numOrNull(observed, 'slope_stderr', 'observed');
  arr(observed, 'points', 'observed').forEach((p, i) => numOrNull(obj(p, `observed.points[${i}]`), 'lr', `observed.points[${i}]`));
  const fit = obj(observed.fit, 'observed.fit');
  str(fit, 'method', 'observed.fit');
  numOrNull(fit, 'lr_max_used', 'observed.fit');
  numOrNull(fit, 'n_points', 'observed.fit');

  if (r.predicted !== null) {
    const p = obj(r.predicted, 'predicted');
    for (const k of ['slope', 'batch_size', 'momentum', 'dampening', 'upper_bound', 'stability_lr', 'dataset_size']) {
      numOrNull(p, k, 'predicted');
    }
    for (const k of ['sampling', 'optimizer', 'formula', 'formula_id', 'regime']) str(p, k, 'predicted');
    if (!['linear', 'reshuffle_suppressed', 'no_finite_slope'].includes(p.regime as string)) {
      fail(`predicted.regime: unknown value ${JSON.stringify(String(p.regime).slice(0, 40))}`);
    }
    if (p.sources !== undefined) {
      const sources = obj(p.sources, 'predicted.sources');
      for (const k of Object.keys(sources)) str(sources, k, 'predicted.sources');
    }
    if (p.reshuffle_curve !== null && p.reshuffle_curve !== undefined) {
      const c = obj(p.reshuffle_curve, 'predicted.reshuffle_curve');
      const lr = arr(c, 'lr', 'predicted.reshuffle_curve');
      const excess = arr(c, 'excess', 'predicted.reshuffle_curve');
      if (lr.length !== excess.length || ![...lr, ...excess].every((x) => typeof x === 'number' && Number.isFinite(x))) {
        fail('predicted.reshuffle_curve: lr and excess must be equally long arrays of numbers');
      }
    }
  }
  numOrNull(r, 'ratio', 'result');
  if (r.ratio_ci !== null && r.ratio_ci !== undefined) {
    const ci = r.ratio_ci;
    if (!Array.isArray(ci) || ci.length !== 2 || !ci.every((x) => typeof x === 'number')) fail('ratio_ci: expected [low, high]');
  }
  const verdict = obj(r.verdict, 'verdict');
  str(verdict, 'status', 'verdict');
  str(verdict, 'message', 'verdict');
  arr(r, 'runs', 'result').forEach((run, i) => numOrNull(obj(run, `runs[${i}]`), 'lr', `runs[${i}]`));
  return r as unknown as AnalysisResult;
}
