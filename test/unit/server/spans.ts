/**
 * Test helper: the expected span of a literal, found by plain string search (an oracle independent of
 * the parsers): `spanOf(src, 'lr=0.1', '0.1')` is where `0.1` sits inside the one occurrence of `lr=0.1`.
 */
import { strict as assert } from 'node:assert';
import type { DetectedSetting } from '../../../src/server/detect';

export function spanOf(src: string, context: string, literal: string, occurrence = 0): { start: number; end: number } {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = src.indexOf(context, at + 1);
    assert.ok(at >= 0, `context ${JSON.stringify(context)} (occurrence ${i}) not in the source`);
  }
  const inner = context.indexOf(literal);
  assert.ok(inner >= 0, `literal ${JSON.stringify(literal)} not in context ${JSON.stringify(context)}`);
  return { start: at + inner, end: at + inner + literal.length };
}

/** The fields a test compares: where, what value, under which key, of what kind. */
export function summary(s: DetectedSetting): { start: number; end: number; lr: number; key: string; kind: string } {
  return { start: s.start, end: s.end, lr: s.lr, key: s.key, kind: s.kind };
}

export function expected(
  src: string,
  context: string,
  literal: string,
  lr: number,
  key: string,
  kind: DetectedSetting['kind'],
  occurrence = 0,
): { start: number; end: number; lr: number; key: string; kind: string } {
  return { ...spanOf(src, context, literal, occurrence), lr, key, kind };
}
