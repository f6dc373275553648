import { strict as assert } from 'node:assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { isHeatcapError } from '../../../src/core/errors';
import { readCsvLog, readJsonlLog } from '../../../src/core/logs/read';
import { parseYamlPlain } from '../../../src/core/logs/yolo/yaml';
import { discoverRuns } from '../../../src/core/runs/discover';
import { cleanupTempDirs, tempDir } from '../../support/logs/fixtures';

/**
 * Ultralytics/YOLO run folders written by YOLOv5 and YOLOv8 (test/fixtures/yolo/README.md); expected
 * counts from count.py (Python standard library: csv, a TFRecord/protobuf scan, a line scan of the YAML).
 */
const FIX = join(__dirname, '../../fixtures/yolo');
interface Expected {
  csv_rows: number;
  csv_columns: string[];
  event_tags: Record<string, number>;
  yaml: Record<string, Record<string, string>>;
}

describe('Ultralytics/YOLO run folders', () => {
  let exp: Record<string, Expected>;
  before(async () => {
    exp = JSON.parse(await readFile(join(FIX, 'expected.json'), 'utf8')) as Record<string, Expected>;
  });
  after(cleanupTempDirs);

  it('YOLOv5 runs/train/exp: results.csv, hyp.yaml, opt.yaml and the event file are ONE run, each tag counted once; lr0, momentum, weight decay, batch', async () => {
    const d = await discoverRuns(join(FIX, 'yolov5'));
    assert.deepEqual(d.runs.map((r) => r.id), ['runs/train/exp', 'runs/train/exp5']);
    const run = d.runs[0];
    const e = exp['yolov5/runs/train/exp'];
    assert.equal(run.format, 'yolo');
    assert.equal(run.stepUnit, 'epoch');
    const tags = e.csv_columns.filter((c) => c !== 'epoch');
    assert.deepEqual(Object.keys(run.scalars).sort(), [...new Set([...tags, ...Object.keys(e.event_tags)])].sort());
    for (const t of tags) assert.equal(run.scalars[t].steps.length, e.csv_rows, t);
    assert.deepEqual(run.hparams.lr, { value: Number(e.yaml['hyp.yaml'].lr0), source: 'hyp.yaml: lr0' });
    assert.equal(run.hparams.momentum?.value, Number(e.yaml['hyp.yaml'].momentum));
    assert.equal(run.hparams.weight_decay?.value, Number(e.yaml['hyp.yaml'].weight_decay));
    assert.equal(run.hparams.batch_size?.value, Number(e.yaml['opt.yaml'].batch_size));
    assert.equal(run.lrTag, 'x/lr0');
    assert.equal(run.files.length, 4);
    assert.ok(run.warnings.some((w) => /results\.csv and the event file both log 13 tag\(s\): each read once, from results\.csv/.test(w.message)));
  });

  it('a YOLO folder holding only hyperparameters (training stopped before an epoch) is listed as a run with no points', async () => {
    const d = await discoverRuns(join(FIX, 'yolov5', 'runs', 'train', 'exp5'));
    assert.equal(d.runs.length, 1);
    const run = d.runs[0];
    assert.deepEqual(run.scalars, {});
    assert.equal(exp['yolov5/runs/train/exp5'].csv_rows, 0);
    assert.equal(run.hparams.lr?.value, 0.01);
    assert.equal(run.hparams.batch_size?.value, 16);
    assert.ok(run.warnings.some((w) => /holds hyperparameters only \(hyp\.yaml, opt\.yaml; no epoch logged yet\)/.test(w.message)), JSON.stringify(run.warnings));
  });

  it('YOLOv8 runs/detect/train: args.yaml (lr0, batch, optimizer) and 120 epochs, the event file (steps offset by one) not counted again', async () => {
    const d = await discoverRuns(join(FIX, 'yolov8'));
    assert.equal(d.runs.length, 1);
    const run = d.runs[0];
    const e = exp['yolov8/runs/detect/train'];
    assert.equal(run.id, 'runs/detect/train');
    for (const t of e.csv_columns.filter((c) => c !== 'epoch')) assert.equal(run.scalars[t].steps.length, e.csv_rows, t);
    for (const [t, n] of Object.entries(e.event_tags)) assert.equal(run.scalars[t].steps.length, n, t);
    assert.deepEqual(run.scalars['train/box_loss'].steps.slice(0, 2), [0, 1], 'results.csv steps, not the event file\'s');
    assert.deepEqual(run.hparams.lr, { value: 0.01, source: 'args.yaml: lr0' });
    assert.equal(run.hparams.batch_size?.value, Number(e.yaml['args.yaml'].batch));
    assert.equal(run.hparams.optimizer?.value, 'sgd');
    assert.equal(run.lrTag, 'lr/pg0');
  });

  it('typed YAML tags are plain data, never constructed', async () => {
    const doc = parseYamlPlain(
      [
        'lr0: 0.02',
        'save_dir: !!python/object/apply:pathlib.PosixPath [runs, detect, train]',
        'imgsz: !!python/tuple [640, 640]',
        'classes: !!set {cat: null, dog: null}',
        'ns: !!python/object:argparse.Namespace {momentum: 0.9}',
        "opt: !!python/name:torch.optim.sgd.SGD ''",
        'raw: !!binary aGVsbG8=',
        'when: !!timestamp 2024-01-02',
      ].join('\n'),
    ) as Record<string, unknown>;
    assert.deepEqual(doc, {
      lr0: 0.02,
      save_dir: ['runs', 'detect', 'train'],
      imgsz: [640, 640],
      classes: { cat: null, dog: null },
      ns: { momentum: 0.9 },
      opt: 'torch.optim.sgd.SGD',
      raw: 'aGVsbG8=',
      when: '2024-01-02',
    });
    const dir = await tempDir('heatcap-yolo-');
    await writeFile(join(dir, 'args.yaml'), 'task: detect\nlr0: 0.02\nbatch: 4\nsave_dir: !!python/object/apply:pathlib.PosixPath [runs]\nnames: !!set {a: null}\n');
    await writeFile(join(dir, 'results.csv'), '  epoch,  train/box_loss,  lr/pg0\n  1,  0.5,  0.02\n  2,  0.4,  0.02\n');
    const d = await discoverRuns(dir);
    assert.equal(d.runs.length, 1);
    assert.equal(d.runs[0].hparams.lr?.value, 0.02);
    assert.equal(d.runs[0].hparams.raw.save_dir, undefined, 'a list is not a hyperparameter value');
    assert.deepEqual(d.runs[0].scalars['train/box_loss'].steps, [1, 2]);
  });

  it('rows repeated by gradient accumulation (same step, same value) count once in CSV and JSONL logs', async () => {
    const dir = await tempDir('heatcap-accum-');
    await mkdir(dir, { recursive: true });
    const csv = join(dir, 'metrics.csv');
    await writeFile(csv, 'step,train_loss\n0,1.0\n0,1.0\n0,1.0\n0,1.0\n4,0.5\n4,0.5\n4,0.5\n4,0.5\n8,0.25\n8,0.25\n');
    const c = await readCsvLog(csv);
    assert.deepEqual(c.scalars.train_loss, { steps: [0, 4, 8], values: [1, 0.5, 0.25] });
    const jsonl = join(dir, 'log.jsonl');
    await writeFile(jsonl, ['{"step": 0, "loss": 1}', '{"step": 0, "loss": 1}', '{"step": 1, "loss": 0.5}', '{"step": 1, "loss": 0.5}'].join('\n') + '\n');
    const j = await readJsonlLog(jsonl);
    assert.deepEqual(j.scalars.loss, { steps: [0, 1], values: [1, 0.5] });
  });
});

describe('run folders holding only hyperparameters', () => {
  after(cleanupTempDirs);
  it("Lightning's version_N/ with only hparams.yaml is listed as a run with no points, with a warning saying so", async () => {
    const root = await tempDir('heatcap-params-only-');
    await mkdir(join(root, 'lightning_logs', 'version_0'), { recursive: true });
    await writeFile(join(root, 'lightning_logs', 'version_0', 'hparams.yaml'), 'lr: 0.05\nbatch_size: 64\nopt: !!python/tuple [sgd, 1]\n');
    await mkdir(join(root, 'other'), { recursive: true });
    await writeFile(join(root, 'other', 'hparams.yaml'), 'lr: 0.1\n');
    const d = await discoverRuns(root);
    assert.deepEqual(d.runs.map((r) => r.id), ['lightning_logs/version_0']);
    const run = d.runs[0];
    assert.deepEqual(run.scalars, {});
    assert.deepEqual(run.hparams.lr, { value: 0.05, source: 'hparams.yaml: lr' });
    assert.equal(run.hparams.batch_size?.value, 64);
    assert.ok(run.warnings.some((w) => /hyperparameters only/.test(w.message)));
  });
});

describe('fuzzing the YOLO folder reader (time-bounded)', () => {
  after(cleanupTempDirs);
  it('random YAML, results.csv and event bytes in a YOLO folder: a run or warnings, never another error', async function () {
    this.timeout(30_000);
    const root = await tempDir('heatcap-yolo-fuzz-');
    const text = fc.string({ unit: fc.constantFrom('lr0', ':', ' ', '0.1', '\n', '!!set', '!!python/tuple', '[', ']', '{', '}', ',', 'epoch', 'x/lr0', '-', '&a', '*a', '"', "'", 'nan'), maxLength: 200 });
    let i = 0;
    await fc.assert(
      fc.asyncProperty(text, text, fc.uint8Array({ maxLength: 400 }), async (yaml, csv, ev) => {
        const dir = join(root, `r${i++}`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'hyp.yaml'), `lr0: 0.01\n${yaml}`);
        await writeFile(join(dir, 'opt.yaml'), yaml);
        await writeFile(join(dir, 'results.csv'), `epoch,train/box_loss\n${csv}`);
        await writeFile(join(dir, 'events.out.tfevents.1.host'), ev);
        try {
          const d = await discoverRuns(dir);
          assert.ok(d.runs.length <= 1);
        } catch (e) {
          if (!isHeatcapError(e)) throw e;
        }
      }),
      { numRuns: 150, interruptAfterTimeLimit: 8_000 },
    );
  });
});
