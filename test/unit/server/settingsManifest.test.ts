/**
 * package.json `contributes.configuration` against the language server's declaration of its settings
 * (`ServerSettings` in src/shared/lspProtocol.ts) and the code that reads them (src/server/config.ts):
 * same keys, compatible JSON-schema types, same defaults, and a default the server reads back as is.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigSection, ServerSettings } from '../../../src/shared/lspProtocol';
import { configFromSection, DEFAULT_CONFIG } from '../../../src/server/config';

interface ManifestSetting {
  type: string | string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const properties = manifest.contributes.configuration.properties as Record<string, ManifestSetting>;
const declared = Object.values(ServerSettings);

/** JSON schema types a TypeScript type of ServerSettings may be declared as in the manifest. */
const SCHEMA_TYPES: Record<string, string[]> = { boolean: ['boolean'], number: ['number', 'integer'], string: ['string'] };

/** `heatcap.server.maxFileSize` → `{ server: { maxFileSize: value } }`, the shape workspace/configuration returns. */
function section(entries: [key: string, value: unknown][]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const path = key.split('.').slice(1);
    let at = root;
    for (const p of path.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]] = value;
  }
  return root;
}

describe('language server settings: package.json manifest ↔ ServerSettings', () => {
  it('every declared setting is contributed under the `heatcap` section', () => {
    for (const s of declared) {
      assert.ok(s.key.startsWith(`${ConfigSection}.`), s.key);
      assert.ok(properties[s.key], `${s.key} missing from contributes.configuration`);
    }
    assert.equal(new Set(declared.map((s) => s.key)).size, declared.length, 'no key declared twice');
  });

  it('types agree, and the manifest default has the declared type and value', () => {
    for (const s of declared) {
      const p = properties[s.key];
      const types = Array.isArray(p.type) ? p.type : [p.type];
      assert.ok(types.some((t) => SCHEMA_TYPES[s.type].includes(t)), `${s.key}: manifest type ${JSON.stringify(p.type)}, declared ${s.type}`);
      assert.ok(!types.includes('null'), `${s.key}: the server has no meaning for null`);
      assert.equal(typeof p.default, s.type, s.key);
      assert.deepEqual(p.default, s.default, s.key);
      if (types.includes('integer')) assert.ok(Number.isInteger(s.default), `${s.key}: an integer setting with a non-integer default`);
      if (p.minimum !== undefined) assert.ok((s.default as number) >= p.minimum, `${s.key}: default below the manifest minimum`);
      if (p.maximum !== undefined) assert.ok((s.default as number) <= p.maximum, `${s.key}: default above the manifest maximum`);
    }
  });

  it('the server reads exactly these keys: manifest defaults give its defaults, other values come through', () => {
    const defaults = configFromSection(section(declared.map((s) => [s.key, properties[s.key].default])));
    assert.deepEqual(defaults, DEFAULT_CONFIG);
    // A value a user may set (within the manifest's bounds) at every declared key reaches the server.
    const changed = configFromSection(section([
      [ServerSettings.codeLensEnabled.key, !ServerSettings.codeLensEnabled.default],
      [ServerSettings.maxFileSize.key, (properties[ServerSettings.maxFileSize.key].minimum ?? 0) + 1],
    ]));
    assert.notEqual(changed.codeLensEnabled, DEFAULT_CONFIG.codeLensEnabled);
    assert.notEqual(changed.maxFileSize, DEFAULT_CONFIG.maxFileSize);
    assert.deepEqual(Object.keys(DEFAULT_CONFIG).sort(), Object.keys(ServerSettings).sort(), 'one config field per declared setting');
  });
});
