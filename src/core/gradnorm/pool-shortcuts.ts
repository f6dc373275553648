import type { PlanStep } from './plan';
import { convPoolRule } from './rules/conv-pool';
import { fastMaxPool, maxPoolReadExtent } from './rules/pooling';

/**
 * Shortcuts for a trainable layer whose output only a max pool reads (the conv → pool blocks of a
 * CNN). Returns the steps, with:
 * - a first conv (its input needs no gradient) that rules/conv-pool.ts can fuse with its pool merged
 *   into one step: per-example gradients straight from the pool's arg-maxes;
 * - otherwise, for a relu layer: relu′(z) = [y > 0] matters only at each window's arg-max, where y is
 *   the window's maximum, so the pool's JS backward applies it while routing (one comparison) and the
 *   layer skips its own elementwise mask over its whole output (2.5 ms of the benchmark CNN's first
 *   conv, B = 256). Same values as the mask: dy·[max > 0] at the arg-max, 0 elsewhere;
 * - and a valid pool whose windows stop short of the last rows or columns (11 → 5 reads 10) leaves δ
 *   zero there; the layer's rule can skip those positions (readExtent).
 */
export function poolShortcuts(steps: PlanStep[], outputId: number): PlanStep[] {
  const readers = new Map<number, number>([[outputId, 1]]);
  for (const s of steps) for (const id of s.inputIds) readers.set(id, (readers.get(id) ?? 0) + 1);
  const merged = new Set<PlanStep>();
  const out = steps.map((step) => step);
  for (const pool of steps) {
    if (!pool.fastApply || pool.inputIds.length !== 1) continue;
    const id = pool.inputIds[0];
    const k = out.findIndex((s) => s.outputIds.includes(id));
    const producer = out[k];
    if (!producer?.trainable || producer.outputIds.length !== 1 || readers.get(id) !== 1) continue;
    const config = pool.layer.getConfig() as Record<string, unknown>;
    const fused =
      producer.layer.getClassName() === 'Conv2D' && !producer.trainable.inputNeedsGrad
        ? convPoolRule(producer.layer.getConfig() as Record<string, unknown>, config, producer.layer.trainableWeights[0].shape[2] as number)
        : undefined;
    if (fused) {
      out[k] = { ...producer, outputIds: pool.outputIds, trainable: { ...producer.trainable, rule: fused } };
      merged.add(pool);
      continue;
    }
    const { rule } = producer.trainable;
    if (rule.takesReluDelta) {
      producer.trainable.dyIsDelta = true;
      pool.fastApply = fastMaxPool(config, true);
    }
    if (rule.takesReadExtent) producer.trainable.readExtent = maxPoolReadExtent(config);
  }
  return out.filter((s) => !merged.has(s));
}
