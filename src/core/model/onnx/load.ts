/**
 * The ONNX front-end (issue 14): a `.onnx` file → EngineGraph. It only translates: nodes keep their ONNX
 * semantics and order, initializers become parameters or constants (params.ts), and `Constant` nodes are
 * folded into `constants` (and removed from `nodes`), so that every value has exactly one source — the
 * model input, a node, a parameter or a constant — and the gradient builder can read constant operands
 * (Reshape shapes, Pow exponents) by name. Identity nodes that copy an initializer (torch's
 * deduplication of equal initializers) are folded the same way, the copy keeping its own name.
 *
 * Synchronous: the file is read with readFileSync (a protobuf ModelProto is at most 2 GB; larger
 * models keep their tensors in external files, read tensor by tensor).
 */
import { readFileSync } from 'node:fs';
import { HeatcapError, describeError } from '../../errors';
import { stringAttr, type ConstTensor, type EngineGraph, type GraphNode, type GraphValue } from '../../graph/types';
import { decodeModel, toInt, type OnnxModel, type OnnxValueInfo } from '../../onnx/proto';
import { convertAttrs } from './attrs';
import { MAX_OPSET, MIN_OPSET, checkOp } from './ops';
import { topoSort } from './order';
import { classify, type NamedTensor } from './params';
import { decodeTensor, elemTypeOf, onnxTypeName } from './tensor';

/**
 * Resize has a gradient rule for nearest-neighbour upsampling as `nn.Upsample(mode='nearest')` exports it
 * (asymmetric coordinates, floor rounding); bilinear and other modes are refused here, naming the node.
 */
function checkResize(file: string, node: GraphNode): void {
  const got = [stringAttr(node, 'mode', 'nearest'), stringAttr(node, 'coordinate_transformation_mode', 'half_pixel'), stringAttr(node, 'nearest_mode', 'round_prefer_floor')];
  if (got.join() !== 'nearest,asymmetric,floor') {
    throw new HeatcapError(file, `node '${node.name}': Resize with mode '${got[0]}', coordinate_transformation_mode '${got[1]}'${got[0] === 'nearest' ? `, nearest_mode '${got[2]}'` : ''} is not supported; only nearest-neighbour upsampling by integer factors as nn.Upsample(mode='nearest') exports it (asymmetric, floor)`);
  }
}

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_FS_FILE_TOO_LARGE') throw new HeatcapError(file, 'is over 2 GiB, more than an ONNX protobuf can hold: save the weights as external data');
    throw new HeatcapError(file, `cannot open (${code ?? describeError(e)})`);
  }
}

function decode(file: string, bytes: Uint8Array): OnnxModel {
  try {
    return decodeModel(bytes);
  } catch (e) {
    throw new HeatcapError(file, `malformed or truncated ONNX protobuf: ${describeError(e)}`, { cause: e });
  }
}

/** The default-domain opset the model imports, checked against what the front-end reads. */
function defaultOpset(file: string, model: OnnxModel): number {
  const imports = (model.opset_import ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx');
  if (imports.length === 0) throw new HeatcapError(file, 'imports no opset of the default ONNX domain (ai.onnx)');
  const opset = toInt(imports[0].version);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new HeatcapError(file, `default-domain opset ${opset} is not supported (${MIN_OPSET}–${MAX_OPSET}); re-export with opset_version=17`);
  }
  return opset;
}

function graphValue(file: string, v: OnnxValueInfo, role: 'input' | 'output', allowed: string[]): GraphValue {
  const name = v.name ?? '';
  const tensor = v.type?.tensor_type;
  if (!tensor) throw new HeatcapError(file, `graph ${role} '${name}' is not a tensor`);
  const dtype = elemTypeOf(tensor.elem_type);
  if (!dtype || !allowed.includes(dtype)) {
    const hint = dtype === 'float64' ? ' (export the model in float32: model.float())' : '';
    throw new HeatcapError(file, `graph ${role} '${name}' has element type ${onnxTypeName(tensor.elem_type)}; supported: ${allowed.join(', ')}${hint}`);
  }
  if (!tensor.shape) throw new HeatcapError(file, `graph ${role} '${name}' has no shape (unknown rank)`);
  const shape = (tensor.shape.dim ?? []).map((d) => {
    const n = d.dim_value === undefined ? NaN : toInt(d.dim_value);
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  });
  return { name, dtype, shape };
}

/** A Constant node's value, from whichever of its value attributes is set. */
function constantValue(file: string, node: GraphNode): ConstTensor {
  const entries = Object.entries(node.attrs);
  if (entries.length !== 1) throw new HeatcapError(file, `Constant node '${node.name}' must have exactly one value attribute`);
  const [key, a] = entries[0];
  if (key === 'value' && a.type === 'tensor') return a.v;
  if (key === 'value_float' && a.type === 'float') return { dims: [], dtype: 'float32', data: Float32Array.of(a.v) };
  if (key === 'value_floats' && a.type === 'floats') return { dims: [a.v.length], dtype: 'float32', data: Float32Array.from(a.v) };
  if (key === 'value_int' && a.type === 'int') return { dims: [], dtype: 'int64', data: BigInt64Array.of(BigInt(a.v)) };
  if (key === 'value_ints' && a.type === 'ints') return { dims: [a.v.length], dtype: 'int64', data: BigInt64Array.from(a.v, (x) => BigInt(x)) };
  throw new HeatcapError(file, `Constant node '${node.name}': value attribute '${key}' is not supported`);
}

/**
 * Reads a `.onnx` file (PyTorch's torch.onnx.export, opset 13–20) and lowers it to the engine's graph.
 * Every problem with the file is a HeatcapError naming it (or the external data file at fault).
 */
export function loadOnnxGraph(file: string): EngineGraph {
  const model = decode(file, readBytes(file));
  const opset = defaultOpset(file, model);
  const g = model.graph;
  if (!g) throw new HeatcapError(file, 'holds no graph');

  const tensors: NamedTensor[] = [];
  const byName = new Map<string, NamedTensor>();
  const addTensor = (t: NamedTensor) => {
    if (byName.has(t.name)) throw new HeatcapError(file, `tensor '${t.name}' is defined twice`);
    byName.set(t.name, t);
    tensors.push(t);
  };
  (g.initializer ?? []).forEach((t, i) => {
    const name = t.name || `initializer #${i}`;
    addTensor({ name, tensor: decodeTensor(file, t, name), initializer: true });
  });

  const realInputs = (g.input ?? []).filter((v) => !byName.has(v.name ?? ''));
  if (realInputs.length !== 1) {
    throw new HeatcapError(file, `the model must have exactly one input (besides initializers); it has ${realInputs.length}: ${realInputs.map((v) => `'${v.name ?? ''}'`).join(', ') || 'none'}`);
  }
  const outputs = g.output ?? [];
  if (outputs.length !== 1) {
    throw new HeatcapError(file, `the model must have exactly one output; it has ${outputs.length}: ${outputs.map((v) => `'${v.name ?? ''}'`).join(', ') || 'none'}`);
  }
  const input = graphValue(file, realInputs[0], 'input', ['float32', 'int64', 'int32']);
  const output = graphValue(file, outputs[0], 'output', ['float32']);

  const nodes: GraphNode[] = [];
  (g.node ?? []).forEach((n, i) => {
    const op = n.op_type ?? '';
    const name = n.name || `${op || 'node'} #${i}`;
    checkOp(file, op, n.domain ?? '', name, opset);
    const node: GraphNode = { op, name, inputs: n.input ?? [], outputs: n.output ?? [], attrs: convertAttrs(file, n.attribute ?? [], `node '${name}'`) };
    if (op === 'Resize') checkResize(file, node);
    if (op === 'Constant') {
      if (node.outputs.length !== 1 || node.outputs[0] === '') throw new HeatcapError(file, `Constant node '${name}' must have one output`);
      addTensor({ name: node.outputs[0], tensor: constantValue(file, node), initializer: false });
    } else {
      nodes.push(node);
    }
  });

  const sorted = topoSort(file, nodes, new Set([input.name, ...byName.keys()]));
  const kept = sorted.filter((n) => {
    const src = n.op === 'Identity' ? byName.get(n.inputs[0]) : undefined;
    if (!src || n.outputs[0] === output.name) return true;
    // Its own copy of the data: the two are distinct parameters that SGD may move apart.
    const tensor = { ...src.tensor, data: src.tensor.data.slice() } as ConstTensor;
    addTensor({ name: n.outputs[0], tensor, initializer: src.initializer, copyOf: src.initializer ? (src.copyOf ?? src.name) : undefined });
    return false;
  });
  if (!kept.some((n) => n.outputs.includes(output.name))) {
    throw new HeatcapError(file, `graph output '${output.name}' is produced by no node`);
  }

  const { params, constants, notes } = classify(tensors, kept, input.name, model.producer_name === 'pytorch');
  return {
    format: 'onnx',
    file,
    opset,
    input,
    output,
    nodes: kept,
    params,
    constants,
    facts: { hasBatchNorm: kept.some((n) => n.op === 'BatchNormalization'), hasRegularizers: false },
    notes,
  };
}
