/**
 * A structural check of an AnalysisResult that arrived from outside the process: a JSON file given to
 * `heatcap report`, or a message crossing the webview boundary. It checks every field the panel and
 * the reports read (types, arrays, numbers-or-null) and the schema's major version, so a malformed
 * file is reported by path ("observed.points[3].lr: expected a number or null") instead of crashing a
 * renderer. Unknown extra fields are allowed: readers accept any 1.x (schema.ts version policy).
 */

type Check = (v: unknown, path: string, errs: string[]) => void;

const MAX_ERRORS = 20;

function push(errs: string[], path: string, what: string): void {
  if (errs.length < MAX_ERRORS) errs.push(`${path}: ${what}`);
}

const str: Check = (v, p, e) => {
  if (typeof v !== 'string') push(e, p, 'expected a string');
};
const bool: Check = (v, p, e) => {
  if (typeof v !== 'boolean') push(e, p, 'expected true or false');
};
/** JSON cannot carry NaN/Infinity; a finite number is the only valid number. */
const num: Check = (v, p, e) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) push(e, p, 'expected a finite number');
};
const nullable =
  (c: Check): Check =>
  (v, p, e) => {
    if (v !== null) c(v, p, e);
  };
const optional =
  (c: Check): Check =>
  (v, p, e) => {
    if (v !== undefined) c(v, p, e);
  };
const numOrNull = nullable(num);
const strOrNull = nullable(str);
const oneOf =
  (...values: string[]): Check =>
  (v, p, e) => {
    if (typeof v !== 'string' || !values.includes(v)) push(e, p, `expected one of ${values.join(', ')}`);
  };
const arr =
  (item: Check): Check =>
  (v, p, e) => {
    if (!Array.isArray(v)) return push(e, p, 'expected an array');
    for (let i = 0; i < v.length && e.length < MAX_ERRORS; i++) item(v[i], `${p}[${i}]`, e);
  };
const obj =
  (fields: Record<string, Check>): Check =>
  (v, p, e) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return push(e, p, 'expected an object');
    const o = v as Record<string, unknown>;
    for (const [k, c] of Object.entries(fields)) c(o[k], p ? `${p}.${k}` : k, e);
  };
const record =
  (value: Check): Check =>
  (v, p, e) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return push(e, p, 'expected an object');
    for (const [k, x] of Object.entries(v)) value(x, `${p}.${k}`, e);
  };
const pair: Check = (v, p, e) => {
  if (!Array.isArray(v) || v.length !== 2) return push(e, p, 'expected [low, high]');
  num(v[0], `${p}[0]`, e);
  num(v[1], `${p}[1]`, e);
};
const sameLength =
  (a: string, b: string): Check =>
  (v, p, e) => {
    const o = v as Record<string, unknown[]> | null;
    if (o && Array.isArray(o[a]) && Array.isArray(o[b]) && o[a].length !== o[b].length) {
      push(e, p, `${a} and ${b} have different lengths`);
    }
  };
const all =
  (...cs: Check[]): Check =>
  (v, p, e) => {
    for (const c of cs) c(v, p, e);
  };

const warning = obj({
  code: str,
  severity: oneOf('info', 'warning', 'error'),
  message: str,
  file: optional(str),
  run: optional(str),
});

const point = obj({
  run: str,
  name: str,
  lr: numOrNull,
  loss: numOrNull,
  stderr: numOrNull,
  n_used: num,
  stationary: bool,
  used_in_fit: bool,
  excluded_reason: optional(str),
  flags: arr(str),
});

const event = obj({
  run: str,
  step: num,
  lr_before: num,
  lr_after: num,
  loss_before: numOrNull,
  loss_after: numOrNull,
  loss_before_stderr: numOrNull,
  loss_after_stderr: numOrNull,
  slope: numOrNull,
  slope_stderr: numOrNull,
  settled: bool,
});

const observed = obj({
  tag: strOrNull,
  tag_reason: str,
  points: arr(point),
  slope: numOrNull,
  slope_stderr: numOrNull,
  intercept: numOrNull,
  intercept_stderr: numOrNull,
  slope_intercept_cov: optional(numOrNull),
  fit: obj({
    method: oneOf('wls_sweep', 'schedule_events', 'none'),
    n_points: num,
    chi2: numOrNull,
    dof: numOrNull,
    p_value: numOrNull,
    lr_max_used: numOrNull,
    quadratic: nullable(obj({ q: num, q_stderr: num })),
    notes: arr(str),
  }),
  events: arr(event),
});

/** predicted.finite_eta (added in 1.2): the curve's four arrays share one length. */
const finiteEta = obj({
  status: oneOf('ok', 'not_near_minimum', 'not_converged', 'unsupported', 'skipped'),
  message: str,
  parameters: numOrNull,
  directions: num,
  method: strOrNull,
  hvp: strOrNull,
  eigenvalues: arr(obj({ value: num, residual: num })),
  limits: obj({ deterministic: numOrNull, mean_square: numOrNull }),
  form: strOrNull,
  curve: nullable(all(obj({ lr: arr(num), excess: arr(num), linear: arr(num), additive: arr(num) }), sameLength('lr', 'excess'), sameLength('lr', 'linear'), sameLength('lr', 'additive'))),
  cost_gradient_passes: numOrNull,
  seconds: numOrNull,
  notes: arr(str),
});

const predicted = obj({
  slope: numOrNull,
  trace_cov: num,
  mean_sq_norm: num,
  mean_grad_sq_norm: num,
  batch_size: num,
  momentum: num,
  dampening: num,
  nesterov: bool,
  sampling: oneOf('with_replacement', 'without_replacement', 'reshuffle'),
  optimizer: str,
  weight_decay: num,
  dataset_size: numOrNull,
  formula_id: str,
  formula: str,
  assumptions: arr(str),
  regime: oneOf('linear', 'reshuffle_suppressed', 'no_finite_slope'),
  upper_bound: numOrNull,
  reshuffle_curve: nullable(all(obj({ lr: arr(num), excess: arr(num) }), sameLength('lr', 'excess'))),
  stability_lr: numOrNull,
  finite_eta: optional(nullable(finiteEta)),
  sources: record(str),
});

const labelValue: Check = (v, p, e) => {
  if (v !== undefined && typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
    push(e, p, 'expected a string or a number');
  }
};

const gradnorms = obj({
  n: num,
  mean_loss: num,
  mean_sq_norm: num,
  mean_grad_sq_norm: num,
  trace_cov: num,
  per_weight: arr(obj({ name: str, mean_sq_norm: num, size: num })),
  top: arr(obj({ index: num, sq_norm: num, label: labelValue })),
  histogram: all(
    obj({ log10_edges: arr(num), counts: arr(num), zeros: num }),
    (v, p, e) => {
      const h = v as { log10_edges?: unknown[]; counts?: unknown[] } | null;
      if (h && Array.isArray(h.log10_edges) && Array.isArray(h.counts) && h.counts.length > 0 && h.log10_edges.length !== h.counts.length + 1) {
        push(e, p, 'log10_edges must have one more entry than counts');
      }
    },
  ),
  backend: str,
  engine: str,
  seconds: num,
  model: str,
  data: str,
});

const run = obj({
  id: str,
  name: str,
  path: str,
  format: str,
  lr: numOrNull,
  lr_source: strOrNull,
  batch_size: numOrNull,
  momentum: numOrNull,
  tag: strOrNull,
  converged_loss: numOrNull,
  converged_stderr: numOrNull,
  stationary: nullable(bool),
  curve: all(obj({ steps: arr(num), values: arr(numOrNull) }), sameLength('steps', 'values')),
  lr_curve: nullable(all(obj({ steps: arr(num), values: arr(num) }), sameLength('steps', 'values'))),
  warnings: arr(str),
});

const result = obj({
  schema_version: (v, p, e) => {
    if (typeof v !== 'string' || !/^1\.\d+\.\d+/.test(v)) push(e, p, 'expected a 1.x schema version');
  },
  tool: obj({ name: str, version: str }),
  generated_at: str,
  root: str,
  sweep: nullable(obj({ id: str, name: str, path: str })),
  observed,
  predicted: nullable(predicted),
  ratio: numOrNull,
  ratio_ci: nullable(pair),
  verdict: obj({ status: oneOf('agree', 'disagree', 'not_comparable', 'no_prediction', 'no_observation'), message: str }),
  gradnorms: nullable(gradnorms),
  runs: arr(run),
  warnings: arr(warning),
});

/** Problems with `value` as an AnalysisResult (at most 20, each naming its path); empty when valid. */
export function checkResultShape(value: unknown): string[] {
  const errs: string[] = [];
  result(value, '', errs);
  return errs;
}
