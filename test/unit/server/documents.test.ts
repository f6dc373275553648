import { strict as assert } from 'node:assert';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { configFromSection, DEFAULT_CONFIG } from '../../../src/server/config';
import { detectSettings, excludedBecause, languageFor } from '../../../src/server/detect';
import { DEBOUNCE_MS, SettingsCache } from '../../../src/server/documentSettings';
import { uriToPath } from '../../../src/server/uris';
import { ServerSettings } from '../../../src/shared/lspProtocol';

describe('server: documents, languages, settings', () => {
  it('languageFor: by language id, else by file extension', () => {
    assert.equal(languageFor('python', 'file:///a/x.txt'), 'python');
    assert.equal(languageFor('jsonc', 'file:///a/x'), 'json');
    assert.equal(languageFor('shellscript', 'file:///a/run'), 'shell');
    assert.equal(languageFor('plaintext', 'file:///a/pyproject.toml'), 'toml');
    assert.equal(languageFor('plaintext', 'file:///a/c.YML'), 'yaml');
    assert.equal(languageFor('markdown', 'file:///a/README.md'), undefined);
  });

  it('excludedBecause: training logs and our own results are not configurations', () => {
    assert.match(excludedBecause('file:///r/checkpoint-500/trainer_state.json') ?? '', /training log/);
    assert.match(excludedBecause('file:///r/.heatcap/analysis.json') ?? '', /analysis result/);
    assert.equal(excludedBecause('file:///r/config.json'), undefined);
  });

  it('uriToPath: file URIs and notebook cells (the notebook file); nothing for untitled', () => {
    assert.equal(uriToPath('file:///home/u/my%20proj/train.py'), '/home/u/my proj/train.py');
    assert.equal(uriToPath('vscode-notebook-cell:/home/u/nb.ipynb#W0sZmlsZQ%3D%3D'), '/home/u/nb.ipynb');
    assert.equal(uriToPath('untitled:Untitled-1'), undefined);
    assert.equal(uriToPath('not a uri'), undefined);
  });

  it('configFromSection: checked values, defaults for anything missing or mistyped', () => {
    assert.deepEqual(configFromSection(undefined), DEFAULT_CONFIG);
    assert.deepEqual(configFromSection({ codeLens: { enabled: false }, server: { maxFileSize: 10 } }), { codeLensEnabled: false, maxFileSize: 10 });
    assert.deepEqual(configFromSection({ codeLens: { enabled: 'no' }, server: { maxFileSize: -1 } }), DEFAULT_CONFIG);
    assert.deepEqual(DEFAULT_CONFIG, { codeLensEnabled: ServerSettings.codeLensEnabled.default, maxFileSize: ServerSettings.maxFileSize.default });
  });

  it('text without lr/learning (Python: optim/optax) is not parsed at all, so a broken unrelated file is silent', () => {
    assert.deepEqual(detectSettings('services: [\n', 'yaml'), { settings: [] });
    assert.ok(detectSettings('lr: [\n', 'yaml').error);
    assert.equal(detectSettings('opt = optax.sgd(0.1)\n', 'python').settings.length, 1);
  });

  it('SettingsCache parses once per version, re-parses incrementally, and honours the size cap', () => {
    let limit = 1000;
    const parsed: number[] = [];
    const cache = new SettingsCache(
      () => limit,
      (_uri, s) => parsed.push(s.version),
    );
    let doc = TextDocument.create('file:///w/t.py', 'python', 1, 'x = 1\nlr = 0.1\n');
    assert.equal(cache.get(doc).settings[0].lr, 0.1);
    cache.get(doc);
    assert.deepEqual(parsed, [1]);
    doc = TextDocument.update(doc, [{ range: { start: { line: 1, character: 5 }, end: { line: 1, character: 8 } }, text: '0.2' }], 2);
    assert.equal(cache.get(doc).settings[0].lr, 0.2);
    limit = 5;
    assert.match(cache.get(doc).problem ?? '', /above heatcap\.server\.maxFileSize \(5\)/);
    assert.deepEqual(parsed, [1, 2, 2]);
  });

  it('SettingsCache.settled waits until the document has been quiet for the debounce interval', async () => {
    const cache = new SettingsCache(() => 1000);
    const t0 = Date.now();
    assert.equal(await cache.settled('file:///never-changed'), true);
    assert.ok(Date.now() - t0 < DEBOUNCE_MS, 'an unchanged document does not wait');
    cache.changed('file:///typed');
    const t1 = Date.now();
    assert.equal(await cache.settled('file:///typed'), true);
    assert.ok(Date.now() - t1 >= DEBOUNCE_MS - 5, 'a just-changed document waits');
    cache.changed('file:///typed');
    assert.equal(await cache.settled('file:///typed', { isCancellationRequested: true, onCancellationRequested: () => ({ dispose: () => undefined }) }), false);
  });
});
