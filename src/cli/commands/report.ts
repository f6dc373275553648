/**
 * `heatcap report <result.json>`: renders a saved analysis result (`heatcap analyze --json`) as the
 * self-contained HTML report and/or the Markdown summary, without re-reading any log.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HeatcapError } from '../../core/errors';
import { renderHtmlReport } from '../../core/report/html';
import { renderMarkdownReport } from '../../core/report/markdown';
import { checkResultShape } from '../../core/report/resultShape';
import type { AnalysisResult } from '../../core/result/schema';
import { parseCommandArgs } from '../args';
import type { CliCommand, CliIo } from '../command';

const usage = `usage: heatcap report <result.json> [--html <file>] [--md <file>] [--sweep <id>]

Renders a result written by \`heatcap analyze --json\` (one result, or the list --all writes):
  --html <file>   a self-contained HTML report with the analysis panel's charts (works offline;
                  no script or request leaves the file)
  --md <file>     a Markdown summary: verdict, formula, warnings and every chart's data as tables
  --sweep <id>    with a list of results, the one to render as HTML (default: the first)
With neither --html nor --md, the Markdown summary is printed.
`;

/** Reads and checks the results in `file`; a malformed file is named with the first problems. */
async function readResults(file: string): Promise<AnalysisResult[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new HeatcapError(file, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HeatcapError(file, `not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new HeatcapError(file, 'an empty list: no result to render');
  list.forEach((r, i) => {
    const errs = checkResultShape(r);
    if (errs.length) throw new HeatcapError(file, `${Array.isArray(value) ? `result ${i}: ` : ''}not an analysis result: ${errs.slice(0, 3).join('; ')}`);
  });
  return list as AnalysisResult[];
}

async function write(file: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
  } catch (e) {
    throw new HeatcapError(file, `cannot write: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'render a saved analysis result (analyze --json) as an HTML report or a Markdown summary',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { html: { type: 'string' }, md: { type: 'string' }, sweep: { type: 'string' } }, usage);
    if (positionals.length !== 1) {
      io.err(usage);
      return 2;
    }
    const results = await readResults(resolve(io.cwd, positionals[0]));
    const markdown = (): string => results.map((r) => renderMarkdownReport(r)).join('\n\n---\n\n');
    if (values.html) {
      const chosen = values.sweep === undefined ? results[0] : results.find((r) => r.sweep?.id === values.sweep);
      if (!chosen) throw new HeatcapError(positionals[0], `no result for sweep "${values.sweep}" (have: ${results.map((r) => r.sweep?.id ?? r.root).join(', ')})`);
      const file = resolve(io.cwd, values.html);
      await write(file, renderHtmlReport(chosen));
      io.out(`wrote ${file}\n`);
    }
    if (values.md) {
      const file = resolve(io.cwd, values.md);
      await write(file, markdown());
      io.out(`wrote ${file}\n`);
    }
    if (!values.html && !values.md) io.out(markdown());
    return 0;
  },
};
