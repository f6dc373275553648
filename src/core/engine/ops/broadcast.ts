/** Cotangents of broadcast operands, summed over the batch or kept per example. */
import type { Emitter } from '../emitter';
import { unbroadcast } from '../emitter';

export { unbroadcast };

/**
 * Example b's cotangent of a batch-independent operand of shape `target` broadcast to `dyShape`
 * (batch axis 0): sums over every broadcast axis except the batch axis. Result: [B, ...target].
 */
export function perExampleUnbroadcast(em: Emitter, dy: string, dyShape: number[], target: number[]): string {
  const lead = dyShape.length - target.length;
  const axes: number[] = [];
  for (let i = 1; i < dyShape.length; i++) {
    const t = i - lead;
    if (t < 0 || (target[t] === 1 && dyShape[i] !== 1)) axes.push(i);
  }
  const reduced = axes.length ? em.reduce('ReduceSum', dy, axes, true) : dy;
  return em.reshape(reduced, [dyShape[0], ...target]);
}
