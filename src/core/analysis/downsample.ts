/**
 * Shrinks a long scalar series to at most `maxPoints` for drawing, keeping its shape: the series is cut
 * into equal step ranges and each range contributes the points where it reaches its minimum and maximum
 * (in step order). Unlike averaging this keeps the noise envelope visible, which is what a user judging
 * "is this run stationary?" needs to see. Non-finite values are kept as `null` gaps.
 */
export function downsampleMinMax(
  steps: readonly number[],
  values: readonly number[],
  maxPoints = 2000,
): { steps: number[]; values: (number | null)[] } {
  const n = Math.min(steps.length, values.length);
  const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
  if (n <= maxPoints) {
    return { steps: steps.slice(0, n), values: values.slice(0, n).map(finiteOrNull) };
  }
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const outSteps: number[] = [];
  const outValues: (number | null)[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let iMin = -1;
    let iMax = -1;
    let sawGap = -1;
    for (let i = lo; i < hi; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        if (sawGap < 0) sawGap = i;
        continue;
      }
      if (iMin < 0 || v < values[iMin]) iMin = i;
      if (iMax < 0 || v > values[iMax]) iMax = i;
    }
    const picks = [iMin, iMax, sawGap].filter((i) => i >= 0).sort((a, b) => a - b);
    for (const i of new Set(picks)) {
      outSteps.push(steps[i]);
      outValues.push(finiteOrNull(values[i]));
    }
  }
  return { steps: outSteps, values: outValues };
}
