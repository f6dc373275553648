/**
 * Parameters the user froze (`requires_grad=False`, a fine-tuned model's backbone): an ONNX file keeps
 * them as initializers like any weight, with nothing saying SGD never moved them, so they are named on the
 * command line (`--freeze`) or in the `heatcap.checkpoint.frozen` setting. A frozen parameter becomes a
 * constant of the graph: g_b, ḡ and tr Σ are over the trained parameters only, as PyTorch's gradients are.
 */
import { HeatcapError } from '../errors';
import type { EngineGraph } from '../graph/types';

/** `name` is `entry` itself or inside the module `entry` (named_parameters() names: `backbone.0.weight`). */
const matches = (name: string, entry: string) => name === entry || name.startsWith(entry.endsWith('.') ? entry : `${entry}.`);

export function freezeParams(graph: EngineGraph, entries: readonly string[] | undefined): { graph: EngineGraph; note?: string } {
  const wanted = (entries ?? []).map((e) => e.trim()).filter((e) => e !== '');
  if (wanted.length === 0) return { graph };
  const unmatched = wanted.filter((e) => !graph.params.some((p) => matches(p.name, e)));
  if (unmatched.length > 0) {
    const names = graph.params.map((p) => p.name);
    const shown = names.slice(0, 12).join(', ') + (names.length > 12 ? `, … (${names.length} in all)` : '');
    throw new HeatcapError(graph.file, `--freeze ${unmatched.map((e) => `'${e}'`).join(', ')} names no parameter of this model (a parameter name or a module prefix such as 'backbone'); its parameters: ${shown}`);
  }
  const frozen = graph.params.filter((p) => wanted.some((e) => matches(p.name, e)));
  const kept = graph.params.filter((p) => !frozen.includes(p));
  if (kept.length === 0) throw new HeatcapError(graph.file, `--freeze leaves no trained parameter (all ${graph.params.length} are frozen)`);
  const values = frozen.reduce((a, p) => a + p.tensor.data.length, 0);
  const list = frozen.map((p) => p.name);
  const shown = list.slice(0, 8).join(', ') + (list.length > 8 ? `, … (${list.length} in all)` : '');
  return {
    graph: { ...graph, params: kept, constants: [...graph.constants, ...frozen.map((p) => ({ name: p.name, tensor: p.tensor }))] },
    note: `frozen (not trained, left out of g_b): ${frozen.length} parameter${frozen.length === 1 ? '' : 's'}, ${values.toLocaleString('en-US')} values: ${shown}`,
  };
}
