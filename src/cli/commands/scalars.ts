import { resolve } from 'node:path';
import type { CliCommand, CliIo } from '../command';
import { parseCommandArgs, toJson } from '../args';
import { HeatcapError } from '../../core/errors';
import { readRun } from '../../core/runs/read-run';
import { printable, warningText } from './runs';

const usage = `usage: heatcap scalars <run-path> --tag <tag> [--json]

Prints one scalar tag of one run (a run folder or a single log file): step and value per line, or with
--json {"tag","steps":[…],"values":[…]} (values that are NaN or infinite print as null).
Run 'heatcap runs <run-path>' to see the tags.
`;

export const scalarsCommand: CliCommand = {
  name: 'scalars',
  summary: "print one scalar tag of one run (steps and values)",
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { tag: { type: 'string' }, json: { type: 'boolean' } }, usage);
    if (positionals.length !== 1) {
      io.err(`heatcap: expected one <run-path>, got ${positionals.length} (see 'heatcap scalars --help')\n`);
      return 2;
    }
    const path = resolve(io.cwd, positionals[0]);
    const run = await readRun(path);
    for (const w of run.warnings) io.err(`heatcap: warning: ${warningText(path, w)}\n`);
    const tags = Object.keys(run.scalars);
    const list = tags.slice(0, 20).map((t) => `'${printable(t)}'`).join(', ') + (tags.length > 20 ? ', …' : '');
    if (values.tag === undefined) {
      io.err(`heatcap: --tag is required; tags in this run: ${list || '(none)'}\n`);
      return 2;
    }
    const series = Object.prototype.hasOwnProperty.call(run.scalars, values.tag) ? run.scalars[values.tag] : undefined;
    if (!series) throw new HeatcapError(path, `no tag '${printable(values.tag)}' in this run; tags: ${list || '(none)'}`);
    if (values.json) {
      io.out(toJson({ tag: values.tag, steps: series.steps, values: series.values }));
      return 0;
    }
    let text = 'step\tvalue\n';
    for (let i = 0; i < series.steps.length; i++) text += `${series.steps[i]}\t${series.values[i]}\n`;
    io.out(text);
    return 0;
  },
};
