import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_IDS, PANEL_VIEW_TYPE, RUNS_VIEW_ID } from '../../../src/extension/ids';
import { DEFAULT_SETTINGS, SettingKeys } from '../../../src/extension/config';
import { ContextValues } from '../../../src/extension/runsView/viewModel';
import { ServerSettings } from '../../../src/shared/lspProtocol';

// The manifest is read as JSON: the contract between package.json and the code that implements it.
const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const contributes = manifest.contributes;

describe('extension: package.json manifest', () => {
  it('contributes exactly the commands the extension registers, all in the "Heat Capacity" category', () => {
    const ids = contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(ids, [...COMMAND_IDS].sort());
    for (const c of contributes.commands) assert.equal(c.category, 'Heat Capacity', c.command);
  });

  it('menus refer only to contributed commands, and the runs-view menus to context values the tree produces', () => {
    const ids = new Set<string>(COMMAND_IDS);
    const produced: string[] = [ContextValues.root, ContextValues.sweep, ContextValues.sweepAnalysed, ContextValues.message];
    for (const excluded of [false, true]) for (const known of [false, true]) for (const set of [false, true]) produced.push(ContextValues.run(excluded, known, set));
    for (const [menu, items] of Object.entries(contributes.menus) as [string, { command: string; when?: string }[]][]) {
      for (const item of items) {
        assert.ok(ids.has(item.command), `${menu}: unknown command ${item.command}`);
        const m = /viewItem =~ \/([^/]+)\//.exec(item.when ?? '');
        if (m) assert.ok(produced.some((v) => new RegExp(m[1]).test(v)), `${menu}: ${item.when} matches no tree item`);
      }
    }
  });

  it('include and exclude are offered on exactly the right runs', () => {
    const menu = contributes.menus['view/item/context'] as { command: string; when: string }[];
    const whenOf = (cmd: string) => new RegExp(/viewItem =~ \/([^/]+)\//.exec(menu.find((m) => m.command === cmd)!.when)![1]);
    assert.ok(whenOf('heatcap.excludeRun').test(ContextValues.run(false, true, false)));
    assert.ok(!whenOf('heatcap.excludeRun').test(ContextValues.run(true, true, false)));
    assert.ok(whenOf('heatcap.includeRun').test(ContextValues.run(true, false, true)));
    assert.ok(!whenOf('heatcap.includeRun').test(ContextValues.run(false, false, false)));
    assert.ok(!whenOf('heatcap.setRunLr').test(ContextValues.sweepAnalysed));
  });

  it('activates only on commands, the view, the panel and depth-limited log patterns (never "*")', () => {
    for (const e of manifest.activationEvents as string[]) {
      assert.ok(e === `onWebviewPanel:${PANEL_VIEW_TYPE}` || e.startsWith('workspaceContains:'), e);
      if (e.startsWith('workspaceContains:')) assert.ok(!e.includes('**'), `${e} is not depth-limited`);
    }
    assert.ok(contributes.views.heatcap.some((v: { id: string }) => v.id === RUNS_VIEW_ID));
  });

  it('runs next to the data, with limited Workspace Trust', () => {
    assert.deepEqual(manifest.extensionKind, ['workspace']);
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.equal(manifest.engines.vscode, '^1.100.0');
    assert.equal(manifest.devDependencies['@types/vscode'], '1.100.0', 'vsce refuses @types/vscode newer than engines.vscode');
  });

  it('declares every setting the reader knows, with the same defaults', () => {
    const props = contributes.configuration.properties;
    const fromManifest = (key: string) => props[`heatcap.${key}`]?.default;
    assert.deepEqual(Object.keys(props).sort(), Object.values(SettingKeys).map((k) => `heatcap.${k}`).sort());
    const d = DEFAULT_SETTINGS;
    assert.deepEqual(fromManifest(SettingKeys.runsInclude), d.runs.include);
    assert.deepEqual(fromManifest(SettingKeys.runsExclude), d.runs.exclude);
    assert.equal(fromManifest(SettingKeys.runsMaxDepth), d.runs.maxDepth);
    assert.equal(fromManifest(SettingKeys.lossTag), '');
    assert.deepEqual(fromManifest(SettingKeys.lrKeys), d.lrKeys);
    assert.equal(fromManifest(SettingKeys.backend), d.backend);
    assert.equal(fromManifest(SettingKeys.sampling), d.sampling);
    assert.equal(fromManifest(SettingKeys.batchSize), d.batchSize);
    assert.equal(fromManifest(SettingKeys.momentum), d.momentum);
    assert.equal(fromManifest(SettingKeys.optimizer), d.optimizer);
    assert.equal(fromManifest(SettingKeys.engineRuntime), d.engineRuntime);
    assert.equal(fromManifest(SettingKeys.finiteEtaEnabled), d.finiteEta.enabled);
    assert.equal(fromManifest(SettingKeys.finiteEtaDirections), d.finiteEta.directions);
    assert.equal(fromManifest(SettingKeys.codeLensEnabled), d.codeLensEnabled);
    assert.equal(fromManifest(SettingKeys.serverMaxFileSize), d.serverMaxFileSize);
  });

  it("matches the language server's settings (src/shared/lspProtocol.ts)", () => {
    for (const s of Object.values(ServerSettings)) {
      const p = contributes.configuration.properties[s.key];
      assert.ok(p, s.key);
      assert.equal(p.default, s.default, s.key);
      assert.equal(p.description ?? p.markdownDescription, s.description, s.key);
    }
  });

  it('checkpoint settings are restricted in untrusted workspaces and resource-scoped', () => {
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations as string[];
    for (const k of [SettingKeys.checkpointModel, SettingKeys.checkpointData, SettingKeys.checkpointLabels]) {
      assert.ok(restricted.includes(`heatcap.${k}`), k);
      assert.equal(contributes.configuration.properties[`heatcap.${k}`].scope, 'resource', k);
    }
  });

  it('has a package script that builds a .vsix with the pinned vsce', () => {
    assert.match(manifest.scripts.package, /vsce package --no-dependencies/);
    assert.equal(manifest.devDependencies['@vscode/vsce'], '3.9.2');
  });
});
