import { strict as assert } from 'node:assert';
import type { DetectedSetting } from '../../../src/server/detect';
import { hoverMarkdown } from '../../../src/server/lens/hoverText';
import { code, escapeMarkdown } from '../../../src/server/lens/markdown';
import type { StoredResult } from '../../../src/server/results/store';
import { fixtureAnalysis } from '../../fixtures/lsp/analysisFixture';

const setting = (patch: Partial<DetectedSetting> = {}): DetectedSetting => ({
  lr: 0.1,
  start: 0,
  end: 3,
  text: '0.1',
  key: 'optimizer.lr',
  kind: 'config_key',
  ...patch,
});

const match = (result = fixtureAnalysis()): StoredResult => ({
  result,
  scopes: [result.root],
  origin: { kind: 'file', file: '/ws/.heatcap/analysis.json' },
});

describe('server/lens/hoverText', () => {
  // Oracle: the fixture's numbers by hand (s = 0.050 ± 0.002 → CI 0.046–0.054; s·η = 0.0050 at η = 0.1).
  it('shows the slope with its source and CI, ΔL, halving, formula, setup, stability and provenance', () => {
    const md = hoverMarkdown(setting(), match());
    for (const needle of [
      '**Learning rate η = 0.1** · `optimizer.lr` (configuration key)',
      '**dL/dη = 0.050** (observed: weighted fit over 4 runs; 95% CI 0.046–0.054, ± 1.96 SE)',
      'The slope of the converged loss in η at small η (the heat capacity of SGD)',
      'excess loss at η = 0.1: dL/dη·η ≈ **+0.0050** (95% CI +0.0046–+0.0054)',
      'halving η: −dL/dη·η/2 ≈ **−0.0025**',
      'predicted dL/dη = 0.048; observed/predicted = 1.04 (95% CI 0.950–1.13); verdict: agree',
      'stability: the prediction holds only for η below ≈0.45; this η is 22% of it',
      'Formula (`iid_with_replacement`, s = dL/dη): `s = tr Σ /(4B) = 6.144/(4·32) = 0.048`',
      'Setup the analysis used: B = 32 (hparams.yaml: batch\\_size) · momentum 0 · i.i.d. batches (with replacement) · optimizer sgd',
      'Analysis: sweep `digits-sgd` · root `/placeholder/lsp-fixture`',
      'from `/ws/.heatcap/analysis.json`',
    ]) {
      assert.ok(md.includes(needle), `missing ${JSON.stringify(needle)} in\n${md}`);
    }
  });

  // Oracle: s ∝ 1/B for SGD with i.i.d. batches (THEORY.md §2): 0.050 × 32/64 = 0.025, s·η = 0.0025.
  it("rescales to the setting's own batch size when a THEORY.md §2 law applies", () => {
    const md = hoverMarkdown(setting({ batchSize: { value: 64, key: 'batch_size', start: 10, end: 12 } }), match());
    assert.ok(md.includes('This setting: batch size 64 (`batch_size`)'), md);
    assert.ok(md.includes('(s ∝ 1/B for SGD with i.i.d. batches): ×0.500, so dL/dη ≈ 0.025 and the excess loss ≈ +0.0025 here'), md);
  });

  // Oracle: the curve's numbers by hand: 0.0055 at η = 0.1, linear law 0.0048 (×1.15), 0.1/0.29 = 34%.
  it('finite η: the curve, the linear law, both limits and the form, then the observed slope', () => {
    const r = fixtureAnalysis();
    r.predicted = {
      ...r.predicted!,
      stability_lr: 0.29,
      finite_eta: {
        status: 'ok', message: 'm', parameters: 650, directions: 10, method: 'lanczos', hvp: 'exact_float64',
        eigenvalues: [{ value: 4.4, residual: 1e-9 }], limits: { deterministic: 0.45, mean_square: 0.29 }, form: 'second_moment_subspace',
        curve: { lr: [0.05, 0.1, 0.2, 0.26], excess: [0.0026, 0.0055, 0.012, 0.0175], linear: [0.0024, 0.0048, 0.0096, 0.0125], additive: [0.0025, 0.0051, 0.011, 0.015] },
        cost_gradient_passes: 40, seconds: 1, notes: ['<img src=x onerror=alert(1)>'],
      },
    };
    // Beyond the observed fit range (η ≤ 0.2): the curve leads, then the observed slope.
    const md = hoverMarkdown(setting({ lr: 0.25, text: '0.25' }), match(r));
    for (const needle of [
      '**η = 0.25: predicted excess loss L(η) − L* ≈ 0.017** (finite-η prediction, THEORY.md §4, §6)',
      '- linear law (predicted dL/dη·η): 0.012; the curve is ×1.38 the linear law here',
      '- stability: this η is 86% of the mean-square stability limit ≈0.29',
      '- limits: mean-square η 0.29 · deterministic η 0.45 (2/λ\\_max with the momentum factor)',
      '- curve: stationary second moment in the top-k subspace, leading order elsewhere; 10 Hessian directions beyond leading order',
      '**dL/dη = 0.050** (observed: weighted fit over 4 runs',
    ]) {
      assert.ok(md.includes(needle), `missing ${JSON.stringify(needle)} in\n${md}`);
    }
    assert.ok(!md.includes('<img'), md);
    // Inside it: the observed slope leads, and the curve's value is one line of it (0.0055 at η = 0.1).
    const inside = hoverMarkdown(setting(), match(r));
    assert.ok(inside.includes('**dL/dη = 0.050** (observed'), inside);
    assert.ok(inside.includes('- finite-η prediction at this η: excess loss 0.0055 (linear law 0.0048), from stationary second moment in the top-k subspace, leading order elsewhere (THEORY.md §4, §6)'), inside);
    const above = hoverMarkdown(setting({ lr: 0.5, text: '0.5' }), match(r));
    assert.ok(above.includes('**η = 0.5 is above the mean-square stability limit ≈0.29**'), above);
  });

  it('says when there is no analysis, and how to make one', () => {
    const md = hoverMarkdown(setting({ notes: ['PyYAML note'] }), undefined);
    assert.match(md, /No analysis of dL\/dη matches this setting yet/);
    assert.match(md, /Note: PyYAML note/);
  });

  it('reshuffling: explains why there is no linear number, gives the bound', () => {
    const r = fixtureAnalysis();
    r.predicted = { ...r.predicted!, regime: 'reshuffle_suppressed', sampling: 'reshuffle', upper_bound: 0.05 };
    const md = hoverMarkdown(setting(), match(r));
    assert.match(md, /Random reshuffling: the linear law does not apply/);
    assert.ok(md.includes('dL/dη ≤ 0.050, so the excess loss ≤ +0.0050'), md);
    assert.doesNotMatch(md, /\*\*dL\/dη = /);
  });

  it('untrusted text from result files cannot inject links, HTML or code fences', () => {
    const r = fixtureAnalysis();
    r.sweep = { id: 's', name: 'x` [click](command:workbench.action.terminal.new) <img src=x>', path: 's' };
    r.predicted!.sources = { batch_size: '[a](http://evil) *b*' };
    const md = hoverMarkdown(setting(), match(r));
    assert.ok(md.includes('``x` [click](command:workbench.action.terminal.new) <img src=x>``'), md);
    assert.ok(md.includes('\\[a\\](http://evil) \\*b\\*'), md);
  });

  it('escapeMarkdown and code clip long text to one line', () => {
    assert.equal(escapeMarkdown('a\n*b*'), 'a \\*b\\*');
    assert.equal(code('`x`'), '`` `x` ``');
    assert.ok(escapeMarkdown('y'.repeat(1000)).length <= 200);
  });
});
