/**
 * Appends ONNX nodes to a program under construction, with fresh value names and typed constants.
 * Op rules (ops/*.ts) speak only through this class, so none of them knows how the program is stored.
 * Reductions are emitted in the form the program's opset wants (axes as an input from opset 18 for
 * ReduceMean/ReduceMax/ReduceSumSquare; ReduceSum from 13).
 */
import { attr, type Attr, type ConstTensor, type GraphNode } from '../graph/types';

export class Emitter {
  readonly nodes: GraphNode[] = [];
  readonly constants: { name: string; tensor: ConstTensor }[] = [];
  /** Shapes of emitted values where the emitter knows them (reshapes, transposes of known values). */
  readonly shapes = new Map<string, number[]>();
  /** Shapes of values the emitter did not create (the forward pass), supplied by the builder. */
  lookup?: (name: string) => number[] | undefined;
  private counter = 0;
  private readonly i64Cache = new Map<string, string>();
  /** Reshape output → its input (a reshaped value is the same data: see `view`). */
  private readonly reshapeOf = new Map<string, string>();
  /** Row sums of squares already emitted, by the [rows, cols] value they reduce. */
  private readonly rowSqCache = new Map<string, string>();

  constructor(
    readonly opset: number,
    private readonly prefix = 'g',
  ) {}

  fresh(hint: string): string {
    return `${this.prefix}/${hint}_${this.counter++}`;
  }

  /** One node; returns its output names (`outputs` of them). */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1, hint = op): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({ op, name: this.fresh(`${hint}_node`), inputs, outputs: outs, attrs });
    return outs;
  }

  one(op: string, inputs: string[], attrs: Record<string, Attr> = {}, hint = op): string {
    return this.node(op, inputs, attrs, 1, hint)[0];
  }

  constant(tensor: ConstTensor, hint = 'const'): string {
    const name = this.fresh(hint);
    this.constants.push({ name, tensor });
    this.shapes.set(name, tensor.dims);
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, indices), shared between uses. */
  i64(values: number[]): string {
    const key = values.join(',');
    const hit = this.i64Cache.get(key);
    if (hit) return hit;
    const name = this.constant({ dims: [values.length], dtype: 'int64', data: BigInt64Array.from(values.map((v) => BigInt(v))) }, 'i64');
    this.i64Cache.set(key, name);
    return name;
  }

  /** A float scalar (rank 0) of the given type. */
  scalar(v: number, dtype: 'float32' | 'float64' = 'float32'): string {
    const data = dtype === 'float32' ? Float32Array.of(v) : Float64Array.of(v);
    return this.constant({ dims: [], dtype, data }, 'scalar');
  }

  /** A float scalar of a value's own float type (float64 programs in tests, float32 otherwise). */
  scalarOf(v: number, dtype: string): string {
    return this.scalar(v, dtype === 'float64' ? 'float64' : 'float32');
  }

  shapeOf(name: string): number[] | undefined {
    return this.shapes.get(name) ?? this.lookup?.(name);
  }

  reshape(x: string, shape: number[]): string {
    // A reshape to the same shape would still copy in ORT (measured: 4% of an MLP program).
    const known = this.shapeOf(x);
    if (known && known.length === shape.length && known.every((d, i) => d === shape[i])) return x;
    const y = this.one('Reshape', [x, this.i64(shape)]);
    this.shapes.set(y, shape);
    this.reshapeOf.set(y, x);
    return y;
  }

  /**
   * `x` with the given shape: a value of that shape that `x` was reshaped from (or to) if there is one,
   * else a new Reshape. ORT copies a Reshape whose input has other readers, and a reshape back to a
   * shape that already exists costs a node, so the per-example forms read the original values.
   */
  view(x: string, shape: number[]): string {
    const same = (v: string) => {
      const s = this.shapeOf(v);
      return !!s && s.length === shape.length && s.every((d, i) => d === shape[i]);
    };
    for (let v: string | undefined = x; v !== undefined; v = this.reshapeOf.get(v)) if (same(v)) return v;
    return this.reshape(x, shape);
  }

  /** Σ_j x[i, j]² of `x` viewed as [rows, cols] → [rows]; emitted once per value (e.g. ‖δ‖² for a kernel and its bias). */
  rowSumSquares(x: string, rows: number, cols: number): string {
    const v = this.view(x, [rows, cols]);
    let out = this.rowSqCache.get(v);
    if (!out) {
      // Mul + ReduceSum beats ORT's ReduceSumSquare on all but small tensors (one thread, kernel time:
      // 256 × 4608 476 vs 1214 µs, 256 × 800 63 vs 203, 1797 × 64 46 vs 79, 1797 × 10 22 vs 33, 256 × 144
      // 21 vs 31; below ~16k elements the second node's overhead wins: 256 × 32 14 vs 11).
      out = rows * cols >= 16384 ? this.reduce('ReduceSum', this.mul(v, v), [1], false) : this.reduce('ReduceSumSquare', v, [1], false);
      this.shapes.set(out, [rows]);
      this.rowSqCache.set(v, out);
    }
    return out;
  }

  transpose(x: string, perm: number[]): string {
    const y = this.one('Transpose', [x], { perm: attr.ints(perm) });
    const s = this.shapeOf(x);
    if (s) this.shapes.set(y, perm.map((p) => s[p]));
    return y;
  }

  /** ReduceSum / ReduceMean / ReduceMax / ReduceSumSquare over `axes` in this opset's form. */
  reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceSumSquare', x: string, axes: number[], keepdims: boolean): string {
    const axesAsInput = op === 'ReduceSum' || this.opset >= 18;
    const kd = { keepdims: attr.int(keepdims ? 1 : 0) };
    if (axes.length === 0) return this.one('Identity', [x]);
    const y = axesAsInput ? this.one(op, [x, this.i64(axes)], kd) : this.one(op, [x], { ...kd, axes: attr.ints(axes) });
    const s = this.shapeOf(x);
    if (s) {
      const reduced = new Set(axes.map((a) => (a < 0 ? a + s.length : a)));
      this.shapes.set(y, keepdims ? s.map((d, i) => (reduced.has(i) ? 1 : d)) : s.filter((_, i) => !reduced.has(i)));
    }
    return y;
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.one('Unsqueeze', [x, this.i64(axes)]);
  }

  add(a: string, b: string): string {
    return this.one('Add', [a, b]);
  }

  sub(a: string, b: string): string {
    return this.one('Sub', [a, b]);
  }

  mul(a: string, b: string): string {
    return this.one('Mul', [a, b]);
  }

  div(a: string, b: string): string {
    return this.one('Div', [a, b]);
  }

  neg(a: string): string {
    return this.one('Neg', [a]);
  }

  cast(x: string, to: 'float32' | 'float64' | 'int64' | 'bool'): string {
    const code = { float32: 1, float64: 11, int64: 7, bool: 9 }[to];
    return this.one('Cast', [x], { to: attr.int(code) });
  }

  /** Sums several tensors of one shape (a value read by several nodes gets the sum of their cotangents). */
  sum(xs: string[]): string {
    return xs.length === 1 ? xs[0] : this.one('Sum', xs);
  }
}

/**
 * The cotangent of a broadcast operand: sums `dy` (shape `dyShape`) over the axes the operand was
 * broadcast along, then reshapes it to the operand's own shape (numpy broadcasting, right-aligned).
 */
export function unbroadcast(em: Emitter, dy: string, dyShape: number[], target: number[]): string {
  const lead = dyShape.length - target.length;
  const axes: number[] = [];
  for (let i = 0; i < dyShape.length; i++) {
    const t = i - lead;
    if (t < 0 || (target[t] === 1 && dyShape[i] !== 1)) axes.push(i);
  }
  const reduced = axes.length ? em.reduce('ReduceSum', dy, axes, true) : dy;
  const same = dyShape.length === target.length && axes.length === 0;
  return same ? reduced : em.reshape(reduced, target);
}
