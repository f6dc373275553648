import { strict as assert } from 'node:assert';
import { loadOnnxGraph } from '../../../../src/core/model/onnx/load';
import { SUPPORTED_OPS } from '../../../../src/core/model/onnx/ops';
import { DataType } from '../../../../src/core/onnx/proto';
import { assertTopological, isError } from './support';
import { encode, floats, gemmSpec, ints, node, tmp, value, write, type Spec } from './synth';

// Hand-built models (encoded with the product's schema) for what torch exports do not show: every
// rejection names the file and says what is wrong on one line.
const dir = tmp('onnx-graph-');
let n = 0;
const load = (s: Spec | Uint8Array) => loadOnnxGraph(write(dir, `m${n++}.onnx`, s));

describe('ONNX front-end: graph structure', () => {
  it('a Gemm model loads: input shape with a free batch axis, typed attributes, parameters W and b', () => {
    const g = load(gemmSpec());
    assert.deepEqual(g.input, { name: 'x', dtype: 'float32', shape: [null, 4] });
    assert.deepEqual(g.nodes, [{ op: 'Gemm', name: 'fc', inputs: ['x', 'W', 'b'], outputs: ['y'], attrs: { transB: { type: 'int', v: 1 } } }]);
    assert.deepEqual(
      g.params.map((p) => [p.name, p.tensor.dims]),
      [
        ['W', [3, 4]],
        ['b', [3]],
      ],
    );
    assert.deepEqual(Array.from(g.params[1].tensor.data as Float32Array), [1, 2, 3]);
    assert.deepEqual(g.notes, []);
  });

  it('initializers listed among the graph inputs (older exports) are not model inputs', () => {
    const s = gemmSpec();
    s.inputs = [value('x', ['batch', 4]), value('W', [3, 4]), value('b', [3])];
    assert.equal(load(s).input.name, 'x');
  });

  it('two real inputs or two outputs: the error names them', () => {
    const two = gemmSpec();
    two.inputs = [value('x', ['batch', 4]), value('mask', ['batch', 4])];
    assert.throws(() => load(two), isError(undefined, /exactly one input \(besides initializers\); it has 2: 'x', 'mask'/));
    const out = gemmSpec();
    out.outputs = [value('y', ['batch', 3]), value('x2', ['batch', 4])];
    assert.throws(() => load(out), isError(undefined, /exactly one output; it has 2: 'y', 'x2'/));
  });

  it('input element types: float32 and int64/int32 token ids; float16 is refused', () => {
    const s: Spec = { nodes: [node('Gather', ['E', 'x'], ['y'])], inits: [floats('E', [5, 3], new Array(15).fill(0.5))], inputs: [value('x', ['batch'], DataType.INT64)] };
    const g = load(s);
    assert.equal(g.input.dtype, 'int64');
    assert.deepEqual(
      g.params.map((p) => p.name),
      ['E'],
    );
    s.inputs = [value('x', ['batch'], DataType.INT32)];
    assert.equal(load(s).input.dtype, 'int32');
    s.inputs = [value('x', ['batch'], DataType.FLOAT16)];
    assert.throws(() => load(s), isError(undefined, /graph input 'x' has element type FLOAT16; supported: float32, int64, int32$/));
    s.inputs = [value('x', ['batch'], DataType.DOUBLE)];
    assert.throws(() => load(s), isError(undefined, /graph input 'x' has element type DOUBLE; supported: float32, int64, int32 \(export the model in float32: model.float\(\)\)/));
    s.inputs = [{ name: 'x', type: { tensor_type: { elem_type: DataType.INT64 } } }];
    assert.throws(() => load(s), isError(undefined, /graph input 'x' has no shape \(unknown rank\)/));
  });

  it('an unsupported op: one line naming the op, the node, the opset and the supported ops', () => {
    const s = gemmSpec();
    s.nodes.push(node('Celu', ['y'], ['z'], 'act'));
    s.outputs = [value('z', ['batch', 3])];
    assert.throws(() => load(s), isError(undefined, /^node 'act': operator Celu \(opset 13\) is not supported; supported: Gemm, MatMul, Conv, .*, ArgMax/));
    assert.ok(SUPPORTED_OPS.includes('Gelu') && SUPPORTED_OPS.includes('LayerNormalization'));
  });

  it("Resize: nearest/asymmetric/floor (nn.Upsample(mode='nearest')) loads; bilinear or half-pixel nearest is refused naming the node", () => {
    const str = (name: string, v: string) => ({ name, type: 3, s: new TextEncoder().encode(v) });
    const resize = (attrs: { name: string; type: number; s: Uint8Array }[]): Spec => ({
      nodes: [node('Resize', ['x', '', 'scales'], ['y'], 'up', attrs)],
      inits: [floats('scales', [4], [1, 1, 2, 2])],
      inputs: [value('x', ['batch', 1, 2, 2])],
      outputs: [value('y', ['batch', 1, 4, 4])],
    });
    const torchNearest = [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')];
    assert.equal(load(resize(torchNearest)).nodes[0].op, 'Resize');
    assert.throws(() => load(resize([str('mode', 'linear')])), isError(undefined, /^node 'up': Resize with mode 'linear', coordinate_transformation_mode 'half_pixel' is not supported; only nearest-neighbour upsampling/));
    assert.throws(() => load(resize([str('mode', 'nearest')])), isError(undefined, /nearest_mode 'round_prefer_floor' is not supported/));
  });

  it('an op newer than the opset (Gelu before opset 20), another domain, an opset outside 13–20', () => {
    const gelu = (opset: number): Spec => ({ nodes: [node('Gelu', ['x'], ['y'], 'g')], outputs: [value('y', ['batch', 4])], opset });
    assert.throws(() => load(gelu(17)), isError(undefined, /node 'g': operator Gelu needs opset 20 or later, the model imports opset 17/));
    assert.equal(load(gelu(20)).opset, 20);
    const ms = gemmSpec();
    ms.nodes = [node('FusedGemm', ['x', 'W', 'b'], ['y'], 'fg', [], 'com.microsoft')];
    assert.throws(() => load(ms), isError(undefined, /operator com.microsoft.FusedGemm is outside the default ONNX domain/));
    for (const opset of [12, 21]) {
      assert.throws(() => load({ ...gemmSpec(), opset }), isError(undefined, new RegExp(`opset ${opset} is not supported \\(13–20\\); re-export with opset_version=17`)));
    }
    assert.throws(() => load({ ...gemmSpec(), domain: 'ai.onnx.ml' }), isError(undefined, /imports no opset of the default ONNX domain/));
    assert.equal(load({ ...gemmSpec(), domain: 'ai.onnx' }).opset, 13);
  });

  it('nodes out of order are sorted; a cycle, an undefined value and a value defined twice are errors', () => {
    const s: Spec = { nodes: [node('Relu', ['h'], ['y'], 'second'), node('Gemm', ['x', 'W', 'b'], ['h'], 'first', [{ name: 'transB', type: 2, i: 1 }])], inits: gemmSpec().inits };
    const g = load(s);
    assert.deepEqual(
      g.nodes.map((x) => x.name),
      ['first', 'second'],
    );
    assertTopological(g);
    const cycle: Spec = { nodes: [node('Relu', ['b2'], ['a'], 'A'), node('Relu', ['a'], ['b2'], 'B'), node('Add', ['x', 'a'], ['y'], 'C')] };
    assert.throws(() => load(cycle), isError(undefined, /the graph has a cycle through node 'A'/));
    assert.throws(() => load({ nodes: [node('Relu', ['nowhere'], ['y'], 'R')] }), isError(undefined, /node 'R': input 'nowhere' is produced by no node, initializer or graph input/));
    assert.throws(() => load({ nodes: [node('Relu', ['x'], ['y'], 'R1'), node('Relu', ['x'], ['y'], 'R2')] }), isError(undefined, /node 'R2': value 'y' is defined twice/));
    assert.throws(() => load({ nodes: [node('Relu', ['x'], ['z'], 'R')] }), isError(undefined, /graph output 'y' is produced by no node/));
  });

  it('Constant nodes are folded into constants (tensor, value_float, value_ints) and leave the node list', () => {
    const s: Spec = {
      nodes: [
        node('Constant', [], ['c0'], 'k0', [{ name: 'value', type: 4, t: ints('', [2], [-1, 3]) }]),
        node('Constant', [], ['c1'], 'k1', [{ name: 'value_float', type: 1, f: 0.5 }]),
        node('Constant', [], ['c2'], 'k2', [{ name: 'value_ints', type: 7, ints: [2, 2] }]),
        node('Reshape', ['x', 'c0'], ['r']),
        node('Mul', ['r', 'c1'], ['y']),
      ],
      outputs: [value('y', ['batch', 3])],
    };
    const g = load(s);
    assert.deepEqual(
      g.nodes.map((x) => x.op),
      ['Reshape', 'Mul'],
    );
    const c = Object.fromEntries(g.constants.map((k) => [k.name, k.tensor]));
    assert.deepEqual(c.c0, { dims: [2], dtype: 'int64', data: BigInt64Array.of(-1n, 3n) });
    assert.deepEqual(c.c1, { dims: [], dtype: 'float32', data: Float32Array.of(0.5) });
    assert.deepEqual(c.c2, { dims: [2], dtype: 'int64', data: BigInt64Array.of(2n, 2n) });
    assert.deepEqual(g.params, []);
  });

  it('a node without a name is named by its op and position in messages', () => {
    assert.throws(() => load({ nodes: [node('Celu', ['x'], ['y'], '')] }), isError(undefined, /node 'Celu #0': operator Celu/));
  });

  it('attributes keep their ONNX types (float vs int, lists, strings)', () => {
    const g = load({
      nodes: [
        node('LeakyRelu', ['x'], ['h'], 'l', [{ name: 'alpha', type: 1, f: 0.25 }]),
        node('Transpose', ['h'], ['t'], 't', [{ name: 'perm', type: 7, ints: [1, 0] }]),
        node('Transpose', ['t'], ['y'], 't2', [{ name: 'perm', ints: [1, 0] }]),
      ],
      outputs: [value('y', ['batch', 4])],
    });
    assert.deepEqual(g.nodes[0].attrs, { alpha: { type: 'float', v: 0.25 } });
    assert.deepEqual(g.nodes[1].attrs, { perm: { type: 'ints', v: [1, 0] } });
    // A writer that leaves `type` unset: the type is the field that is set.
    assert.deepEqual(g.nodes[2].attrs, { perm: { type: 'ints', v: [1, 0] } });
    const str = load({ nodes: [node('Gelu', ['x'], ['y'], 'g', [{ name: 'approximate', type: 3, s: new TextEncoder().encode('tanh') }])], outputs: [value('y', ['batch', 4])], opset: 20 });
    assert.deepEqual(str.nodes[0].attrs, { approximate: { type: 'string', v: 'tanh' } });
    assert.throws(
      () => load({ nodes: [node('Relu', ['x'], ['y'], 'r', [{ name: 'body', type: 5, g: { name: 'sub' } }])], outputs: [value('y', ['batch', 4])] }),
      isError(undefined, /node 'r': attribute 'body' of type GRAPH is not supported/),
    );
  });

  it('an empty file, and a file that is not there', () => {
    assert.throws(() => load(new Uint8Array()), isError(undefined, /imports no opset/));
    assert.throws(() => loadOnnxGraph(`${dir}/absent.onnx`), isError(`${dir}/absent.onnx`, /cannot open \(ENOENT\)/));
    assert.ok(encode(gemmSpec()).length > 0);
  });

  it('error messages name the file', () => {
    const f = write(dir, 'named.onnx', { nodes: [node('Celu', ['x'], ['y'], 'c')] });
    assert.throws(() => loadOnnxGraph(f), isError(f, /Celu/));
  });
});
