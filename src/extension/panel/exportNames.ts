/**
 * Default file names for exports: `heatcap-<sweep>.html`, `heatcap-<sweep>-<chart>.png`. The sweep
 * name is a folder name (untrusted): only a safe subset of characters reaches the file name.
 * No `vscode` import (unit-tested).
 */
import type { AnalysisResult } from '../../core/result/schema';

export const EXTENSIONS = { html: 'html', md: 'md', json: 'json', png: 'png' } as const;

/** Letters, digits, `.`, `_`, `-` only; runs of anything else become one `-`; at most 60 characters. */
export function fileSlug(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 60)
    .replace(/[-.]+$/g, '');
  return slug || 'analysis';
}

export function exportFileName(result: AnalysisResult, kind: keyof typeof EXTENSIONS, chart?: string): string {
  const base = fileSlug(result.sweep?.name ?? result.runs[0]?.name ?? 'analysis');
  return `heatcap-${base}${chart ? `-${fileSlug(chart)}` : ''}.${EXTENSIONS[kind]}`;
}
