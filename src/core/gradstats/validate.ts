/**
 * A small JSON Schema interpreter for the subset the product's own schemas use (type, const, enum,
 * properties, required, items, minimum, minLength, pattern): ajv is a devDependency only, so runtime
 * validation of gradstats.json reads the committed schema with this. The tests check that ajv (draft
 * 2020-12, strict) and this validator agree on valid and invalid files.
 */
type Node = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  minimum?: number;
  minLength?: number;
  pattern?: string;
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const got = typeOf(v);
  return got === t || (t === 'number' && got === 'integer');
}

/** Every violation of `schema` by `value`, as `<JSON pointer> <message>` (at most `limit`). */
export function schemaErrors(value: unknown, schema: object, limit = 20): string[] {
  const errs: string[] = [];
  const visit = (v: unknown, n: Node, path: string): void => {
    if (errs.length >= limit) return;
    const at = path || '/';
    if (n.const !== undefined && v !== n.const) {
      errs.push(`${at} must be ${JSON.stringify(n.const)}, got ${JSON.stringify(v)}`);
      return;
    }
    if (n.enum && !n.enum.includes(v)) {
      errs.push(`${at} must be one of ${n.enum.map((e) => JSON.stringify(e)).join(', ')}`);
      return;
    }
    if (n.type !== undefined) {
      const types = Array.isArray(n.type) ? n.type : [n.type];
      if (!types.some((t) => typeMatches(v, t))) {
        errs.push(`${at} must be ${types.join(' or ')}, got ${typeOf(v)}`);
        return;
      }
    }
    if (typeof v === 'number' && n.minimum !== undefined && !(v >= n.minimum)) errs.push(`${at} must be ≥ ${n.minimum}, got ${v}`);
    if (typeof v === 'string') {
      if (n.minLength !== undefined && v.length < n.minLength) errs.push(`${at} must not be empty`);
      if (n.pattern !== undefined && !new RegExp(n.pattern, 'u').test(v)) errs.push(`${at} must match ${n.pattern}`);
    }
    if (Array.isArray(v) && n.items) {
      for (let i = 0; i < v.length && errs.length < limit; i++) visit(v[i], n.items, `${path}/${i}`);
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      for (const k of n.required ?? []) if (!Object.prototype.hasOwnProperty.call(o, k)) errs.push(`${at} must have property '${k}'`);
      for (const [k, sub] of Object.entries(n.properties ?? {})) {
        if (Object.prototype.hasOwnProperty.call(o, k)) visit(o[k], sub, `${path}/${k}`);
      }
    }
  };
  visit(value, schema as Node, '');
  return errs;
}
