import type { PlanStep } from './plan';
import { fastMaxPool, maxPoolReadExtent } from './rules/pooling';

/**
 * Shortcuts for a trainable layer whose output only a max pool reads (the conv → pool blocks of a
 * CNN), set on the plan's steps:
 * - relu layer: relu′(z) = [y > 0] matters only at each window's arg-max, where y is the window's
 *   maximum, so the pool's JS backward applies it while routing (one comparison) and the layer skips its
 *   own elementwise mask over its whole output (2.5 ms of the benchmark CNN's first conv, B = 256).
 *   Same values as the mask: dy·[max > 0] at the arg-max, 0 elsewhere.
 * - a valid pool whose windows stop short of the last rows or columns (11 → 5 reads 10) leaves δ zero
 *   there; the layer's rule can skip those positions (readExtent).
 */
export function poolShortcuts(steps: PlanStep[], outputId: number): void {
  const readers = new Map<number, number>([[outputId, 1]]);
  for (const s of steps) for (const id of s.inputIds) readers.set(id, (readers.get(id) ?? 0) + 1);
  for (const pool of steps) {
    if (!pool.fastApply || pool.inputIds.length !== 1) continue;
    const id = pool.inputIds[0];
    const producer = steps.find((s) => s.outputIds.includes(id));
    if (!producer?.trainable || producer.outputIds.length !== 1 || readers.get(id) !== 1) continue;
    const config = pool.layer.getConfig() as Record<string, unknown>;
    const { rule } = producer.trainable;
    if (rule.takesReluDelta) {
      producer.trainable.dyIsDelta = true;
      pool.fastApply = fastMaxPool(config, true);
    }
    if (rule.takesReadExtent) producer.trainable.readExtent = maxPoolReadExtent(config);
  }
}
