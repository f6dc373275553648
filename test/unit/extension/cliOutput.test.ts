import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { CliFailure } from '../../../src/extension/compute/cliProcess';
import { parseAnalyzeOutput, parseGradNorms, parseRunsListing } from '../../../src/extension/compute/cliOutput';
import { fixtureResult } from './support/results';

const root = path.resolve('/data/exp');

// The shape `heatcap runs --json` prints (src/cli/commands/runs.ts).
const listing = {
  runs: [
    {
      id: 'sweep/lr_0.1',
      path: 'sweep/lr_0.1',
      name: 'lr_0.1',
      format: 'tfevents',
      hparams: { lr: 0.1, batch_size: 32, momentum: null, optimizer: 'sgd' },
      hparam_sources: { lr: 'directory name "lr_0.1"', batch_size: 'hparams.yaml: batch_size' },
      tags: { loss: { count: 10 }, 'eval/loss': { count: 2 } },
      warnings: ['events.out.tfevents.1: record 3: CRC mismatch'],
    },
    { id: 'sweep/lr_0.2', path: 'sweep/lr_0.2', format: 'csv', hparams: {}, tags: {}, warnings: [] },
  ],
  sweeps: [{ id: 'sweep', path: 'sweep', name: 'sweep', runs: ['sweep/lr_0.1', 'sweep/lr_0.2', 'ghost'] }],
  warnings: [{ file: '/data/exp/x', message: 'folder could not be read' }],
};

describe('extension: CLI output checks', () => {
  it('reads a runs listing: values, their sources, tags, warnings', () => {
    const l = parseRunsListing(listing, root);
    assert.equal(l.runs.length, 2);
    const a = l.runs[0];
    assert.equal(a.lr, 0.1);
    assert.equal(a.lrSource, 'directory name "lr_0.1"');
    assert.equal(a.batchSize, 32);
    assert.equal(a.momentum, null);
    assert.equal(a.optimizer, 'sgd');
    assert.equal(a.absPath, path.join(root, 'sweep/lr_0.1'));
    assert.deepEqual(a.tags, ['loss', 'eval/loss']);
    assert.deepEqual(a.warnings, ['events.out.tfevents.1: record 3: CRC mismatch']);
    assert.equal(l.runs[1].name, 'lr_0.2', 'name defaults to the base name');
    assert.equal(l.runs[1].lr, null);
    assert.deepEqual(l.sweeps[0].runIds, ['sweep/lr_0.1', 'sweep/lr_0.2'], 'a run id discovery did not list is dropped');
    assert.deepEqual(l.warnings, ['/data/exp/x: folder could not be read']);
  });

  it('also reads hyperparameters in the run model shape ({value, source})', () => {
    const l = parseRunsListing({ runs: [{ id: '.', hparams: { lr: { value: 0.01, source: 'hparams.yaml: lr' } } }], sweeps: [] }, root);
    assert.equal(l.runs[0].lr, 0.01);
    assert.equal(l.runs[0].lrSource, 'hparams.yaml: lr');
    assert.equal(l.runs[0].name, 'exp', "the root itself is a run: its folder's name");
  });

  it('refuses a listing that is not one, saying what is wrong', () => {
    assert.throws(() => parseRunsListing([], root), (e: unknown) => e instanceof CliFailure && /expected \{"runs"/.test(e.message));
    assert.throws(() => parseRunsListing({ runs: [{ path: 'x' }] }, root), /runs\[0\]\.id is not a string/);
    assert.throws(() => parseRunsListing({ runs: [], sweeps: [{ id: 's' }] }, root), /sweeps\[0\] is malformed/);
  });

  it('accepts one result or an array, and refuses a malformed one by path', () => {
    const r = fixtureResult('iid-sweep');
    assert.equal(parseAnalyzeOutput(r).length, 1);
    assert.equal(parseAnalyzeOutput([r, r]).length, 2);
    const broken = structuredClone(r) as unknown as { observed: { points: { lr: unknown }[] } };
    broken.observed.points[1].lr = 'fast';
    assert.throws(() => parseAnalyzeOutput([r, broken]), /result 2: invalid analysis result: observed\.points\[1\]\.lr/);
  });

  it('reads a gradient-norm summary, bare or inside an object', () => {
    const g = fixtureResult('iid-sweep').gradnorms!;
    assert.equal(parseGradNorms(g).n, g.n);
    assert.equal(parseGradNorms({ gradnorms: g }).trace_cov, g.trace_cov);
    assert.deepEqual(parseGradNorms({ n: 3, trace_cov: null }), { n: 3, mean_sq_norm: null, mean_grad_sq_norm: null, trace_cov: null, seconds: null, backend: null });
    assert.throws(() => parseGradNorms({ n: 3, trace_cov: 'big' }), /trace_cov is not a number/);
    assert.throws(() => parseGradNorms({ mean_sq_norm: 1 }), /n is not a number/);
  });
});
