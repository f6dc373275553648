/**
 * Which initializers are trainable parameters (issue 14 item 4), in which order, and what the names say
 * about how the file was exported (item 5).
 *
 * A float initializer is a parameter when it reaches, possibly through view ops (Transpose, Reshape,
 * Slice, …, as torch writes `x @ W.T` and `pos[:, :T]`), a node on the activation path (a node with an
 * input computed from the model input, not from its shape) in a weight position: Gemm A/B/C, a MatMul
 * operand, Conv W/B, LayerNormalization or BatchNormalization scale/bias, Gather data; or when it is an
 * operand of Add/Sub/Mul/Div whose other operand is an activation (a learned positional table, a learned
 * scale, the weight/bias of a LayerNorm written out at opset < 17). A float with at most one element in
 * Add/Sub/Mul/Div is a constant (the 0.5, 1, √2 of a decomposed GELU, a LayerNorm epsilon) unless its
 * name is a torch parameter path ending in `.weight` or `.bias`. BatchNorm running statistics, Pow
 * exponents, integer/bool tensors and anything used only in shape arithmetic are constants.
 *
 * Order: torch writes initializers in `named_parameters()` order (state_dict order, buffers between),
 * so parameters keep the file's initializer order. torch also deduplicates initializers with equal
 * values (two fresh BatchNorms' weights): the copy is written as `Identity(bn1.weight) → bn2.weight`.
 * load.ts turns such an Identity back into its own initializer, and here it is placed right after the
 * parameter used last before it in node order — where named_parameters() lists it for modules that run
 * in the order they are defined.
 */
import type { ConstTensor, GraphNode, GraphParam } from '../../graph/types';
import { TORCH_EXPORT_RECIPE } from './export-recipe';
import { sizeOf } from './tensor';

/** A named tensor known before any node runs. */
export interface NamedTensor {
  name: string;
  tensor: ConstTensor;
  /** Came from an initializer (or an Identity copy of one), not from a Constant node. */
  initializer: boolean;
  /** The initializer that an Identity copied (torch's deduplication), when this is such a copy. */
  copyOf?: string;
}

const VIEW_OPS = new Set(['Identity', 'Transpose', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Slice', 'Cast', 'Expand', 'Tile', 'Concat', 'Split']);
const WEIGHT_INPUTS: Record<string, number[]> = {
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  Conv: [1, 2],
  LayerNormalization: [1, 2],
  BatchNormalization: [1, 2],
  Gather: [0],
};
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div']);
/** Ops whose output depends on their input's shape only, not its values. */
const SHAPE_ONLY = new Set(['Shape', 'ConstantOfShape']);

interface Use {
  node: GraphNode;
  index: number;
  input: number;
}

export interface Classified {
  params: GraphParam[];
  constants: { name: string; tensor: ConstTensor }[];
  notes: string[];
}

function activations(nodes: GraphNode[], input: string): Set<string> {
  const data = new Set([input]);
  for (const n of nodes) {
    if (SHAPE_ONLY.has(n.op) || !n.inputs.some((v) => data.has(v))) continue;
    for (const o of n.outputs) if (o !== '') data.add(o);
  }
  return data;
}

function usesOf(nodes: GraphNode[]): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  nodes.forEach((node, index) =>
    node.inputs.forEach((v, input) => {
      if (v === '') return;
      const list = uses.get(v) ?? [];
      list.push({ node, index, input });
      uses.set(v, list);
    }),
  );
  return uses;
}

/** The uses of a value and of every view of it (the view ops' outputs), first the direct ones. */
function reach(name: string, uses: Map<string, Use[]>): Use[] {
  const out: Use[] = [];
  const seen = new Set<string>([name]);
  const queue = [name];
  for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
    for (const u of uses.get(v) ?? []) {
      out.push(u);
      if (VIEW_OPS.has(u.node.op) && (u.input === 0 || u.node.op === 'Concat')) {
        for (const o of u.node.outputs) {
          if (o === '' || seen.has(o)) continue;
          seen.add(o);
          queue.push(o);
        }
      }
    }
  }
  return out;
}

function isParameter(t: NamedTensor, uses: Use[], data: Set<string>): boolean {
  if (!t.initializer || (t.tensor.dtype !== 'float32' && t.tensor.dtype !== 'float64')) return false;
  const scalarOk = sizeOf(t.tensor) > 1 || /\.(weight|bias)$/.test(t.name);
  return uses.some(({ node, input }) => {
    if (WEIGHT_INPUTS[node.op]?.includes(input)) return node.inputs.some((v) => data.has(v));
    if (ELEMENTWISE.has(node.op) && node.inputs.length === 2) return scalarOk && data.has(node.inputs[1 - input]);
    return false;
  });
}

/** Places Identity copies after the parameter used last before their own first use (see the file comment). */
function order(params: NamedTensor[], firstUse: Map<string, number>): NamedTensor[] {
  const out = params.filter((p) => p.copyOf === undefined);
  const copies = params.filter((p) => p.copyOf !== undefined);
  const at = (p: NamedTensor) => firstUse.get(p.name) ?? Infinity;
  copies.sort((a, b) => at(a) - at(b));
  for (const c of copies) {
    let after = -1;
    out.forEach((p, i) => {
      if (at(p) <= at(c) && (after < 0 || at(p) >= at(out[after]))) after = i;
    });
    out.splice(after + 1, 0, c);
  }
  return out;
}

function exportNotes(params: NamedTensor[], reached: Map<string, Use[]>): string[] {
  const notes: string[] = [];
  const folded = params.filter((p) => /^onnx::/.test(p.name));
  const onConvOrGemm = folded.filter((p) => (reached.get(p.name) ?? []).some((u) => u.node.op === 'Conv' || u.node.op === 'Gemm'));
  if (onConvOrGemm.length > 0) {
    notes.push(
      `the graph looks constant-folded: weights ${onConvOrGemm.map((p) => `'${p.name}'`).join(', ')} carry exporter-made names, as when BatchNorm is folded into ` +
        `the Conv weights of an eval() export; the norms are then over different parameters than SGD trained. Export with: ${TORCH_EXPORT_RECIPE}`,
    );
  } else if (folded.length > 0) {
    notes.push(
      `parameters ${folded.map((p) => `'${p.name}'`).join(', ')} carry exporter-made names (constant folding, e.g. a transposed weight): ` +
        `their names do not match the model's named_parameters(). Export with: ${TORCH_EXPORT_RECIPE}`,
    );
  }
  const copies = params.filter((p) => p.copyOf !== undefined);
  if (copies.length > 0) {
    notes.push(`${copies.map((p) => `'${p.name}'`).join(', ')}: written as copies of equal parameters (${copies.map((p) => `'${p.copyOf}'`).join(', ')}) by the exporter; kept as parameters of their own`);
  }
  const doubles = params.filter((p) => p.tensor.dtype === 'float64');
  if (doubles.length > 0) notes.push(`float64 parameters converted to float32: ${doubles.map((p) => `'${p.name}'`).join(', ')}`);
  return notes;
}

function asFloat32(t: ConstTensor): ConstTensor & { dtype: 'float32' } {
  return { dims: t.dims, dtype: 'float32', data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array) };
}

/** Splits the named tensors into parameters (ordered) and constants; `input` is the model input's name. */
export function classify(tensors: NamedTensor[], nodes: GraphNode[], input: string): Classified {
  const data = activations(nodes, input);
  const uses = usesOf(nodes);
  const reached = new Map(tensors.map((t) => [t.name, reach(t.name, uses)]));
  const isParam = new Set(tensors.filter((t) => isParameter(t, reached.get(t.name) ?? [], data)).map((t) => t.name));
  // First use as (node, input slot): a BatchNorm's scale (input 1) comes before its bias (input 2).
  const firstUse = new Map([...uses].map(([v, u]) => [v, u.reduce((m, x) => Math.min(m, x.index * 1024 + Math.min(x.input, 1023)), Infinity)]));
  const params = order(
    tensors.filter((t) => isParam.has(t.name)),
    firstUse,
  );
  return {
    params: params.map((p) => ({ name: p.name, tensor: asFloat32(p.tensor) })),
    constants: tensors.filter((t) => !isParam.has(t.name)).map((t) => ({ name: t.name, tensor: t.tensor })),
    notes: exportNotes(params, reached),
  };
}
