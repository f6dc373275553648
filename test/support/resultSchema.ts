import Ajv2020 from 'ajv/dist/2020';
import schema from '../../src/core/result/analysis-result.schema.json';

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);

/** Throws with every schema violation listed when `value` is not a valid AnalysisResult document. */
export function assertValidResult(value: unknown): void {
  if (!validate(value)) {
    const errs = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new Error(`analysis result does not match analysis-result.schema.json: ${errs}`);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type SchemaNode = { type?: unknown; properties?: Record<string, SchemaNode>; items?: SchemaNode; $ref?: string; anyOf?: SchemaNode[] };

/**
 * Lists keys present in `value` that the JSON Schema does not declare (the schema allows extra
 * properties for forward compatibility, so ajv alone would not notice a field missing from it).
 */
export function undeclaredKeys(value: Json, node: SchemaNode = schema as SchemaNode, path = ''): string[] {
  const resolve = (n: SchemaNode): SchemaNode => {
    if (n.$ref) return resolve((schema as { $defs: Record<string, SchemaNode> }).$defs[n.$ref.replace('#/$defs/', '')]);
    if (n.anyOf) return resolve(n.anyOf.find((a) => a.type !== 'null') ?? n.anyOf[0]);
    return n;
  };
  const n = resolve(node);
  if (Array.isArray(value)) return value.flatMap((v, i) => (n.items ? undeclaredKeys(v, n.items, `${path}/${i}`) : []));
  if (value && typeof value === 'object') {
    const props = n.properties;
    if (!props) return [];
    return Object.entries(value).flatMap(([k, v]) =>
      props[k] ? undeclaredKeys(v, props[k], `${path}/${k}`) : [`${path}/${k}`],
    );
  }
  return [];
}
