/**
 * Shapes and element types of every value of a model's forward pass at one batch size, by running the
 * forward pass once in ONNX Runtime with every value exposed as an output. Programs are then built with
 * concrete shapes (no shape inference of our own to keep in step with ONNX's, and Shape-derived
 * constants of PyTorch exports resolve to values).
 */
import type { ConstTensor, ElemType, EngineGraph } from '../graph/types';
import { HeatcapError } from '../errors';
import { encodeModel } from '../onnx/proto';
import { buildModel } from './onnx-encode';
import type { ValueInfo } from './program';
import { createSession, toOrtTensor, type RuntimeChoice } from './runtime';

/** Integer values up to this many elements keep their data (shape arithmetic, index constants), floats up to 16 (exponents, scales). */
const KEEP_INTS = 4096;
const KEEP_FLOATS = 16;

export async function probeValues(graph: EngineGraph, x: ConstTensor, rt: { runtime?: RuntimeChoice; threads?: number } = {}): Promise<Map<string, ValueInfo>> {
  const outputs = [...new Set(graph.nodes.flatMap((n) => n.outputs).filter((o) => o !== ''))];
  const model = buildModel({
    opset: graph.opset,
    name: 'probe',
    nodes: graph.nodes,
    initializers: [...graph.params.map((p) => ({ name: p.name, tensor: p.tensor })), ...graph.constants],
    inputs: [{ name: graph.input.name, dtype: graph.input.dtype, shape: x.dims }],
    outputs: outputs.map((name) => ({ name })),
  });
  const { session, ort } = await createSession(encodeModel(model), { threads: rt.threads ?? 1, runtime: rt.runtime }, graph.file);
  let res: Record<string, import('onnxruntime-node').Tensor>;
  try {
    res = await session.run({ [graph.input.name]: toOrtTensor(x, ort) });
  } catch (e) {
    throw new HeatcapError(graph.file, `the model's forward pass failed in ONNX Runtime on the first examples: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  } finally {
    await session.release();
  }
  const values = new Map<string, ValueInfo>();
  values.set(graph.input.name, { dims: x.dims, dtype: x.dtype });
  for (const p of graph.params) values.set(p.name, { dims: p.tensor.dims, dtype: 'float32' });
  for (const c of graph.constants) values.set(c.name, { dims: c.tensor.dims, dtype: c.tensor.dtype, data: c.tensor.data });
  for (const o of outputs) {
    const t = res[o];
    if (!t) continue;
    const dtype = t.type as ElemType;
    const isFloat = dtype === 'float32' || dtype === 'float64';
    const small = t.size <= (isFloat ? KEEP_FLOATS : KEEP_INTS);
    values.set(o, { dims: [...t.dims], dtype, data: small ? (t.data as ConstTensor['data']) : undefined });
  }
  return values;
}
