/** The panel engineer's fixture results (test/fixtures/results/), loaded and checked. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisResult } from '../../../../src/core/result/schema';
import { parseAnalyzeOutput } from '../../../../src/extension/compute/cliOutput';

export function fixtureResult(name: 'iid-sweep' | 'hostile' | 'no-prediction' | 'reshuffle-sweep' | 'schedule-events' | 'gaps'): AnalysisResult {
  const file = join(__dirname, '..', '..', '..', 'fixtures', 'results', `${name}.json`);
  return parseAnalyzeOutput(JSON.parse(readFileSync(file, 'utf8')))[0];
}

/** A deep copy with changes, so tests never share mutable fixtures. */
export function withChanges(r: AnalysisResult, change: (copy: AnalysisResult) => void): AnalysisResult {
  const copy = structuredClone(r);
  change(copy);
  return copy;
}
