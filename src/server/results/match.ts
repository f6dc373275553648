/**
 * Which analysis a learning-rate setting uses. The rule (documented for users in
 * README.md, "CodeLens and hover on learning-rate settings"):
 * 1. Proximity: among results with a scope folder (its `root`, the folder holding its `.heatcap/`,
 *    or the root it was pushed for) that contains the document, the one with the deepest such folder.
 * 2. Otherwise: a result one of whose runs (or sweep points) used this very learning rate.
 * Ties go to a result whose runs used this learning rate, then to one with an observed slope, then to one
 * with a predicted slope only (a lone run analysed next to a sweep at the same η has no observed slope,
 * and with a checkpoint set it has a prediction: it must not hide the sweep's measurement), then to the
 * newest `generated_at`, then to results pushed by the extension over files.
 */
import * as path from 'node:path';
import type { AnalysisResult } from '../../core/result/schema';
import { normalizePath, type StoredResult } from './store';

/** Learning rates are compared as written numbers: equal up to float round-off of the same literal. */
const SAME_LR_RELATIVE = 1e-9;

export function sameLr(a: number, b: number): boolean {
  return Math.abs(a - b) <= SAME_LR_RELATIVE * Math.max(Math.abs(a), Math.abs(b));
}

export function resultUsesLr(result: AnalysisResult, lr: number): boolean {
  return (
    result.runs.some((r) => r.lr !== null && sameLr(r.lr, lr)) ||
    result.observed.points.some((p) => p.lr !== null && sameLr(p.lr, lr))
  );
}

/** Depth of the deepest scope folder containing `file`, or -1. */
function proximity(file: string, scopes: string[]): number {
  let best = -1;
  for (const scope of scopes) {
    const inside = file === scope || file.startsWith(scope.endsWith(path.sep) ? scope : scope + path.sep);
    if (inside) best = Math.max(best, scope.length);
  }
  return best;
}

export function matchResult(documentPath: string | undefined, lr: number, results: StoredResult[]): StoredResult | undefined {
  const file = documentPath === undefined ? undefined : normalizePath(documentPath);
  const ranked = results.map((r) => ({
    r,
    near: file === undefined ? -1 : proximity(file, r.scopes),
    usesLr: resultUsesLr(r.result, lr),
  }));
  const nearest = Math.max(-1, ...ranked.map((x) => x.near));
  const candidates = nearest >= 0 ? ranked.filter((x) => x.near === nearest) : ranked.filter((x) => x.usesLr);
  candidates.sort(
    (a, b) =>
      Number(b.usesLr) - Number(a.usesLr) ||
      slopeRank(b.r.result) - slopeRank(a.r.result) ||
      generatedAt(b.r) - generatedAt(a.r) ||
      Number(b.r.origin.kind === 'pushed') - Number(a.r.origin.kind === 'pushed'),
  );
  return candidates[0]?.r;
}

/** 2: an observed slope; 1: a predicted one only; 0: neither. */
function slopeRank(r: AnalysisResult): number {
  if (r.observed.slope !== null) return 2;
  return (r.predicted?.slope ?? null) !== null ? 1 : 0;
}

function generatedAt(r: StoredResult): number {
  const t = Date.parse(r.result.generated_at);
  return Number.isFinite(t) ? t : 0;
}
