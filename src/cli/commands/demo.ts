import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { AnalyzeOptions } from '../../core/analysis/options';
import { analyzeFolder } from '../../core/analysis/pipeline';
import type { CancelToken, ProgressFn } from '../../core/cancel';
import { HeatcapError } from '../../core/errors';
import { readLabManifest, type LabManifest } from '../../core/lab/manifest';
import { renderHtmlReport } from '../../core/report/html';
import type { AnalysisResult } from '../../core/result/schema';
import { TOOL_VERSION } from '../../core/version';
import { parseCommandArgs, toJson } from '../args';
import { cancellableBySignals } from '../signals';
import type { CliCommand, CliIo } from '../command';
import { gradientProvider } from '../gradientProvider';

const usage = `usage: heatcap demo [--examples <dir>] [--html <file>] [--json]

Analyses the bundled demo (examples/digits: the UCI digits set, a softmax-regression and an MLP
checkpoint at their optimum, and η sweeps the lab ran from them with i.i.d. sampling and with random
reshuffling) through the same pipeline as 'heatcap analyze', prints observed vs predicted slopes, and
writes the i.i.d. sweep's HTML report.

  --examples <dir>   the demo folder (default: examples/digits of this installation)
  --html <file>      where to write the report (default: report.html in the current folder)
  --json             print the analysis results (an array) instead of the table
`;

/** Sweeps in the order the table shows them; any other sweep follows by name. */
const ORDER = ['softmax-iid', 'softmax-reshuffle', 'mlp-iid'];

/** examples/digits next to the running code: `<repo>/dist/cli.js` or `<repo>/src/cli/commands/demo.ts`. */
export function findDemoFolder(start: string = __dirname): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'examples', 'digits');
    if (existsSync(join(candidate, 'sweeps'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

export interface DemoSweep {
  name: string;
  dir: string;
  manifest: LabManifest;
  result: AnalysisResult;
}

/**
 * Analyses every sweep under `<examples>/sweeps/` with the checkpoint, data and loss its sweep.json
 * names, stated explicitly (so the demo does not depend on manifest defaults), the runs' own
 * hyperparameters giving B, sampling and momentum as for any user's logs.
 */
export async function analyzeDemo(examples: string, ctx: { token?: CancelToken; onProgress?: ProgressFn; onSkip?: (name: string, why: string) => void } = {}): Promise<DemoSweep[]> {
  const sweepsDir = join(examples, 'sweeps');
  const names = existsSync(sweepsDir) ? readdirSync(sweepsDir).filter((n) => existsSync(join(sweepsDir, n, 'sweep.json'))) : [];
  if (names.length === 0) throw new HeatcapError(sweepsDir, 'holds no sweep (a folder with sweep.json); is this the demo folder?');
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const out: DemoSweep[] = [];
  // The finite-η prediction (≈ 10 s for the softmax, ≈ 40 s for the MLP on 2 cores) only for the sweep
  // whose report is written, the first with i.i.d. batches: the demo stays quick and its report shows it.
  let finiteEtaFor: string | null = null;
  for (const [i, name] of names.entries()) {
    const dir = join(sweepsDir, name);
    const manifest = await readLabManifest(dir);
    if (!manifest) throw new HeatcapError(join(dir, 'sweep.json'), 'cannot be read');
    if (!manifest.complete) {
      ctx.onSkip?.(name, 'its runs are not complete (resume them with heatcap sweep --resume)');
      continue;
    }
    const opts: AnalyzeOptions = {
      root: dir,
      sweepId: '.#sweep.json',
      model: resolve(dir, manifest.checkpoint),
      data: resolve(dir, manifest.data),
      labels: manifest.labels ? resolve(dir, manifest.labels) : undefined,
      // The demo checkpoints record their loss in model.json (the engine then says so); no --loss.
      startedAtCheckpoint: true,
    };
    if (finiteEtaFor === null && manifest.sampling === 'with_replacement') finiteEtaFor = name;
    if (finiteEtaFor !== name) opts.finiteEta = false;
    const { results } = await analyzeFolder(
      opts,
      {
        toolVersion: TOOL_VERSION,
        token: ctx.token,
        gradients: gradientProvider,
        onProgress: (p) => ctx.onProgress?.({ fraction: (i + (p.fraction ?? 0)) / names.length, message: `${name}: ${p.message ?? ''}` }),
      },
      false,
    );
    out.push({ name, dir, manifest, result: results[0] });
  }
  if (out.length === 0) throw new HeatcapError(sweepsDir, 'holds no complete sweep');
  return out;
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toPrecision(digits));

/** One line per sweep: what was run, observed and predicted slopes, ratio with its 95% CI, verdict. */
export function demoTable(sweeps: DemoSweep[]): string {
  const header = ['sweep', 'model', 'sampling', 'observed slope', 'predicted slope', 'ratio', '95% CI', 'verdict'];
  const rows = sweeps.map(({ name, manifest: m, result: r }) => {
    const p = r.predicted;
    const predicted = p === null ? '—' : p.regime === 'reshuffle_suppressed' ? `${fmt(p.slope)} (i.i.d. ≤ ${fmt(p.upper_bound)})` : fmt(p.slope);
    const observed = r.observed.slope === null ? '—' : `${fmt(r.observed.slope)} ± ${fmt(r.observed.slope_stderr, 2)}`;
    const reshuffled = p?.regime === 'reshuffle_suppressed';
    const ratio = r.ratio === null ? '—' : `${fmt(r.ratio)}${reshuffled ? '*' : ''}`;
    const verdict = reshuffled ? `no linear law; ${r.verdict.status === 'agree' ? 'model agrees' : r.verdict.status}` : r.verdict.status;
    return [name, m.checkpoint.split('/').slice(-2, -1)[0] ?? '', m.sampling, observed, predicted, ratio, r.ratio_ci ? `${fmt(r.ratio_ci[0])}–${fmt(r.ratio_ci[1])}` : '—', verdict];
  });
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd();
  const notes = sweeps.some((s) => s.result.predicted?.regime === 'reshuffle_suppressed')
    ? ['', '* reshuffling: the excess loss is not linear in η (THEORY.md §3), so the ratio compares the observed L(η) − L* with the', "  reshuffling model's prediction at each η; the slope columns show the suppressed small-η slope and the model's chord slope."]
    : [];
  return [line(header), ...rows.map(line), ...notes].join('\n');
}

function setupLine(sweeps: DemoSweep[]): string {
  const m = sweeps[0].manifest;
  return `UCI digits (N = ${m.dataset_size ?? '?'}), runs started at each checkpoint's optimum, B = ${m.batch_size}, ${m.runs.length} η from ${m.runs[0].lr} to ${m.runs[m.runs.length - 1].lr}, ${m.steps.toLocaleString('en-US')} SGD steps each (burn-in ${m.burn_in.toLocaleString('en-US')})`;
}

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'analyse the bundled digits demo (precomputed η sweeps) and write report.html',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { examples: { type: 'string' }, html: { type: 'string' }, json: { type: 'boolean' } }, usage);
    if (positionals.length) throw new HeatcapError(undefined, `unexpected argument '${positionals[0]}' (see 'heatcap demo --help')`);
    const examples = values.examples ? resolve(io.cwd, values.examples) : findDemoFolder();
    if (!examples) throw new HeatcapError(undefined, 'the demo folder examples/digits was not found next to this installation; pass --examples <dir>');
    const html = resolve(io.cwd, values.html ?? 'report.html');
    // `--ipc` is stripped by main.ts, which hands the reporter over as io.ipc.
    const ipc = io.ipc ?? null;
    return cancellableBySignals(async (token) => {
      const t0 = performance.now();
      const sweeps = await analyzeDemo(examples, {
        token,
        onProgress: (p) => ipc?.progress({ fraction: p.fraction, message: p.message ?? '' }),
        onSkip: (name, why) => (ipc ? ipc.warning(`sweep ${name} skipped: ${why}`) : io.err(`heatcap: warning: sweep ${name} skipped: ${why}\n`)),
      });
      const iid = sweeps.find((s) => s.manifest.sampling === 'with_replacement') ?? sweeps[0];
      try {
        await mkdir(dirname(html), { recursive: true });
        await writeFile(html, renderHtmlReport(iid.result));
      } catch (e) {
        if (e instanceof HeatcapError) throw e;
        throw new HeatcapError(html, `cannot write: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (values.json) {
        io.out(toJson(sweeps.map((s) => s.result)));
        return 0;
      }
      const seconds = (performance.now() - t0) / 1000;
      const verdicts = sweeps.map((s) => `  ${s.name}: ${s.result.verdict.message}`);
      io.out(
        [
          'Heat capacity of SGD: observed vs predicted loss-vs-η slope on the bundled digits demo',
          setupLine(sweeps),
          '',
          demoTable(sweeps),
          '',
          ...verdicts,
          '',
          `report (${iid.name}): ${relative(io.cwd, html) || html}   (analysed in ${seconds.toFixed(1)} s)`,
          `more: heatcap analyze ${relative(io.cwd, iid.dir) || iid.dir}`,
          '',
        ].join('\n'),
      );
      return 0;
    });
  },
};
