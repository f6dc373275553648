import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { discoverRuns } from '../../../src/core/runs/discover';

/** Every scalar series of the single run in `dir`, read back by the product's run readers. */
export async function readTfevents(dir: string): Promise<Record<string, { steps: number[]; values: number[] }>> {
  if (!readdirSync(dir).some((f) => f.startsWith('events.out.tfevents.'))) throw new Error(`no event file in ${dir}`);
  const d = await discoverRuns(dir);
  if (d.runs.length !== 1) throw new Error(`expected one run in ${join(dir)}, found ${d.runs.length}`);
  const out: Record<string, { steps: number[]; values: number[] }> = {};
  for (const [tag, s] of Object.entries(d.runs[0].scalars)) out[tag] = { steps: s.steps, values: s.values };
  return out;
}
