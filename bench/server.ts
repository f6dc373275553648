/**
 * Language-server benchmark: how long finding the learning-rate settings takes per language and file
 * size (full parse), what lezer's incremental re-parse saves after a keystroke in a large Python file,
 * what the "no lr/learning/optim in the text" pre-check saves on unrelated files, and the end-to-end
 * latency through the spawned server (initialize → lenses resolved; an edit → new lenses, which
 * includes the 250 ms debounce).
 *
 *   npx tsx bench/server.ts
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { detectSettings, type DetectLanguage } from '../src/server/detect';
import { detectPython } from '../src/server/detect/python';
import { detectYaml } from '../src/server/detect/yaml';
import { DEBOUNCE_MS } from '../src/server/documentSettings';
import { fileUri, LspClient } from '../test/unit/server/lspClient';

/** Median of `reps` timed runs (after one warm-up), in ms. */
function median(f: () => unknown, reps: number): number {
  f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    f();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Realistic content per language, repeated to `bytes`; a few settings, mostly other code/keys. */
function sample(language: DetectLanguage, bytes: number): string {
  const blocks: Record<DetectLanguage, string> = {
    python: 'def step(model, batch, opt):\n    loss = model(batch["x"], batch["y"])\n    opt.zero_grad()\n    loss.backward()\n    opt.step()\n    return {"loss": float(loss)}\n\n',
    yaml: 'trainer:\n  max_epochs: 10\n  devices: [0, 1]\n  callbacks:\n    - name: checkpoint\n      every: 100\n',
    json: '{"trainer": {"max_epochs": 10, "devices": [0, 1], "callbacks": [{"name": "checkpoint", "every": 100}]}},\n',
    toml: '[[trainer]]\nmax_epochs = 10\ndevices = [0, 1]\ncallback = { name = "checkpoint", every = 100 }\n',
    shell: 'python train.py --epochs 10 --devices 0,1 --callback checkpoint --every 100\n',
  };
  const setting: Record<DetectLanguage, string> = {
    python: 'opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)\n',
    yaml: 'optimizer:\n  lr: 0.1\n',
    json: '{"optimizer": {"lr": 0.1}}\n',
    toml: '[optimizer]\nlr = 0.1\n',
    shell: 'python train.py --lr 0.1\n',
  };
  const block = blocks[language];
  const body = block.repeat(Math.max(1, Math.floor(bytes / block.length)));
  // JSON must stay one document: wrap the repeated objects in an array.
  if (language === 'json') return `[${body.replace(/,\n$/, '')}, ${setting.json}]`;
  return setting[language] + body;
}

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export async function run(): Promise<string> {
  const lines = ['## Language server', ''];
  lines.push(
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. Medians; figures vary with load, ratios are measured side by side in one run.`,
    '',
  );

  // 1. Detection per language and size (full parse).
  const languages: DetectLanguage[] = ['python', 'yaml', 'json', 'toml', 'shell'];
  lines.push('### Finding settings (full parse)', '', '| language | 10 kB | 100 kB | 1 MB (default size cap) | MB/s at 1 MB |', '|---|---|---|---|---|');
  for (const language of languages) {
    const cells = [10_000, 100_000, 1_000_000].map((bytes) => {
      const text = sample(language, bytes);
      const r = detectSettings(text, language);
      if (r.settings.length !== 1) throw new Error(`${language}: expected one setting, got ${r.settings.length} (${r.error ?? ''})`);
      return { ms: median(() => detectSettings(text, language), bytes >= 1_000_000 ? 3 : 7), bytes: text.length };
    });
    const rate = cells[2].bytes / 1e6 / (cells[2].ms / 1000);
    lines.push(`| ${language} | ${cells.map((c) => `${fmt(c.ms)} ms`).join(' | ')} | ${rate.toFixed(1)} |`);
  }

  // 2. Incremental Python re-parse after a one-line insert in the middle of 1 MB.
  const py = sample('python', 1_000_000);
  const mid = py.indexOf('\n', py.length >> 1) + 1;
  const edited = py.slice(0, mid) + 'lr = 0.3\n' + py.slice(mid);
  const state = detectPython(py).state;
  const fresh = median(() => detectPython(edited), 3);
  const incremental = median(() => detectPython(edited, { previous: state }), 5);
  lines.push(
    '',
    '### Keystroke in a 1 MB Python file',
    '',
    '| re-parse | time | ratio |',
    '|---|---|---|',
    `| full parse of the edited text | ${fmt(fresh)} ms | 1 |`,
    `| incremental (lezer reuses the previous tree) | ${fmt(incremental)} ms | ${(incremental / fresh).toFixed(2)} |`,
  );

  // 3. The pre-check on files that cannot hold a setting.
  const unrelated = sample('yaml', 1_000_000).replace(/lr/g, 'xx');
  const skipped = median(() => detectSettings(unrelated, 'yaml'), 7);
  const parsed = median(() => detectYaml(unrelated), 3);
  lines.push(
    '',
    '### 1 MB YAML without any `lr`/`learning` key',
    '',
    '| path | time | ratio |',
    '|---|---|---|',
    `| parsed anyway | ${fmt(parsed)} ms | 1 |`,
    `| pre-check (one regex scan) | ${fmt(skipped)} ms | ${(skipped / parsed).toFixed(4)} |`,
  );

  // 4. End to end through the spawned server.
  const fixtures = path.resolve(__dirname, '../test/fixtures/lsp');
  const t0 = performance.now();
  const client = await LspClient.start({ folder: fixtures, heatcapSection: { server: { maxFileSize: 2_000_000 } }, refreshAndWatch: true });
  await client.until(() => client.logs.some((l) => l.includes('results: read')));
  const started = performance.now() - t0;
  const trainUri = fileUri(path.join(fixtures, 'train.py'));
  const t1 = performance.now();
  await client.open(trainUri, 'python', readFileSync(path.join(fixtures, 'train.py'), 'utf8'));
  const lenses = await client.codeLenses(trainUri);
  const firstLenses = performance.now() - t1;
  const bigUri = 'untitled:big.py';
  const t2 = performance.now();
  await client.open(bigUri, 'python', py);
  await client.codeLenses(bigUri);
  const bigOpen = performance.now() - t2;
  const editTimes: number[] = [];
  for (let v = 2; v <= 6; v++) {
    const line = Math.floor(py.split('\n').length / 2) + v;
    const t = performance.now();
    await client.change(bigUri, v, [{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: `lr${v} = 0.${v}\n` }]);
    await client.codeLenses(bigUri);
    editTimes.push(performance.now() - t);
  }
  editTimes.sort((a, b) => a - b);
  await client.stop();
  lines.push(
    '',
    '### Through the spawned server (stdio)',
    '',
    '| step | time |',
    '|---|---|',
    `| start, initialize, read .heatcap/analysis.json | ${fmt(started)} ms |`,
    `| open train.py → ${lenses.length} lenses resolved | ${fmt(firstLenses)} ms |`,
    `| open a 1 MB Python file → lenses | ${fmt(bigOpen)} ms |`,
    `| edit it → new lenses (median of 5; includes the ${DEBOUNCE_MS} ms debounce) | ${fmt(editTimes[2])} ms |`,
  );
  return lines.join('\n');
}

if (require.main === module) {
  run().then(
    (md) => console.log(md),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
