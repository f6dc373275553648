import { resolve } from 'node:path';
import { cancellableBySignals } from '../signals';
import type { CliCommand, CliIo } from '../command';
import { CHECKPOINT_OPTIONS, freezeList, numberFlag, parseCommandArgs, toJson } from '../args';
import { RUNTIME_CHOICES, type RuntimeChoice } from '../../core/engine/runtime';
import { computeSubspaceCurvature, DEFAULT_K } from '../../core/curvature';
import { HeatcapError } from '../../core/errors';
import { finiteEtaPrediction } from '../../core/finite-eta';
import { deterministicLimit } from '../../core/finite-eta/limits';
import type { SgdDynamics, SubspaceCurvature } from '../../core/finite-eta/types';
import { LOSS_NAMES_HELP } from '../../core/gradnorm/loss';
import type { FiniteEta } from '../../core/result/schema';
import { num } from '../format/analysisText';

const usage = `usage: heatcap curvature --model <model file> --data <x.npy> --labels <y.npy> [options]

The sharpest directions of the training loss at the checkpoint: the top k Hessian eigenvalues (Lanczos
on Hessian-vector products; float64 for Dense-only model.json files) with their residuals, and SGD's
stability limits (THEORY.md §4): the deterministic 2/λ_max and, given the batch size, the mean-square
limit from how unevenly the examples curve along those directions.

  --model <file> --data <file> --labels <file> --label-column <c> --loss <name> --loss-semantics <s>
  --freeze <names>
                           as for 'heatcap gradnorms' (loss: ${LOSS_NAMES_HELP})
  --eigenpairs <k>         directions (default ${DEFAULT_K})
  --max-examples <n>       examples for the per-example projections (evenly spaced; the Hessian uses all)
  --tolerance <t>          residual tolerance ‖Hv − λv‖/|λ_1| (default 1e-6 in float64, 1e-3 in float32)
  --threads <n>            ONNX Runtime threads (default 1)
  --runtime <r>            ONNX Runtime build: auto (default: native, else wasm with a note), native or wasm
  --engine auto|dense-f64|onnx   Hessian-vector products (default auto: float64 for Dense-only model.json)
  --hvp auto|differences   ONNX path: exact products (forward-over-reverse, default where every op has a
                           tangent rule) or central differences of float32 gradients (a cross-check)
  --batch-size B           SGD's batch size: gives the mean-square limit (without it: 2/λ_max only)
  --sampling with_replacement|without_replacement   how batches are drawn (default with_replacement)
  --momentum β --nesterov --weight-decay λ   the optimiser's factors on both limits
  --json                   print {"parameters","k","n","method","hvp","eigenvalues":[{value,residual}],
                           "converged","limits":{"deterministic","mean_square"},"cost_gradient_passes",
                           "seconds","notes"}
`;

function limitsOf(c: SubspaceCurvature, dyn: SgdDynamics | null, m: { momentum: number; nesterov: boolean; weightDecay: number }): { deterministic: number | null; mean_square: number | null; status: FiniteEta['status'] | null; message: string | null } {
  if (!c.converged || c.k === 0) return { deterministic: null, mean_square: null, status: null, message: null };
  if (!dyn) return { deterministic: deterministicLimit(c.eigenvalues[0], { momentum: m.momentum, dampening: 0, nesterov: m.nesterov }, m.weightDecay), mean_square: null, status: null, message: null };
  const fe = finiteEtaPrediction(c, dyn, { points: 2 });
  return { ...fe.limits, status: fe.status, message: fe.message };
}

export const curvatureCommand: CliCommand = {
  name: 'curvature',
  summary: 'top Hessian eigenvalues of a checkpoint and the stability limits of SGD',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...CHECKPOINT_OPTIONS,
        eigenpairs: { type: 'string' },
        'max-examples': { type: 'string' },
        tolerance: { type: 'string' },
        threads: { type: 'string' },
        runtime: { type: 'string' },
        engine: { type: 'string' },
        hvp: { type: 'string' },
        'batch-size': { type: 'string' },
        sampling: { type: 'string' },
        momentum: { type: 'string' },
        nesterov: { type: 'boolean' },
        'weight-decay': { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    if (positionals.length) throw new HeatcapError(undefined, `unexpected argument '${positionals[0]}' (see 'heatcap curvature --help')`);
    if (!values.model || !values.data) throw new HeatcapError(undefined, `--model and --data are required (see 'heatcap curvature --help')`);
    const semantics = values['loss-semantics'] ?? 'exact';
    if (semantics !== 'exact' && semantics !== 'clipped') throw new HeatcapError(undefined, `--loss-semantics must be exact or clipped, got '${semantics}'`);
    const engine = values.engine ?? 'auto';
    if (engine !== 'auto' && engine !== 'dense-f64' && engine !== 'onnx') throw new HeatcapError(undefined, `--engine must be auto, dense-f64 or onnx, got '${engine}'`);
    const hvp = values.hvp ?? 'auto';
    if (hvp !== 'auto' && hvp !== 'differences') throw new HeatcapError(undefined, `--hvp must be auto or differences, got '${hvp}'`);
    const sampling = values.sampling ?? 'with_replacement';
    if (sampling !== 'with_replacement' && sampling !== 'without_replacement') throw new HeatcapError(undefined, `--sampling must be with_replacement or without_replacement, got '${sampling}'`);
    const momentum = numberFlag('momentum', values.momentum, { min: 0 }) ?? 0;
    if (momentum >= 1) throw new HeatcapError(undefined, `--momentum must be < 1, got '${values.momentum}'`);
    const weightDecay = numberFlag('weight-decay', values['weight-decay'], { min: 0 }) ?? 0;
    const batchSize = numberFlag('batch-size', values['batch-size'], { min: 1, integer: true });
    const nesterov = values.nesterov === true;
    const runtime = (values.runtime ?? 'auto') as RuntimeChoice;
    if (!RUNTIME_CHOICES.includes(runtime)) throw new HeatcapError(undefined, `--runtime must be ${RUNTIME_CHOICES.join(', ')}, got '${values.runtime}'`);
    return cancellableBySignals(async (token) => {
      const c = await computeSubspaceCurvature(
        {
          model: resolve(io.cwd, values.model as string),
          data: { data: resolve(io.cwd, values.data as string), labels: values.labels ? resolve(io.cwd, values.labels) : undefined, labelColumn: values['label-column'] },
          loss: values.loss,
          semantics,
          engine,
          frozen: freezeList(values.freeze),
        },
        {
          k: numberFlag('eigenpairs', values.eigenpairs, { min: 1, integer: true }),
          maxExamples: numberFlag('max-examples', values['max-examples'], { min: 1, integer: true }),
          tolerance: numberFlag('tolerance', values.tolerance, { min: 0 }),
          threads: numberFlag('threads', values.threads, { min: 1, integer: true }),
          runtime,
          hvp,
        },
        token,
        (p) => io.ipc?.progress({ fraction: p.fraction, message: p.message ?? '' }),
      );
      const dyn: SgdDynamics | null =
        batchSize === undefined ? null : { batchSize, sampling, datasetSize: c.n, momentum, dampening: 0, nesterov, weightDecay };
      const limits = limitsOf(c, dyn, { momentum, nesterov, weightDecay });
      const out = {
        parameters: c.parameters,
        k: c.k,
        n: c.n,
        method: c.method,
        hvp: c.hvp,
        eigenvalues: c.eigenvalues.map((value, i) => ({ value, residual: c.residuals[i] })),
        converged: c.converged,
        limits: { deterministic: limits.deterministic, mean_square: limits.mean_square },
        cost_gradient_passes: c.costGradientPasses,
        seconds: c.seconds,
        notes: [...(limits.status !== null && limits.status !== 'ok' ? [`${limits.status}: ${limits.message}`] : []), ...c.notes],
      };
      if (values.json) {
        io.out(toJson(out));
        return 0;
      }
      const lines = [
        `parameters      ${c.parameters}, ${c.k} direction(s) by ${c.method} (${c.hvp}${c.hvpRelError !== undefined ? `, relative error ≈ ${num(c.hvpRelError, 2)}` : ''})`,
        `converged       ${c.converged ? 'yes' : 'no: the eigenvalues below are not reliable, no limits'}`,
        ...c.eigenvalues.map((v, i) => `  λ_${String(i + 1).padEnd(3)} ${num(v, 6).padStart(12)}   residual ${num(c.residuals[i], 2)}`),
        `limits          deterministic η ${num(limits.deterministic)} (2/λ_max${momentum > 0 ? ' with the momentum factor' : ''})` +
          (dyn ? ` · mean-square η ${num(limits.mean_square)} (B = ${batchSize}, ${sampling})` : ' · mean-square: give --batch-size'),
        `cost            ${num(c.costGradientPasses, 3)} per-example-norm passes, ${num(c.seconds, 3)} s`,
        ...out.notes.map((n) => `note: ${n}`),
      ];
      io.out(`${lines.join('\n')}\n`);
      return 0;
    });
  },
};
