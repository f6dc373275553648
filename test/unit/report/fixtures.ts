/** Loads the hand-designed result fixtures (test/fixtures/results/*.json, written by generate.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisResult } from '../../../src/core/result/schema';

export const FIXTURE_NAMES = ['iid-sweep', 'reshuffle-sweep', 'schedule-events', 'no-prediction', 'hostile', 'gaps', 'finite-eta'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export const FIXTURE_DIR = join(__dirname, '..', '..', 'fixtures', 'results');

export function fixtureText(name: FixtureName): string {
  return readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8');
}

/** A fresh copy each call, so a test may mutate it. */
export function fixture(name: FixtureName): AnalysisResult {
  return JSON.parse(fixtureText(name)) as AnalysisResult;
}
