/** AttributeProto → the engine's typed Attr (a float and an int attribute stay distinct, as in ONNX). */
import { HeatcapError } from '../../errors';
import type { Attr } from '../../graph/types';
import { AttributeType, toInt, type OnnxAttribute } from '../../onnx/proto';
import { decodeTensor } from './tensor';

const TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'INT', 3: 'STRING', 4: 'TENSOR', 5: 'GRAPH', 6: 'FLOATS', 7: 'INTS', 8: 'STRINGS',
  9: 'TENSORS', 10: 'GRAPHS', 11: 'SPARSE_TENSOR', 12: 'SPARSE_TENSORS', 13: 'TYPE_PROTO', 14: 'TYPE_PROTOS',
};

/** The declared type, or (for writers that leave `type` unset) the one field that is set. */
function typeOf(a: OnnxAttribute): number {
  if (a.type) return a.type;
  if (a.floats?.length) return AttributeType.FLOATS;
  if (a.ints?.length) return AttributeType.INTS;
  if (a.strings?.length) return AttributeType.STRINGS;
  if (a.t) return AttributeType.TENSOR;
  if (a.g) return AttributeType.GRAPH;
  if (a.s) return AttributeType.STRING;
  if (a.i !== undefined) return AttributeType.INT;
  if (a.f !== undefined) return AttributeType.FLOAT;
  return 0;
}

/** Converts a node's attributes; `where` names the node in messages. */
export function convertAttrs(model: string, attrs: OnnxAttribute[], where: string): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  for (const a of attrs) {
    const name = a.name ?? '';
    const type = typeOf(a);
    switch (type) {
      case AttributeType.FLOAT:
        out[name] = { type: 'float', v: a.f ?? 0 };
        break;
      case AttributeType.INT:
        out[name] = { type: 'int', v: toInt(a.i) };
        break;
      case AttributeType.STRING:
        out[name] = { type: 'string', v: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
        break;
      case AttributeType.FLOATS:
        out[name] = { type: 'floats', v: [...(a.floats ?? [])] };
        break;
      case AttributeType.INTS:
        out[name] = { type: 'ints', v: (a.ints ?? []).map(toInt) };
        break;
      case AttributeType.TENSOR:
        out[name] = { type: 'tensor', v: decodeTensor(model, a.t ?? {}, `${where} attribute '${name}'`) };
        break;
      default:
        throw new HeatcapError(model, `${where}: attribute '${name}' of type ${TYPE_NAMES[type] ?? type} is not supported`);
    }
  }
  return out;
}
