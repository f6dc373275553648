/**
 * Adapts the CLI's absolute progress (`fraction` of one job) to what `window.withProgress` wants
 * (increments of a percentage that only grows), across several jobs run under one notification
 * (job i of n covers [i/n, (i+1)/n] of the bar). No `vscode` import (unit-tested).
 */
export class ProgressTracker {
  private reportedPct = 0;

  constructor(private readonly jobs = 1) {}

  /** Overall fraction in [0, 1] for `fraction` of job `index`. */
  overall(index: number, fraction: number): number {
    const f = Math.min(1, Math.max(0, fraction));
    return Math.min(1, (index + f) / Math.max(1, this.jobs));
  }

  /** The increment (percentage points) to report so the bar shows `overall`; 0 when it would go back. */
  increment(overall: number): number {
    const pct = Math.min(100, Math.max(0, overall * 100));
    const inc = pct - this.reportedPct;
    if (inc <= 0) return 0;
    this.reportedPct = pct;
    return inc;
  }
}
