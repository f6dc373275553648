import { resolve } from 'node:path';
import { cancellableBySignals } from '../signals';
import type { CliCommand, CliIo } from '../command';
import { CHECKPOINT_OPTIONS, freezeList, numberFlag, parseCommandArgs, toJson } from '../args';
import { HeatcapError } from '../../core/errors';
import { LOSS_NAMES_HELP } from '../../core/gradnorm/loss';
import { parseEngineFlag } from '../../core/gradnorm/job';
import { runGradNorms, type GradNormRun } from '../../core/gradnorm/run';
import { BACKEND_PREFS, type BackendPref } from '../../core/tf/backend';
import { RUNTIME_CHOICES, type RuntimeChoice } from '../../core/engine/runtime';

const usage = `usage: heatcap gradnorms --model <model file> --data <x.npy> --labels <y.npy> [options]

Per-example gradient norms ‖g_b‖² of the training loss at the checkpoint, for every training example,
from one batched forward and backward pass per chunk, and the statistics the heat-capacity prediction
needs: E‖g_b‖², ‖ḡ‖² and tr Σ = E‖g_b‖² − ‖ḡ‖² (THEORY.md §1–2). The model is lowered to the engine's
graph and compiled to an ONNX gradient program run by ONNX Runtime.

  --model <file>           net.onnx (exported by PyTorch, JAX, …; opsets 13–20), model.keras (Keras 3),
                           model.h5 (legacy Keras full model) or model.json (TensorFlow.js LayersModel)
  --data <file>            inputs in the model's own layout (NCHW for PyTorch CNNs; int64 token ids):
                           .npy, .npz (file.npz#key), .csv[.gz] or .jsonl[.gz]
  --labels <file>          labels: .npy or .npz#key (not needed for csv/jsonl, or an npz with x and y)
  --label-column <c>       CSV label column, name or index (default: the last)
  --loss <name>            ${LOSS_NAMES_HELP};
                           default: the loss the model file records (ONNX files record none)
  --label-smoothing <ε>    cross-entropy targets (1 − ε)·y + ε/C, as nn.CrossEntropyLoss(label_smoothing=ε)
  --freeze <names>         parameters SGD did not train (requires_grad=False, a frozen backbone): names
                           or module prefixes as named_parameters() gives them, comma-separated or
                           repeated (--freeze backbone --freeze head.norm); left out of g_b. ONNX files
                           keep frozen weights as initializers, so without this they count
  --loss-semantics <s>     exact (default: cross-entropy from the logits before a final Softmax/Sigmoid,
                           as PyTorch and TF Keras compute it) or clipped (probabilities clipped to
                           [1e-7, 1 − 1e-7], as tfjs-layers' own fit computes it)
  --engine <e>             auto (default: the ONNX engine; TensorFlow.js' exact per-example loop for a
                           model.json it cannot express, with a note), onnx, onnx-loop (its exact
                           per-example loop, B = 1) or naive (the TensorFlow.js loop; model.json only).
                           vectorized (the removed TensorFlow.js vectorised engine) runs auto, with a note
  --threads <n>            ONNX Runtime threads (default: the cores, at most 8)
  --provider <p>           cpu (default) or cuda (needs onnxruntime-node's CUDA binaries)
  --runtime <r>            ONNX Runtime build: auto (default: native onnxruntime-node, else its
                           WebAssembly build onnxruntime-web, with a note), native or wasm
  --backend <b>            TensorFlow.js loop only: auto (tfjs-node if installed, else wasm), wasm,
                           node or cpu
  --per-example <out.npy>  write all N squared norms as a float64 .npy, in input order
  --top <k>                how many largest-norm examples to list (default 20)
  --workers <n|auto>       TensorFlow.js loop: worker threads (default auto: 1 below 8192 examples,
                           else all cores up to 4); 0 runs in this thread (either engine)
  --batch-size <n>         examples per batched pass (ONNX engine default: from the model's sizes, 256 to
                           4096, within a memory budget; TensorFlow.js loop: 256)
  --json                   print {"n","mean_loss","mean_sq_norm","mean_grad_sq_norm","trace_cov",
                           "per_weight","top","backend","engine","seconds","notes",…}

ℓ_b includes the model's kernel/bias regularisers (SGD steps on them); g_b = ∇ℓ_b (no 1/B).
"seconds" is the engine's own time (no process start-up, no model loading).
`;

/** JSON cannot carry NaN/Infinity: unknown numbers are null (the result schema's convention). */
function num(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function gradNormsJson(r: GradNormRun, model: string, data: string) {
  return {
    n: r.n,
    mean_loss: num(r.meanLoss),
    mean_sq_norm: num(r.meanSqNorm),
    mean_grad_sq_norm: num(r.meanGradSqNorm),
    trace_cov: num(r.traceCov),
    per_weight: r.perWeight.map((w) => ({ name: w.name, mean_sq_norm: num(w.meanSqNorm), size: w.size })),
    top: r.top.map((t) => ({ index: t.index, sq_norm: num(t.sqNorm) })),
    histogram: { log10_edges: r.histogram.log10Edges, counts: r.histogram.counts, zeros: r.histogram.zeros },
    backend: r.backend,
    engine: r.engine,
    seconds: r.seconds,
    workers: r.workers,
    load_seconds: r.loadSeconds,
    model,
    data,
    notes: r.notes,
  };
}

function humanText(r: GradNormRun): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toPrecision(6) : String(x));
  const lines = [
    `examples           ${r.n}`,
    `mean loss          ${f(r.meanLoss)}`,
    `E‖g_b‖²            ${f(r.meanSqNorm)}`,
    `‖ḡ‖²               ${f(r.meanGradSqNorm)}   (${f(r.meanGradSqNorm / r.meanSqNorm)} of E‖g_b‖²: how far from an optimum)`,
    `tr Σ               ${f(r.traceCov)}`,
    `engine             ${r.engine} on ${r.backend}, ${r.workers} worker(s), ${r.seconds.toFixed(3)} s (+${r.loadSeconds.toFixed(3)} s loading and building)`,
    '',
    'per weight tensor (E‖g_b,w‖²):',
    ...r.perWeight.map((w) => `  ${w.name.padEnd(32)} ${f(w.meanSqNorm).padStart(12)}  (${w.size} parameters)`),
    '',
    `largest ‖g_b‖²: ${r.top.slice(0, 10).map((t) => `#${t.index} ${f(t.sqNorm)}`).join(', ')}`,
    ...r.notes.map((n) => `note: ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const gradnormsCommand: CliCommand = {
  name: 'gradnorms',
  summary: 'per-example gradient norms and tr Σ of a checkpoint over its training data',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...CHECKPOINT_OPTIONS,
        backend: { type: 'string' },
        engine: { type: 'string' },
        'per-example': { type: 'string' },
        top: { type: 'string' },
        workers: { type: 'string' },
        'batch-size': { type: 'string' },
        threads: { type: 'string' },
        provider: { type: 'string' },
        runtime: { type: 'string' },
        'label-smoothing': { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    if (positionals.length) {
      io.err(`heatcap: unexpected argument '${positionals[0]}' (see 'heatcap gradnorms --help')\n`);
      return 2;
    }
    if (!values.model || !values.data) {
      io.err(`heatcap: --model and --data are required (see 'heatcap gradnorms --help')\n`);
      return 2;
    }
    const backend = (values.backend ?? 'auto') as BackendPref;
    if (!BACKEND_PREFS.includes(backend)) throw new HeatcapError(undefined, `--backend must be one of ${BACKEND_PREFS.join(', ')}, got '${values.backend}'`);
    const engine = parseEngineFlag(values.engine) ?? 'auto';
    const semantics = values['loss-semantics'] ?? 'exact';
    if (semantics !== 'exact' && semantics !== 'clipped') throw new HeatcapError(undefined, `--loss-semantics must be exact or clipped, got '${semantics}'`);
    const provider = values.provider ?? 'cpu';
    if (provider !== 'cpu' && provider !== 'cuda') throw new HeatcapError(undefined, `--provider must be cpu or cuda, got '${provider}'`);
    const runtime = (values.runtime ?? 'auto') as RuntimeChoice;
    if (!RUNTIME_CHOICES.includes(runtime)) throw new HeatcapError(undefined, `--runtime must be one of ${RUNTIME_CHOICES.join(', ')}, got '${values.runtime}'`);
    const workers = values.workers === undefined || values.workers === 'auto' ? 'auto' : numberFlag('workers', values.workers, { min: 0, integer: true })!;
    const model = resolve(io.cwd, values.model);
    const data = resolve(io.cwd, values.data);
    return cancellableBySignals(async (token) => {
      const r = await runGradNorms({
        model,
        data: {
          data,
          labels: values.labels ? resolve(io.cwd, values.labels) : undefined,
          labelColumn: values['label-column'],
        },
        loss: values.loss,
        labelSmoothing: numberFlag('label-smoothing', values['label-smoothing'], { min: 0 }),
        frozen: freezeList(values.freeze),
        semantics,
        provider,
        runtime,
        threads: numberFlag('threads', values.threads, { min: 1, integer: true }),
        backend,
        engine,
        topK: numberFlag('top', values.top, { min: 0, integer: true }) ?? 20,
        chunkSize: numberFlag('batch-size', values['batch-size'], { min: 1, integer: true }),
        workers,
        perExamplePath: values['per-example'] ? resolve(io.cwd, values['per-example']) : undefined,
        token,
        onProgress: io.ipc ? (p) => io.ipc?.progress({ fraction: p.fraction, message: p.message ?? 'per-example gradient norms' }) : undefined,
      });
      io.out(values.json ? toJson(gradNormsJson(r, model, data)) : humanText(r));
      return 0;
    });
  },
};
