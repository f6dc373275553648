/**
 * Which initializers are trainable parameters (issue 14 item 4), in which order, and what the names say
 * about how the file was exported (item 5).
 *
 * A float initializer is a parameter when it reaches, possibly through view ops (Transpose, Reshape,
 * Slice, …, as torch writes `x @ W.T` and `pos[:, :T]`), a node on the activation path (a node with an
 * input computed from the model input, not from its shape) in a weight position: Gemm A/B/C, a MatMul
 * operand, Conv W/B, LayerNormalization or BatchNormalization scale/bias, Gather data; or when it is an
 * operand of Add/Sub/Mul/Div whose other operand is an activation (a learned positional table, a learned
 * scale, the weight/bias of a LayerNorm written out at opset < 17), or is concatenated with activations
 * (a learned class token). In those elementwise and Concat uses a float with at most one element is a
 * constant (the 0.5, 1, √2 of a decomposed GELU, a LayerNorm epsilon) unless its name marks it as a
 * parameter: a path ending in `.weight`/`.bias`, or, in a torch export, any name torch did not make up
 * (not `onnx::…`: torch writes its own scalars as Constant nodes or `onnx::` initializers, and every
 * other initializer is a state_dict entry — a learned temperature such as `logit_scale`). BatchNorm
 * running statistics, Pow exponents, integer/bool tensors and anything used only in shape arithmetic are
 * constants.
 *
 * Order: torch writes initializers in state_dict order (named_parameters() order with buffers between),
 * so parameters keep the file's initializer order. torch also deduplicates initializers with equal
 * values (two fresh BatchNorms' weights, zero biases): a copy is written as `Identity(bn1.weight) →
 * bn2.weight`, one Identity per copy prepended to the graph in state_dict order (so the Identity nodes
 * come in reverse). load.ts turns each such Identity back into its own initializer; here a copy goes
 * right after the last parameter of its own module (`enc.norm1.bias` after `enc.norm1.weight`: a module's
 * parameters are contiguous in named_parameters()), or, when none of its module's parameters is in the
 * file, after the previous copy and its original, next to the parameter used last before it in node
 * order — exact for modules defined in the order they run, a guess otherwise (the names, which are what
 * matters for the norms, are always exact).
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
  PRelu: [1],
};
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div']);
/** Ops whose output depends on their input's shape only, not its values. */
const SHAPE_ONLY = new Set(['Shape', 'Size', 'ConstantOfShape']);

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

function isParameter(t: NamedTensor, uses: Use[], data: Set<string>, torch: boolean): boolean {
  if (!t.initializer || (t.tensor.dtype !== 'float32' && t.tensor.dtype !== 'float64')) return false;
  const scalarOk = sizeOf(t.tensor) > 1 || /\.(weight|bias)$/.test(t.name) || (torch && !/^onnx::/.test(t.name));
  return uses.some(({ node, input }) => {
    if (WEIGHT_INPUTS[node.op]?.includes(input)) return node.inputs.some((v) => data.has(v));
    if (ELEMENTWISE.has(node.op) && node.inputs.length === 2) return scalarOk && data.has(node.inputs[1 - input]);
    // A learned token joined to the activations (ViT's class token: Concat(Expand(cls), patches)).
    if (node.op === 'Concat') return scalarOk && node.inputs.some((v) => data.has(v));
    return false;
  });
}

/** Places the Identity copies among the file's parameters (see the file comment). */
function order(params: NamedTensor[], firstUse: Map<string, number>): NamedTensor[] {
  const out = params.filter((p) => p.copyOf === undefined);
  // torch prepends one Identity per copy while walking the state_dict: the copies arrive in reverse order.
  const copies = params.filter((p) => p.copyOf !== undefined).reverse();
  const at = (p: NamedTensor) => firstUse.get(p.name) ?? Infinity;
  const parent = (name: string) => name.slice(0, Math.max(0, name.lastIndexOf('.')));
  let bound = -1;
  for (const c of copies) {
    let pos = -1;
    out.forEach((p, i) => parent(p.name) === parent(c.name) && (pos = i));
    if (pos < 0) {
      const lower = Math.max(bound, out.findIndex((p) => p.name === c.copyOf));
      pos = lower;
      for (let i = lower + 1; i < out.length; i++) if (at(out[i]) <= at(c) && (pos === lower || at(out[i]) >= at(out[pos]))) pos = i;
    }
    out.splice(pos + 1, 0, c);
    bound = pos + 1;
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

/**
 * Splits the named tensors into parameters (ordered) and constants. `input` is the model input's name;
 * `torch`: the file is a torch.onnx.export (producer 'pytorch'), whose named initializers are state_dict
 * entries. Identity copies must come in `tensors` in the order of their Identity nodes.
 */
export function classify(tensors: NamedTensor[], nodes: GraphNode[], input: string, torch: boolean): Classified {
  const data = activations(nodes, input);
  const uses = usesOf(nodes);
  const reached = new Map(tensors.map((t) => [t.name, reach(t.name, uses)]));
  const isParam = new Set(tensors.filter((t) => isParameter(t, reached.get(t.name) ?? [], data, torch)).map((t) => t.name));
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
