/**
 * What one op contributes to a gradient program: its vector-Jacobian product (VJP) and, for an op that
 * reads a weight, the per-example gradient of that weight in a cheap factored form. Every op owns one
 * file in this folder with its own test; the program builder (../program.ts) knows no op by name.
 */
import type { ConstTensor, ElemType, GraphNode } from '../../graph/types';
import type { Emitter } from '../emitter';

export interface VjpContext {
  node: GraphNode;
  em: Emitter;
  /**
   * Static shape of any value of the forward pass. Programs are built for one batch size B, so every
   * shape is concrete (B included).
   */
  shape(name: string): number[];
  dtype(name: string): ElemType;
  /** Cotangent of each output (undefined: that output does not reach the loss). */
  dy: (string | undefined)[];
  /** Whether each input needs a cotangent (float, downstream of a parameter, and not itself a weight). */
  needs: boolean[];
  /** The value of a constant input (initializer or folded constant), for shapes, axes and exponents. */
  constant(name: string): ConstTensor | undefined;
}

/**
 * The per-example gradient of a weight read by a node, for examples b = 0..B−1 (no 1/B factor):
 * - `dense`: materialised, shape [B, ...weight dims];
 * - `outer`: G_b = a_bᵀ·d_b with a [B, T, K] and d [B, T, M] (T = 1 for a plain Dense input): the
 *   weight is G_b (K×M, `layout` KM) or its transpose (M×K, `layout` MK), reshaped to its dims
 *   (Goodfellow 2015; the ghost norm over T > 1, PERFORMANCE-NOTES.md "the method");
 * - `gather`: G_b[v] = Σ_t [ids_b,t = v]·d_b,t with ids [B, T] int64 and d [B, T, D] (embedding tables).
 * An outer form may name the op's `linear` output (see LinearOutput).
 */
/**
 * An output y of the op that is linear and homogeneous in the weight W (MatMul's A·W), with its cotangent
 * dy: then ⟨G_b, W⟩ = Σ over example b's elements of y·dy, so a penalty proportional to W (L2) needs no
 * product with W of its own (per-example.ts).
 */
export interface LinearOutput {
  y: string;
  dy: string;
}

export type PerExampleGrad =
  | { kind: 'dense'; g: string }
  | { kind: 'outer'; a: string; d: string; layout: 'KM' | 'MK'; linear?: LinearOutput }
  | { kind: 'gather'; ids: string; d: string };

export interface OpRule {
  /**
   * Cotangents of the inputs (summed over the batch, as autodiff of Σ_b ℓ_b gives them), one entry per
   * input: undefined where `needs[i]` is false or the input is not differentiable.
   */
  vjp(ctx: VjpContext): (string | undefined)[];
  /**
   * The per-example gradient of weight input `k` (an input that is a parameter or a batch-independent
   * function of parameters). Absent, or undefined for that input: the builder falls back to the exact
   * per-example loop (programs with B = 1), and says so.
   */
  perExample?(ctx: VjpContext, k: number): PerExampleGrad | undefined;
}
