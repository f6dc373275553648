/**
 * Which training data answers the panel's `requestExample` for the analysis on show. The indices in
 * its top-k table count the examples of the data its gradient norms were computed on (`gradnorms.data`,
 * an absolute path when the CLI computed them); the checkpoint settings (`heatcap.checkpoint.data`,
 * `.labels`, `.model`) add the labels and input shape when they name that same file. No `vscode`
 * import (unit-tested).
 */
import * as path from 'node:path';
import type { AnalysisResult } from '../../core/result/schema';
import type { CheckpointPaths } from '../compute/cliArgs';

export type ExampleSource = { ok: true; data: string; labels: string | null; model: string | null } | { ok: false; reason: string };

const same = (a: string, b: string): boolean => path.resolve(a) === path.resolve(b);

export function exampleSource(result: AnalysisResult, checkpoint: CheckpointPaths | null): ExampleSource {
  const g = result.gradnorms;
  if (!g) return { ok: false, reason: 'this analysis has no per-example gradient norms, so no examples' };
  const analysed = path.isAbsolute(g.data) ? g.data : null;
  if (checkpoint?.data && (analysed === null || same(checkpoint.data, analysed))) {
    return { ok: true, data: checkpoint.data, labels: checkpoint.labels, model: checkpoint.model };
  }
  if (analysed) {
    // The analysis used other data than the settings name (a sweep.json from the sweep lab): its file,
    // without the settings' labels, which belong to another file.
    return { ok: true, data: analysed, labels: null, model: path.isAbsolute(g.model) ? g.model : null };
  }
  return { ok: false, reason: `the training data of this analysis (${g.data}) is not known here: set heatcap.checkpoint.data` };
}
