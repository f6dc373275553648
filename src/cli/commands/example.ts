import { resolve } from 'node:path';
import { HeatcapError } from '../../core/errors';
import { readExample, type TrainingExample } from '../../core/example/readExample';
import { DATA_OPTIONS, numberFlag, parseCommandArgs, toJson } from '../args';
import type { CliCommand, CliIo } from '../command';

const usage = `usage: heatcap example --data <file> [--labels <file>] [--label-column c] [--model <model.json>] --index i [--json]

One training example, as the analysis panel shows it next to the examples with the largest gradient
norm: an image when its values form one (the checkpoint's input shape H×W or H×W×C, the data file's
own row shape, or a square number of values, side ≥ 8), else a row of numbers; with its label.

  --data <file>          inputs: .npy, .npz (file.npz#key), .csv[.gz] or .jsonl[.gz] (as for gradnorms)
  --labels <file>        labels: .npy or .npz#key (optional: a lone .npy of inputs is shown unlabelled)
  --label-column <c>     CSV label column, name or index (default: the last)
  --model <model.json>   the checkpoint, whose input shape says how to draw the row
  --index <i>            0-based index of the example (as in gradnorms' "top")
  --json                 print {"index","n","label","example":{"kind":"image"|"row"|"unavailable",…}}
`;

/** Without --json: the label, then the image as rows of values or the row as name = value lines. */
function text(e: TrainingExample): string {
  const head = `example ${e.index} of ${e.n}${e.label !== null ? `, label ${e.label}` : ''}\n`;
  const p = e.example;
  switch (p.kind) {
    case 'image': {
      const rows: string[] = [];
      const stride = p.width * p.channels;
      for (let y = 0; y < p.height; y++) rows.push(p.pixels.slice(y * stride, (y + 1) * stride).join(' '));
      return `${head}${p.width}×${p.height}${p.channels > 1 ? `×${p.channels}` : ''} image, ${p.range[0]} = black, ${p.range[1]} = white\n${rows.join('\n')}\n`;
    }
    case 'row':
      return head + p.columns.map((c, i) => `${c} = ${p.values[i] ?? 'NaN'}`).join('\n') + '\n';
    case 'text':
      return `${head}${p.text}\n`;
    case 'unavailable':
      return `${head}${p.reason}\n`;
  }
}

export const exampleCommand: CliCommand = {
  name: 'example',
  summary: 'one training example (image or row of numbers, with its label), as the panel shows it',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...DATA_OPTIONS,
        model: { type: 'string' },
        index: { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    if (positionals.length) throw new HeatcapError(undefined, `unexpected argument '${positionals[0]}' (see 'heatcap example --help')`);
    if (!values.data) throw new HeatcapError(undefined, "--data <file> is required (see 'heatcap example --help')");
    const index = numberFlag('index', values.index, { min: 0, integer: true });
    if (index === undefined) throw new HeatcapError(undefined, "--index <i> is required (see 'heatcap example --help')");
    const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(io.cwd, p));
    const column = values['label-column'];
    const e = readExample({
      data: abs(values.data) as string,
      labels: abs(values.labels),
      labelColumn: column !== undefined && /^-?\d+$/.test(column) ? Number(column) : column,
      model: abs(values.model),
      index,
    });
    io.out(values.json ? toJson(e) : text(e));
    return 0;
  },
};
