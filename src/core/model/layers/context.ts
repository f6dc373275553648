import type * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../../errors';
import { type Attr, type GraphParam } from '../../graph/types';
import { type GraphBuilder, weightName } from './builder';
import { get, serialized, type LayerConfig } from './config';

/** Shape of a symbolic tensor (null: unknown, the batch axis included). */
export type Shape = (number | null)[];

/** One application of one layer being lowered: where its nodes go, its config and its input shapes. */
export class LayerCtx {
  readonly cls: string;
  readonly cfg: LayerConfig;

  constructor(
    readonly b: GraphBuilder,
    readonly layer: tf.layers.Layer,
    /** Input value names and shapes, in the layer's input order. */
    readonly inputs: string[],
    readonly inShapes: Shape[],
    readonly outShapes: Shape[],
  ) {
    this.cls = (layer as tf.layers.Layer & { getClassName(): string }).getClassName();
    this.cfg = layer.getConfig() as LayerConfig;
  }

  get name(): string {
    return this.layer.name;
  }

  /** A HeatcapError on the model file that names this layer. */
  error(what: string): HeatcapError {
    return new HeatcapError(this.b.file, `layer '${this.name}' (${this.cls}): ${what}`);
  }

  /** Emits `op` named `<layer>/<suffix>`; returns its output value. */
  op(op: string, suffix: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.b.node(op, `${this.name}/${suffix}`, inputs, attrs);
  }

  f32(suffix: string, dims: number[], values: ArrayLike<number>): string {
    return this.b.constF32(`${this.name}/${suffix}`, dims, values);
  }

  scalar(suffix: string, v: number): string {
    return this.f32(suffix, [], [v]);
  }

  i64(suffix: string, values: number[]): string {
    return this.b.constI64(`${this.name}/${suffix}`, values);
  }

  /**
   * The value of the layer's weight held in property `prop` (tfjs layer classes keep them as
   * `kernel`, `bias`, `gamma`, …), with the penalty of `regKey` attached when it is a trainable parameter.
   */
  weight(prop: string, regKey?: string): string | undefined {
    const v = this.variable(prop);
    if (!v) return undefined;
    const w = this.b.weight(v);
    const penalty = regKey ? this.penalty(regKey) : undefined;
    if (penalty) {
      if (w.param) {
        w.param.penalty = penalty;
      } else {
        this.b.notes.push(`layer '${this.name}': the ${regKey} of a frozen weight only adds a constant to the loss; it is left out`);
      }
    }
    return w.name;
  }

  /** The weight's value, or a layer error when the layer has none. */
  need(prop: string, regKey?: string): string {
    const w = this.weight(prop, regKey);
    if (!w) throw this.error(`has no ${prop} weight (is the layer built?)`);
    return w;
  }

  /** Static shape of a weight property. */
  weightShape(prop: string): number[] | undefined {
    const v = this.variable(prop);
    return v ? v.shape.map(Number) : undefined;
  }

  /**
   * The layer's weight variable `prop`: the tfjs layer classes hold it in that property; a layer built
   * otherwise is searched by weight name (`…/kernel`, `…/moving_mean`, with tfjs' `_1` suffixes dropped).
   */
  variable(prop: string): tf.LayerVariable | undefined {
    const v = (this.layer as unknown as Record<string, unknown>)[prop];
    if (v && typeof v === 'object' && 'read' in v) return v as tf.LayerVariable;
    const want = prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    return this.layer.weights.find((w) => (weightName(w).split('/').pop() ?? '').replace(/_\d+$/, '').replace(/:\d+$/, '') === want);
  }

  /** An L1/L2 regulariser config as a penalty (undefined when absent or zero). */
  penalty(regKey: string): GraphParam['penalty'] {
    const s = serialized(get(this.cfg, regKey));
    if (!s) return undefined;
    const [cls, c] = s;
    const kind = cls.toLowerCase().replace(/_/g, '');
    if (kind !== 'l1l2' && kind !== 'l1' && kind !== 'l2') {
      throw this.error(`regulariser ${cls} (${regKey}) is not supported (only L1, L2, L1L2)`);
    }
    // Keras' L1/L2 classes keep their factor under `l1`/`l2`; a bare string ('l2') means Keras' default 0.01.
    const dflt = Object.keys(c).length === 0 ? 0.01 : 0;
    const l1 = kind === 'l2' ? 0 : Number(c.l1 ?? dflt);
    const l2 = kind === 'l1' ? 0 : Number(c.l2 ?? dflt);
    if (!Number.isFinite(l1) || !Number.isFinite(l2)) throw this.error(`regulariser ${regKey} has non-finite factors`);
    return l1 === 0 && l2 === 0 ? undefined : { l1, l2 };
  }
}
