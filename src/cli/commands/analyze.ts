import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AnalyzeOptions } from '../../core/analysis/options';
import { analyzeFolder } from '../../core/analysis/pipeline';
import { RUNTIME_CHOICES } from '../../core/engine/runtime';
import { parseEngineFlag } from '../../core/gradnorm/job';
import { HeatcapError } from '../../core/errors';
import { renderHtmlReport } from '../../core/report/html';
import { renderMarkdownReport } from '../../core/report/markdown';
import type { AnalysisResult } from '../../core/result/schema';
import type { Sampling } from '../../core/runs/model';
import { TOOL_VERSION } from '../../core/version';
import { freezeList, numberFlag, parseCommandArgs, toJson } from '../args';
import { DISCOVERY_FLAGS, discoveryFromFlags, discoveryHelp } from '../discoveryFlags';
import { cancellableBySignals } from '../signals';
import type { CliCommand, CliIo } from '../command';
import { gradientProvider } from '../gradientProvider';
import { formatAnalysis } from '../format/analysisText';

const usage = `usage: heatcap analyze <path> [options]

Compares the observed loss-vs-η slope of the runs under <path> (a sweep over η, or a run with
learning-rate step decays) with the slope predicted from per-example gradients at a checkpoint.

  --tag <tag>                  scalar tag to use as the training loss (default: chosen and reported)
  --model <file>               checkpoint at the optimum (enables the prediction): net.onnx (PyTorch,
                               JAX, … export), model.keras, model.h5 or a TensorFlow.js model.json
  --data <x.npy> --labels <y.npy>   its training data (.npy/.npz/.csv/.jsonl); --loss <name> if the model has none
  --engine auto|onnx|onnx-loop|naive   gradient engine (default auto: ONNX Runtime; naive: the
                               TensorFlow.js per-example loop; vectorized: deprecated, runs auto)
  --runtime auto|native|wasm   ONNX Runtime build (default auto: native, else WebAssembly with a note)
  --loss-semantics exact|clipped   cross-entropy of softmax outputs from the logits (default) or
                               clipped as tfjs-layers' fit computes it
  --freeze <names>             parameters SGD did not train (names or module prefixes, comma-separated
                               or repeated), left out of g_b: see 'heatcap gradnorms --help'
  --backend auto|wasm|node|cpu TensorFlow.js backend (TensorFlow.js loop only; default auto)
  --gradstats <gradstats.json> statistics computed where the model lives (Python package heatcap_torch,
                               python/ in this repository) instead of --model; a gradstats.json in the
                               sweep or run folder, or beside a checkpoint heatcap cannot read, is used
                               without the flag
  --batch-size B --momentum β --dampening d --weight-decay λ
  --sampling with_replacement|without_replacement|reshuffle
  --optimizer sgd|nesterov|adam|rmsprop   override the training setup read from the runs
  --started-at-checkpoint      the runs started at the checkpoint: use its loss as L* (secant fit)
  --eigenpairs k               Hessian directions for the finite-η prediction (default 10): top
                               eigenvalues, deterministic and mean-square stability limits, L(η) − L*
  --finite-eta-full            a model that is one Dense layer (≤ 1024 parameters): the curve by the
                               second-moment solve over every parameter (slower: ~11 s of CPU
                               for 650 parameters; by default up to 300) instead of the top
                               directions + coupling; for cross-entropy also corrected for the
                               non-quadratic loss (Gaussian closure, ~30 s of CPU more)
  --no-finite-eta              skip the finite-η prediction (only the small-η slope)
  --sweep <id>                 analyse this sweep/run when <path> holds several
  --all                        analyse every sweep and lone run (JSON: an array)
  --exclude-run <id>           leave a run out of the fit (repeatable)
  --set-lr <id>=<η>            state the learning rate of a run that records none (repeatable)
${discoveryHelp(28)}
  --json                       print the versioned result (schema: analysis-result.schema.json)
  --html <file> --md <file>    also write a self-contained HTML report / a Markdown summary
  --out <file>                 also write the JSON result to a file
`;

const SAMPLINGS: Sampling[] = ['with_replacement', 'without_replacement', 'reshuffle'];
const OPTIMIZERS = ['sgd', 'nesterov', 'adam', 'adamw', 'rmsprop'];
const BACKENDS = ['auto', 'wasm', 'node', 'cpu'] as const;

function parseSetLr(values: string[] | undefined): Record<string, number> | undefined {
  if (!values?.length) return undefined;
  // No prototype: a run whose id is `__proto__` or `constructor` keeps its η.
  const out: Record<string, number> = Object.create(null);
  for (const v of values) {
    const i = v.lastIndexOf('=');
    const lr = Number(v.slice(i + 1));
    if (i <= 0 || !Number.isFinite(lr) || lr <= 0) throw new HeatcapError(undefined, `--set-lr expects <run id>=<positive η>, got '${v}'`);
    out[v.slice(0, i)] = lr;
  }
  return out;
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new HeatcapError(undefined, `--${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

export function analyzeOptionsFromArgs(argv: string[], cwd: string) {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      tag: { type: 'string' },
      model: { type: 'string' },
      gradstats: { type: 'string' },
      data: { type: 'string' },
      labels: { type: 'string' },
      loss: { type: 'string' },
      backend: { type: 'string' },
      engine: { type: 'string' },
      runtime: { type: 'string' },
      'loss-semantics': { type: 'string' },
      freeze: { type: 'string', multiple: true },
      'batch-size': { type: 'string' },
      momentum: { type: 'string' },
      dampening: { type: 'string' },
      'weight-decay': { type: 'string' },
      sampling: { type: 'string' },
      optimizer: { type: 'string' },
      'started-at-checkpoint': { type: 'boolean' },
      eigenpairs: { type: 'string' },
      'no-finite-eta': { type: 'boolean' },
      'finite-eta-full': { type: 'boolean' },
      sweep: { type: 'string' },
      all: { type: 'boolean' },
      'exclude-run': { type: 'string', multiple: true },
      'set-lr': { type: 'string', multiple: true },
      ...DISCOVERY_FLAGS,
      json: { type: 'boolean' },
      html: { type: 'string' },
      md: { type: 'string' },
      out: { type: 'string' },
    },
    usage,
  );
  if (positionals.length !== 1) throw new HeatcapError(undefined, `expected one <path>, got ${positionals.length} (see 'heatcap analyze --help')`);
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  const momentum = numberFlag('momentum', values.momentum, { min: 0 });
  if (momentum !== undefined && momentum >= 1) throw new HeatcapError(undefined, `--momentum must be < 1, got '${values.momentum}'`);
  const opts: AnalyzeOptions = {
    root: resolve(cwd, positionals[0]),
    sweepId: values.sweep,
    tag: values.tag,
    model: abs(values.model),
    gradstats: abs(values.gradstats),
    data: abs(values.data),
    labels: abs(values.labels),
    loss: values.loss,
    backend: oneOf('backend', values.backend, BACKENDS),
    engine: parseEngineFlag(values.engine),
    runtime: oneOf('runtime', values.runtime, RUNTIME_CHOICES),
    lossSemantics: oneOf('loss-semantics', values['loss-semantics'], ['exact', 'clipped'] as const),
    frozen: freezeList(values.freeze),
    batchSize: numberFlag('batch-size', values['batch-size'], { min: 1, integer: true }),
    momentum,
    dampening: numberFlag('dampening', values.dampening, { min: 0 }),
    weightDecay: numberFlag('weight-decay', values['weight-decay'], { min: 0 }),
    sampling: oneOf('sampling', values.sampling, SAMPLINGS),
    optimizer: oneOf('optimizer', values.optimizer, OPTIMIZERS),
    startedAtCheckpoint: values['started-at-checkpoint'] || undefined,
    finiteEta: values['no-finite-eta'] ? false : undefined,
    eigenpairs: numberFlag('eigenpairs', values.eigenpairs, { min: 1, integer: true }),
    finiteEtaFull: values['finite-eta-full'] === true || undefined,
    excludeRuns: values['exclude-run'],
    lrOverrides: parseSetLr(values['set-lr']),
    ...discoveryFromFlags(values),
    overrideSource: 'flag',
  };
  if (opts.gradstats && (opts.model || opts.data || opts.labels)) throw new HeatcapError(undefined, '--gradstats replaces --model/--data/--labels (the statistics are already computed): give one or the other');
  if (opts.finiteEta === false && opts.eigenpairs !== undefined) throw new HeatcapError(undefined, '--eigenpairs sets up the finite-η prediction that --no-finite-eta turns off: give one or the other');
  if (opts.finiteEta === false && opts.finiteEtaFull) throw new HeatcapError(undefined, '--finite-eta-full sets up the finite-η prediction that --no-finite-eta turns off: give one or the other');
  if ((opts.data || opts.labels) && !opts.model) throw new HeatcapError(undefined, '--data/--labels need --model (the checkpoint they belong to)');
  return { opts, all: values.all === true, json: values.json === true, html: abs(values.html), md: abs(values.md), out: abs(values.out) };
}

async function writeOutput(file: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
  } catch (e) {
    throw new HeatcapError(file, `cannot write: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function writeReports(results: AnalysisResult[], html: string | undefined, md: string | undefined): Promise<void> {
  if (!html && !md) return;
  const first = results[0];
  if (!first) return;
  if (html) await writeOutput(html, renderHtmlReport(first));
  if (md) {
    await writeOutput(md, results.map((r) => renderMarkdownReport(r)).join('\n\n---\n\n'));
  }
}

export const analyzeCommand: CliCommand = {
  name: 'analyze',
  summary: 'observed vs predicted loss-vs-η slope (the heat capacity) of a sweep or a run with step decays',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { opts, all, json, html, md, out } = analyzeOptionsFromArgs(argv, io.cwd);
    const ipc = io.ipc ?? null;
    return cancellableBySignals(async (token) => {
      const { results } = await analyzeFolder(
        opts,
        {
          toolVersion: TOOL_VERSION,
          token,
          onProgress: (p) => ipc?.progress({ fraction: p.fraction, message: p.message ?? '' }),
          gradients: gradientProvider,
        },
        all,
      );
      for (const r of results) {
        for (const w of r.warnings.filter((x) => x.severity !== 'info')) {
          if (ipc) ipc.warning(w.message, w.file);
          else if (!json) continue; // the text report lists them
          else io.err(`heatcap: warning: ${w.file ? `${w.file}: ` : ''}${w.message}\n`);
        }
      }
      const payload = toJson(all ? results : results[0]);
      if (out) await writeOutput(out, payload);
      await writeReports(results, html, md);
      io.out(json ? payload : results.map(formatAnalysis).join('\n'));
      return 0;
    });
  },
};
