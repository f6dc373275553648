/**
 * Markdown helpers for hovers. Result files and source text are untrusted: every piece of them shown
 * in a hover goes through `escapeMarkdown` or `code`, so a sweep named `[click](command:…)` renders
 * as text, and nothing is longer than `MAX_SHOWN` characters.
 */

const MAX_SHOWN = 200;

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_SHOWN ? `${oneLine.slice(0, MAX_SHOWN - 1)}…` : oneLine;
}

/**
 * Plain text with the Markdown punctuation that can change inline rendering escaped (emphasis, code,
 * links, HTML, tables), on one line. Block markers (`#`, `-`, `1.`) only act at a line start, which
 * callers never give escaped text.
 */
export function escapeMarkdown(text: string): string {
  return clip(text).replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`);
}

/** Inline code whose fence is longer than any backtick run inside it. */
export function code(text: string): string {
  const t = clip(text);
  const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}
