/**
 * The loss at the end of a gradient program: per-example ℓ_b and δ = ∂(Σ_b w_b ℓ_b)/∂z for the value z the
 * head reads, computed in float64 and cast back to float32 (THEORY.md notation; issue 15: the exact forms
 * PyTorch and TF Keras use, not clipped probabilities).
 *
 * With cross-entropy on a model that ends in Softmax (or LogSoftmax, or Sigmoid for binary CE) the head
 * reads the logits before it and computes log-softmax by log-sum-exp, as PyTorch always does and TF Keras
 * does when it can see the Softmax. For the class with the largest logit, δ = S·p − y is formed without
 * cancellation: 1 − p_k = Σ_{j≠k} p_j (issue 15, "float32 cancellation"). The clipped semantics of
 * tfjs-layers' own `fit` (probabilities clipped to [1e−7, 1 − 1e−7]) remain available as an explicit choice.
 * Positions: ℓ_b is averaged over every non-batch, non-class axis (Keras' reduction; mean_b ℓ_b is the
 * batch loss a framework reports).
 */
import type { EngineGraph, GraphNode } from '../graph/types';
import { HeatcapError } from '../errors';
import type { Emitter } from './emitter';
import type { LossSpec } from '../gradnorm/loss';

export type HeadKind = 'ce_logits' | 'ce_probs_sparse' | 'ce_probs_categorical' | 'nll_logprobs' | 'bce_logits' | 'bce_probs' | 'mse';

export interface LossHead {
  kind: HeadKind;
  /** The value the head reads (the graph's output, or the logits before its final activation). */
  input: string;
  /** The final node the head replaces (its Softmax/LogSoftmax/Sigmoid), if any. */
  drop?: GraphNode;
  labelSmoothing: number;
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
      return head('ce_logits', `cross-entropy of the output probabilities: the model ends in Softmax '${last.name}', so a from-logits loss would apply softmax twice; computed from the logits before it (log-sum-exp, float64)`, last);
    }
    if (loss.fromLogits) return head('ce_logits', 'cross-entropy from logits (log-sum-exp, float64)');
    if (semantics === 'exact' && last?.op === 'Softmax' && lastAxis(last, rank)) {
      return head('ce_logits', `cross-entropy from the logits before the final Softmax '${last.name}' (log-sum-exp in float64, as PyTorch and TF Keras compute it)`, last);
    }
    if (ls > 0) throw new HeatcapError(undefined, 'label smoothing needs logits (a model ending in Softmax, or a from-logits loss)');
    const why = semantics === 'clipped' ? 'clipped probabilities, as tfjs-layers computes it (--loss-semantics clipped)' : 'the output is not a Softmax, so the probabilities are clipped as Keras does';
    return loss.kind === 'sparse_categorical_crossentropy' ? head('ce_probs_sparse', `sparse cross-entropy on ${why}`) : head('ce_probs_categorical', `categorical cross-entropy on ${why}`);
  }
  if (loss.kind === 'nll') {
    if (semantics === 'exact' && last?.op === 'LogSoftmax' && lastAxis(last, rank)) {
      return head('ce_logits', `negative log-likelihood of the final LogSoftmax '${last.name}', from its logits (log-sum-exp, float64)`, last);
    }
    return head('nll_logprobs', 'negative log-likelihood of the output log-probabilities');
  }
  if (loss.kind === 'binary_crossentropy') {
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
export function emitHead(em: Emitter, head: LossHead, z: string, zShape: number[], y: string, w: string): HeadValues {
  const d = (v: number) => em.scalar(v, 'float64');
  const r = zShape.length;
  const B = zShape[0];
  const C = zShape[r - 1];
  const elements = zShape.slice(1).reduce((a, b) => a * b, 1);
  const positions = elements / C;
  const zd = em.cast(z, 'float64');
  let yd = em.cast(y, 'float64');
  const wShape = [B, ...zShape.slice(1).map(() => 1)];
  const wd = em.reshape(em.cast(w, 'float64'), wShape);
  const cls = r - 1;
  /** Per-position values [B, …] (class axis reduced) → ℓ_b [B] by the mean over positions. */
  const perExample = (perPosition: string) => em.reshape(positions > 1 ? em.reduce('ReduceMean', em.reshape(perPosition, [B, positions]), [1], false) : perPosition, [B]);
  const perElement = (x: string) => em.reduce('ReduceMean', em.reshape(x, [B, elements]), [1], false);
  let loss: string;
  let delta: string;
  switch (head.kind) {
    case 'ce_logits': {
      if (head.labelSmoothing > 0) yd = em.add(em.mul(yd, d(1 - head.labelSmoothing)), d(head.labelSmoothing / C));
      const m = em.reduce('ReduceMax', zd, [cls], true);
      const s = em.sub(zd, m);
      const e = em.one('Exp', [s]);
      const isMax = em.cast(em.one('Equal', [s, d(0)]), 'float64');
      const notMax = em.sub(d(1), isMax);
      // se = Σ_j e_j = (#max) + rest; rest = se − 1 without cancellation.
      const rest = em.add(em.reduce('ReduceSum', em.mul(e, notMax), [cls], true), em.sub(em.reduce('ReduceSum', isMax, [cls], true), d(1)));
      const se = em.add(d(1), rest);
      const S = em.reduce('ReduceSum', yd, [cls], true);
      // ℓ = S·log Σ e − Σ_k y_k s_k (log-softmax shifted by the maximum).
      const lpos = em.sub(em.mul(S, log1p(em, rest)), em.reduce('ReduceSum', em.mul(yd, s), [cls], true));
      loss = perExample(em.reshape(lpos, [B, positions]));
      // δ_k = S·p_k − y_k; at a maximum p_k = 1/se, so δ_k = ((S − y_k) − y_k·rest)/se.
      const atMax = em.div(em.sub(em.sub(S, yd), em.mul(yd, rest)), se);
      const elsewhere = em.sub(em.div(em.mul(S, e), se), yd);
      delta = em.add(em.mul(isMax, atMax), em.mul(notMax, elsewhere));
      delta = em.div(delta, d(positions));
      break;
    }
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
