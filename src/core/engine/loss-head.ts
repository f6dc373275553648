/**
 * The loss at the end of a gradient program: per-example ℓ_b and δ = ∂(Σ_b w_b ℓ_b)/∂z for the value z the
 * head reads, computed in float64 and cast back to float32 (THEORY.md notation; issue 15: the exact forms
 * PyTorch and TF Keras use, not clipped probabilities). Cross-entropy from logits may instead run in float32
 * (HeadOptions; the per-example gradient program does for one-hot targets without label smoothing): its
 * forms are cancellation-free identities, so float32 adds a few ulps per element, not the 1 − p
 * cancellation (tested against a 60-digit oracle).
 *
 * With cross-entropy on a model that ends in Softmax (or LogSoftmax, or Sigmoid for binary CE) the head
 * reads the logits before it and computes log-softmax by log-sum-exp, as PyTorch always does and TF Keras
 * does when it can see the Softmax. For the class with the largest logit, δ = S·p − y is formed without
 * cancellation: 1 − p_k = Σ_{j≠k} p_j (issue 15, "float32 cancellation"). The clipped semantics of
 * tfjs-layers' own `fit` (probabilities clipped to [1e−7, 1 − 1e−7]) remain available as an explicit choice.
 * Positions: ℓ_b is averaged over every non-batch, non-class axis (Keras' reduction; mean_b ℓ_b is the
 * batch loss a framework reports).
 */
import { attr, type EngineGraph, type GraphNode } from '../graph/types';
import { HeatcapError } from '../errors';
import type { Emitter } from './emitter';
import { rowwise } from './ops/last-axis';
import type { LossSpec } from '../gradnorm/loss';

export type HeadKind = 'ce_logits' | 'ce_probs_sparse' | 'ce_probs_categorical' | 'nll_logprobs' | 'bce_logits' | 'bce_probs' | 'mse';

export interface LossHead {
  kind: HeadKind;
  /** The value the head reads (the graph's output, or the logits before its final activation). */
  input: string;
  /** The final node the head replaces (its Softmax/LogSoftmax/Sigmoid), if any. */
  drop?: GraphNode;
  labelSmoothing: number;
  /** Targets are one-hot rows made from class indices (each sums to exactly 1; label smoothing keeps that). */
  unitTargets?: boolean;
  /** One line for the result's notes. */
  describe: string;
}

export type LossSemantics = 'exact' | 'clipped';

/** Keras' (and tfjs-layers') probability clip ε. */
const EPS = 1e-7;

function lastAxis(node: GraphNode, rank: number | undefined): boolean {
  const a = node.attrs.axis;
  const axis = a && a.type === 'int' ? a.v : -1;
  return axis === -1 || (rank !== undefined && axis === rank - 1);
}

/** Chooses the head for a graph, its loss and the probability semantics. */
export function planHead(graph: EngineGraph, loss: LossSpec, semantics: LossSemantics): LossHead {
  const out = graph.output.name;
  const last = graph.nodes.find((n) => n.outputs.includes(out));
  const rank = graph.output.shape.length;
  const ls = loss.labelSmoothing ?? 0;
  const head = (kind: HeadKind, describe: string, drop?: GraphNode): LossHead => ({ kind, input: drop ? drop.inputs[0] : out, drop, labelSmoothing: ls, describe });
  const isCe = loss.kind === 'sparse_categorical_crossentropy' || loss.kind === 'categorical_crossentropy';
  if (ls > 0 && !isCe) throw new HeatcapError(undefined, 'label smoothing applies to cross-entropy only');
  if (isCe) {
    if (loss.fromLogits && last?.op === 'Softmax' && lastAxis(last, rank)) {
      // Softmax applied twice is never what was meant (Keras warns about it too): the outputs are probabilities.
      return head('ce_logits', `cross-entropy of the output probabilities: the model ends in Softmax '${last.name}', so a from-logits loss would apply softmax twice; computed from the logits before it (log-sum-exp)`, last);
    }
    if (loss.fromLogits) return head('ce_logits', 'cross-entropy from logits (log-sum-exp)');
    if (semantics === 'exact' && last?.op === 'Softmax' && lastAxis(last, rank)) {
      return head('ce_logits', `cross-entropy from the logits before the final Softmax '${last.name}' (log-sum-exp, as PyTorch and TF Keras compute it)`, last);
    }
    if (ls > 0) throw new HeatcapError(undefined, 'label smoothing needs logits (a model ending in Softmax, or a from-logits loss)');
    const why = semantics === 'clipped' ? 'clipped probabilities, as tfjs-layers computes it (--loss-semantics clipped)' : 'the output is not a Softmax, so the probabilities are clipped as Keras does';
    return loss.kind === 'sparse_categorical_crossentropy' ? head('ce_probs_sparse', `sparse cross-entropy on ${why}`) : head('ce_probs_categorical', `categorical cross-entropy on ${why}`);
  }
  if (loss.kind === 'nll') {
    if (semantics === 'exact' && last?.op === 'LogSoftmax' && lastAxis(last, rank)) {
      return head('ce_logits', `negative log-likelihood of the final LogSoftmax '${last.name}', from its logits (log-sum-exp)`, last);
    }
    return head('nll_logprobs', 'negative log-likelihood of the output log-probabilities');
  }
  if (loss.kind === 'binary_crossentropy') {
    if (loss.fromLogits && last?.op === 'Sigmoid') {
      // As for Softmax above: a from-logits loss on a Sigmoid output would squash twice (the Sigmoid is
      // typically added for the exported model); the same choice for both, said in the note.
      return head('bce_logits', `binary cross-entropy of the output probabilities: the model ends in Sigmoid '${last.name}', so a from-logits loss would apply sigmoid twice; computed from the logits before it (float64)`, last);
    }
    if (loss.fromLogits) return head('bce_logits', 'binary cross-entropy from logits (float64)');
    if (semantics === 'exact' && last?.op === 'Sigmoid') return head('bce_logits', `binary cross-entropy from the logits before the final Sigmoid '${last.name}' (float64)`, last);
    return head('bce_probs', 'binary cross-entropy on probabilities clipped to [1e-7, 1 − 1e-7] (Keras)');
  }
  return head('mse', 'mean squared error over the output elements');
}

/** log(1 + u) for u ≥ 0 without losing small u (no Log1p op in ONNX): a series below 1e-4. */
function log1p(em: Emitter, u: string): string {
  const d = (v: number) => em.scalar(v, 'float64');
  const series = em.mul(u, em.sub(d(1), em.mul(u, em.sub(d(0.5), em.div(u, d(3))))));
  return em.one('Where', [em.one('Greater', [u, d(1e-4)]), em.one('Log', [em.add(d(1), u)]), series]);
}

/**
 * log(1 + u) for u ≥ 0 given v = fl(1 + u), in the program's float type: log v − ((v − 1) − u)/v. The
 * correction is log(1 + u) − log v to first order in the rounding of 1 + u (its square is below the
 * type's ε²); v − 1 and (v − 1) − u are exact where it matters (Sterbenz), and where v rounds to 1 the
 * result is u itself. So float32 keeps ℓ_b's relative precision for confident examples (ℓ_b ≈ u ≪ 1),
 * with no branch and no comparison (tested against Math.log1p).
 */
function log1pOf(em: Emitter, u: string, v: string, one: string): string {
  return em.sub(em.one('Log', [v]), em.div(em.sub(em.sub(v, one), u), v));
}

/**
 * Cross-entropy from logits z with targets y (rows summing to S) in `dtype`, for every position:
 * with s = z − max z, e = exp(s) and rest = Σ_{j ≠ k*} e_j (k* the first largest logit, where e = 1
 * exactly since s = 0), Σ e = 1 + rest and
 *   ℓ = S·log1p(rest) − Σ_k y_k s_k,    δ_k = w·((S·e_k − y_k) − y_k·rest) / (1 + rest)
 * (w the example's weight). At k* the numerator is (S − y) − y·rest: a confident example's δ keeps its
 * digits (p − 1 is never formed); elsewhere there is no cancellation to begin with (a target class that
 * is not the largest has p ≤ 1/2). These are identities, so float32 adds only rounding (a few ulps per
 * element; tested against a float64 oracle), and the per-example program skips the float64 casts of
 * [B, C] tensors. With class-index targets (`head.unitTargets`) S = 1 and its products are left out.
 */
function ceLogits(em: Emitter, head: LossHead, z: string, zShape: number[], y: string, w: string, dtype: 'float32' | 'float64'): HeadValues {
  const f = (v: number) => em.scalar(v, dtype);
  const r = zShape.length;
  const B = zShape[0];
  const C = zShape[r - 1];
  const cls = r - 1;
  const positions = zShape.slice(1).reduce((a, b) => a * b, 1) / C;
  const wide = dtype === 'float64';
  const zc = wide ? em.cast(z, 'float64') : z;
  let yc = wide ? em.cast(y, 'float64') : y;
  if (head.labelSmoothing > 0) yc = em.add(em.mul(yc, f(1 - head.labelSmoothing)), f(head.labelSmoothing / C));
  // Per-row scalars against [.., C] rows go through last-axis.ts's forms (ORT broadcasts short rows slowly).
  const perRow = (op: 'Sub' | 'Mul', a: string, v: string) => rowwise(em, op, a, v, zShape, dtype);
  const s = perRow('Sub', zc, em.reduce('ReduceMax', zc, [cls], true));
  const e = em.one('Exp', [s]);
  // Per-position scalars (shape [B, …, 1]) meet constants of their own shape: ORT broadcasts a rank-0
  // operand elementwise far more slowly (measured 3× on [1797, 1]).
  const rowShape = [...zShape.slice(0, -1), 1];
  const rows = rowShape.reduce((a, b) => a * b, 1);
  const one = em.constant({ dims: rowShape, dtype, data: dtype === 'float32' ? new Float32Array(rows).fill(1) : new Float64Array(rows).fill(1) }, 'ones');
  // rest: Σ e with the first largest logit's e (= 1) set to 0 (ties after the first count, as they should).
  const first = em.one('ArgMax', [z], { axis: attr.int(cls), keepdims: attr.int(1) });
  const zeros = em.constant({ dims: rowShape, dtype, data: dtype === 'float32' ? new Float32Array(rows) : new Float64Array(rows) }, 'zeros');
  const rest = em.reduce('ReduceSum', em.one('ScatterElements', [e, first, zeros], { axis: attr.int(cls) }), [cls], true);
  const se = em.add(rest, one);
  const S = head.unitTargets ? undefined : em.reduce('ReduceSum', yc, [cls], true);
  // q = w/(positions·Σe) per position; δ = (S·e − y)·q − y·(rest·q).
  let wr = em.reshape(wide ? em.cast(w, 'float64') : w, [B, ...zShape.slice(1).map(() => 1)]);
  if (positions > 1) wr = em.mul(wr, f(1 / positions));
  const q = em.div(wr, se);
  const delta = em.sub(perRow('Mul', em.sub(S ? perRow('Mul', e, S) : e, yc), q), perRow('Mul', yc, em.mul(rest, q)));
  const lse = log1pOf(em, rest, se, one);
  const lpos = em.sub(S ? em.mul(S, lse) : lse, em.reduce('ReduceSum', em.mul(yc, s), [cls], true));
  const perExample = positions > 1 ? em.reduce('ReduceMean', em.reshape(lpos, [B, positions]), [1], false) : em.reshape(lpos, [B]);
  const dz = wide ? em.cast(delta, 'float32') : delta;
  em.shapes.set(dz, zShape);
  return { loss: wide ? perExample : em.cast(perExample, 'float64'), dz };
}

export interface HeadOptions {
  /**
   * Precision of the cross-entropy-from-logits head (the other heads always run in float64): `float64`
   * (default: loss values for differences, as the curvature module takes them) or `float32` (the
   * per-example gradient program: the same cancellation-free forms, no [B, C] casts).
   */
  crossEntropyPrecision?: 'float32' | 'float64';
}

export interface HeadValues {
  /** [B] float64 per-example losses (no penalty). */
  loss: string;
  /** float32 δ with the shape of the head's input. */
  dz: string;
}

/**
 * Emits the head. `z`: the value read (float32, shape `zShape`, batch first); `y`: targets of the same
 * shape (one-hot rows for the categorical losses); `w`: [B] example weights (1, or 0 for padding rows).
 */
export function emitHead(em: Emitter, head: LossHead, z: string, zShape: number[], y: string, w: string, opts: HeadOptions = {}): HeadValues {
  if (head.kind === 'ce_logits') return ceLogits(em, head, z, zShape, y, w, opts.crossEntropyPrecision ?? 'float64');
  const d = (v: number) => em.scalar(v, 'float64');
  const r = zShape.length;
  const B = zShape[0];
  const C = zShape[r - 1];
  const elements = zShape.slice(1).reduce((a, b) => a * b, 1);
  const positions = elements / C;
  const zd = em.cast(z, 'float64');
  const yd = em.cast(y, 'float64');
  const wShape = [B, ...zShape.slice(1).map(() => 1)];
  const wd = em.reshape(em.cast(w, 'float64'), wShape);
  const cls = r - 1;
  /** Per-position values [B, …] (class axis reduced) → ℓ_b [B] by the mean over positions. */
  const perExample = (perPosition: string) => em.reshape(positions > 1 ? em.reduce('ReduceMean', em.reshape(perPosition, [B, positions]), [1], false) : perPosition, [B]);
  const perElement = (x: string) => em.reduce('ReduceMean', em.reshape(x, [B, elements]), [1], false);
  let loss: string;
  let delta: string;
  switch (head.kind) {
    case 'ce_probs_sparse': {
      // tfjs/Keras sparse CE on probabilities: −log(pc_y / Σ pc), pc = clip(p, ε, 1 − ε).
      const pc = em.one('Clip', [zd, d(EPS), d(1 - EPS)]);
      const inside = em.cast(em.one('And', [em.one('GreaterOrEqual', [zd, d(EPS)]), em.one('LessOrEqual', [zd, d(1 - EPS)])]), 'float64');
      const T = em.reduce('ReduceSum', pc, [cls], true);
      const S = em.reduce('ReduceSum', yd, [cls], true);
      const lpos = em.sub(em.mul(S, em.one('Log', [T])), em.reduce('ReduceSum', em.mul(yd, em.one('Log', [pc])), [cls], true));
      loss = perExample(em.reshape(lpos, [B, positions]));
      delta = em.div(em.mul(inside, em.add(em.neg(em.div(yd, pc)), em.div(S, T))), d(positions));
      break;
    }
    case 'ce_probs_categorical': {
      // Keras categorical CE on probabilities: u = p/Σp, q = clip(u, ε, 1 − ε), −Σ y log q.
      const T0 = em.reduce('ReduceSum', zd, [cls], true);
      const u = em.div(zd, T0);
      const q = em.one('Clip', [u, d(EPS), d(1 - EPS)]);
      const inside = em.cast(em.one('And', [em.one('GreaterOrEqual', [u, d(EPS)]), em.one('LessOrEqual', [u, d(1 - EPS)])]), 'float64');
      const lpos = em.neg(em.reduce('ReduceSum', em.mul(yd, em.one('Log', [q])), [cls], true));
      loss = perExample(em.reshape(lpos, [B, positions]));
      const du = em.mul(inside, em.neg(em.div(yd, q)));
      delta = em.div(em.div(em.sub(du, em.reduce('ReduceSum', em.mul(du, u), [cls], true)), T0), d(positions));
      break;
    }
    case 'nll_logprobs': {
      loss = perExample(em.reshape(em.neg(em.reduce('ReduceSum', em.mul(yd, zd), [cls], true)), [B, positions]));
      delta = em.div(em.neg(yd), d(positions));
      break;
    }
    case 'bce_logits': {
      // ℓ = max(z, 0) − z·y + log(1 + e^−|z|); δ = σ(z) − y written without cancellation on either side.
      const u = em.one('Exp', [em.neg(em.one('Abs', [zd]))]);
      const l = em.add(em.sub(em.one('Max', [zd, d(0)]), em.mul(zd, yd)), log1p(em, u));
      loss = perElement(l);
      const onePlus = em.add(d(1), u);
      const oneMinusY = em.sub(d(1), yd);
      const pos = em.div(em.sub(oneMinusY, em.mul(yd, u)), onePlus);
      const neg = em.div(em.sub(em.mul(u, oneMinusY), yd), onePlus);
      delta = em.div(em.one('Where', [em.one('GreaterOrEqual', [zd, d(0)]), pos, neg]), d(elements));
      break;
    }
    case 'bce_probs': {
      const p = em.one('Clip', [zd, d(EPS), d(1 - EPS)]);
      const inside = em.cast(em.one('And', [em.one('GreaterOrEqual', [zd, d(EPS)]), em.one('LessOrEqual', [zd, d(1 - EPS)])]), 'float64');
      const a = em.add(p, d(EPS));
      const b = em.add(em.sub(d(1), p), d(EPS));
      const l = em.neg(em.add(em.mul(yd, em.one('Log', [a])), em.mul(em.sub(d(1), yd), em.one('Log', [b]))));
      loss = perElement(l);
      delta = em.div(em.mul(inside, em.add(em.neg(em.div(yd, a)), em.div(em.sub(d(1), yd), b))), d(elements));
      break;
    }
    case 'mse': {
      const diff = em.sub(zd, yd);
      loss = perElement(em.mul(diff, diff));
      delta = em.div(em.mul(diff, d(2)), d(elements));
      break;
    }
  }
  const dz = em.cast(em.mul(delta, wd), 'float32');
  em.shapes.set(dz, zShape);
  return { loss, dz };
}
