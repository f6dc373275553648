/**
 * The runs view as plain data: folders → sweeps → runs, each with the text, icon and context value the
 * tree shows. Built from the discovery listing (every run, even unreadable ones), the latest analysis
 * (converged loss ± SE, stationarity, fit membership) and the user's overrides (excluded runs, η set by
 * hand). The tree data provider only maps these nodes to `vscode.TreeItem`s.
 *
 * No `vscode` import (unit-tested).
 */
import * as path from 'node:path';
import type { AnalysisResult, ObservedPoint, RunSummary } from '../../core/result/schema';
import { cellText, formatNumber, plusMinus } from '../../core/report/format';
import type { ListedRun } from '../compute/cliOutput';
import { resultKey, type RootEntry } from '../state/analysisStore';
import type { RunOverrides } from '../state/runOverrides';

/** A codicon id and an optional theme colour id (`new ThemeIcon(id, new ThemeColor(color))`). */
export interface IconSpec {
  id: string;
  color?: string;
}

export interface RunRef {
  root: string;
  runId: string;
  name: string;
  absPath: string;
  files: string[];
  /** The η the analysis will use (override, else analysed, else discovered); null when unknown. */
  lr: number | null;
  excluded: boolean;
}

export interface TreeNodeVM {
  /** Unique within the tree and stable across refreshes (keeps expansion and selection). */
  id: string;
  kind: 'root' | 'sweep' | 'run' | 'message';
  label: string;
  description: string;
  tooltip: string;
  icon: IconSpec;
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  children: TreeNodeVM[];
  run?: RunRef;
  /** The result this node belongs to, when analysed: what `heatcap.openPanel` selects for it. */
  result?: { root: string; key: string };
}

/** Context values the manifest's `view/item/context` menus match with `viewItem =~ /…/`. */
export const ContextValues = {
  root: 'root',
  sweep: 'sweep',
  sweepAnalysed: 'sweep-analysed',
  message: 'message',
  /** `run-included` | `run-excluded`, then `-no-lr` when η is unknown, `-lr-set` when the user set it. */
  run: (excluded: boolean, lrKnown: boolean, lrSet: boolean): string =>
    `run-${excluded ? 'excluded' : 'included'}${lrKnown ? '' : '-no-lr'}${lrSet ? '-lr-set' : ''}`,
} as const;

export const Icons = {
  stationary: { id: 'pass', color: 'testing.iconPassed' },
  notStationary: { id: 'warning', color: 'list.warningForeground' },
  notAnalysed: { id: 'circle-outline' },
  excludedByUser: { id: 'circle-slash', color: 'disabledForeground' },
  leftOutByFit: { id: 'circle-large-outline', color: 'disabledForeground' },
  broken: { id: 'error', color: 'list.errorForeground' },
  warning: { id: 'warning', color: 'list.warningForeground' },
  folder: { id: 'root-folder' },
  sweep: { id: 'graph-line' },
  agree: { id: 'check', color: 'testing.iconPassed' },
  disagree: { id: 'error', color: 'list.errorForeground' },
  info: { id: 'info' },
} as const satisfies Record<string, IconSpec>;

const MAX_LABEL = 80;
const MAX_TOOLTIP = 4000;

/**
 * Text a user did not write for this UI (folder names, tags, CLI messages) made safe to show on one
 * line: control characters and bidirectional overrides become visible escapes (a name must not
 * reorder or hide the text after it), and very long names keep their start and end.
 */
export function displayText(s: string, max = MAX_LABEL): string {
  const visible = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const chars = [...visible];
  if (chars.length <= max) return visible;
  const head = Math.ceil((max - 1) * 0.6);
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (max - 1 - head)).join('')}`;
}

/** Multi-line tooltip text: each line made visible like `displayText`, the whole capped. */
function tooltipText(lines: string[]): string {
  const text = lines.map((l) => displayText(l, 500)).join('\n');
  return text.length > MAX_TOOLTIP ? `${text.slice(0, MAX_TOOLTIP - 1)}…` : text;
}

const fmt = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '?' : formatNumber(x, digits));

/** An observed/predicted ratio to three figures with its trailing zeros (1.00, not 1): its precision is the point. */
export function ratioText(x: number): string {
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(3) : formatNumber(x, 3);
}

interface Analysed {
  summary: RunSummary;
  point: ObservedPoint | undefined;
  result: AnalysisResult;
}

function indexResults(results: readonly AnalysisResult[] | null): Map<string, Analysed> {
  const byRun = new Map<string, Analysed>();
  for (const result of results ?? []) {
    for (const summary of result.runs) byRun.set(summary.id, { summary, point: result.observed.points.find((p) => p.run === summary.id), result });
  }
  return byRun;
}

function runIcon(excluded: boolean, a: Analysed | undefined, listed: ListedRun | undefined): IconSpec {
  if (excluded) return Icons.excludedByUser;
  if (!a) return listed?.warnings.length ? Icons.warning : Icons.notAnalysed;
  const flags = a.point?.flags ?? [];
  if (flags.includes('diverged') || flags.includes('nan_values')) return Icons.broken;
  // "Left out" only means something where there is a fit over runs (a sweep), not for a lone run.
  if (a.point && !a.point.used_in_fit && a.result.observed.fit.method === 'wls_sweep') return Icons.leftOutByFit;
  if (a.summary.stationary === true) return Icons.stationary;
  if (a.summary.stationary === false) return Icons.notStationary;
  return Icons.notAnalysed;
}

function runNode(entry: RootEntry, runId: string, listed: ListedRun | undefined, a: Analysed | undefined, overrides: RunOverrides, ownResult?: AnalysisResult): TreeNodeVM {
  const excluded = overrides.isExcluded(entry.root, runId);
  const lrSet = overrides.lrOf(entry.root, runId);
  const lr = lrSet ?? a?.summary.lr ?? listed?.lr ?? null;
  const batch = a?.summary.batch_size ?? listed?.batchSize ?? null;
  const format = a?.summary.format ?? listed?.format ?? 'unknown';
  const rawName = a?.summary.name ?? listed?.name ?? runId;
  const loss = a && a.summary.converged_loss !== null ? cellText(plusMinus(a.summary.converged_loss, a.summary.converged_stderr, '')) : null;

  const description = [
    lr === null ? 'η ?' : `η ${fmt(lr)}${lrSet !== undefined ? ' (set)' : ''}`,
    batch === null ? null : `B ${fmt(batch, 6)}`,
    loss === null ? null : `L ${loss}`,
    format,
  ]
    .filter((x): x is string => x !== null)
    .join(' · ');

  const lrSource = lrSet !== undefined ? 'set in the runs view' : (a?.summary.lr_source ?? listed?.lrSource ?? null);
  const lines = [
    rawName,
    `path: ${a?.summary.path ?? listed?.path ?? runId}`,
    `format: ${format}`,
    `η: ${lr === null ? 'unknown (set it from the context menu)' : `${lr}${lrSource ? ` (${lrSource})` : ''}`}`,
  ];
  if (batch !== null) lines.push(`batch size: ${batch}`);
  const momentum = a?.summary.momentum ?? listed?.momentum ?? null;
  if (momentum !== null) lines.push(`momentum: ${momentum}`);
  if (listed?.optimizer) lines.push(`optimizer: ${listed.optimizer}`);
  if (a) {
    lines.push(loss === null ? 'converged loss: none (no usable training-loss tag, or too short)' : `converged loss: ${loss}${a.point ? ` (${a.point.n_used} values, tag ${a.summary.tag ?? '?'})` : ''}`);
    lines.push(`stationary: ${a.summary.stationary === null ? 'unknown' : a.summary.stationary ? 'yes' : 'no (a trend remains in the tail)'}`);
    if (a.point && a.result.sweep) lines.push(a.point.used_in_fit ? 'used in the fit' : `left out of the fit${a.point.excluded_reason ? `: ${a.point.excluded_reason}` : ''}`);
    if (a.point?.flags.length) lines.push(`flags: ${a.point.flags.join(', ')}`);
  } else {
    lines.push('not analysed yet');
  }
  if (excluded) lines.push('excluded from the fit by you');
  const warnings = [...(listed?.warnings ?? []), ...(a?.summary.warnings ?? [])];
  for (const w of [...new Set(warnings)]) lines.push(`⚠ ${w}`);

  return {
    id: `run\u0001${entry.root}\u0001${runId}`,
    kind: 'run',
    label: displayText(rawName),
    description,
    tooltip: tooltipText(lines),
    icon: runIcon(excluded, a, listed),
    contextValue: ContextValues.run(excluded, lr !== null, lrSet !== undefined),
    collapsible: 'none',
    children: [],
    run: {
      root: entry.root,
      runId,
      name: rawName,
      absPath: listed?.absPath ?? path.resolve(entry.root, a?.summary.path ?? runId),
      files: listed?.files ?? [],
      lr,
      excluded,
    },
    result: ownResult ? { root: entry.root, key: resultKey(ownResult) } : a ? { root: entry.root, key: resultKey(a.result) } : undefined,
  };
}

function sweepDescription(runCount: number, result: AnalysisResult | undefined): string {
  const parts = [`${runCount} run${runCount === 1 ? '' : 's'}`];
  if (!result) return parts.join(' · ');
  const o = result.observed;
  if (o.slope !== null) parts.push(`dL/dη ${cellText(plusMinus(o.slope, o.slope_stderr, ''))}`);
  if (result.predicted?.slope !== null && result.predicted?.slope !== undefined) parts.push(`pred. ${fmt(result.predicted.slope)}`);
  if (result.ratio !== null) parts.push(`ratio ${ratioText(result.ratio)}`);
  return parts.join(' · ');
}

function sweepIcon(result: AnalysisResult | undefined): IconSpec {
  if (!result) return Icons.sweep;
  if (result.verdict.status === 'agree') return Icons.agree;
  if (result.verdict.status === 'disagree') return Icons.disagree;
  return Icons.sweep;
}

function sweepNode(entry: RootEntry, sweep: { id: string; name: string; path: string }, children: TreeNodeVM[], result: AnalysisResult | undefined, expanded: boolean): TreeNodeVM {
  const lines = [sweep.name, `path: ${sweep.path}`];
  if (result) {
    lines.push(`heat capacity (observed dL/dη): ${cellText(plusMinus(result.observed.slope, result.observed.slope_stderr, 'no observed slope'))}`);
    if (result.predicted) lines.push(`predicted: ${fmt(result.predicted.slope)} (${result.predicted.formula_id})`);
    lines.push(result.verdict.message);
  } else {
    lines.push('not analysed yet');
  }
  return {
    id: `sweep\u0001${entry.root}\u0001${sweep.id}`,
    kind: 'sweep',
    label: displayText(sweep.name),
    description: sweepDescription(children.length, result),
    tooltip: tooltipText(lines),
    icon: sweepIcon(result),
    contextValue: result ? ContextValues.sweepAnalysed : ContextValues.sweep,
    collapsible: children.length === 0 ? 'none' : expanded ? 'expanded' : 'collapsed',
    children,
    result: result ? { root: entry.root, key: resultKey(result) } : undefined,
  };
}

function messageNode(entry: RootEntry, id: string, text: string, icon: IconSpec): TreeNodeVM {
  return {
    id: `message\u0001${entry.root}\u0001${id}`,
    kind: 'message',
    label: displayText(text, 200),
    description: '',
    tooltip: tooltipText([text]),
    icon,
    contextValue: ContextValues.message,
    collapsible: 'none',
    children: [],
  };
}

/**
 * The sweeps and runs of one folder (plus messages about errors there). The latest analysis decides the
 * grouping when there is one (it is newer than discovery: a run that appeared since is in it); runs that
 * discovery found but the analysis did not cover follow as "not analysed".
 */
function folderChildren(entry: RootEntry, overrides: RunOverrides): TreeNodeVM[] {
  const analysed = indexResults(entry.results);
  const listed = new Map((entry.listing?.runs ?? []).map((r) => [r.id, r]));
  const nodes: TreeNodeVM[] = [];
  if (entry.listingError) nodes.push(messageNode(entry, 'listing-error', entry.listingError, Icons.broken));
  if (entry.analysisError) nodes.push(messageNode(entry, 'analysis-error', entry.analysisError, Icons.broken));

  type Group = { sweep: { id: string; name: string; path: string } | null; runIds: string[]; result?: AnalysisResult };
  const groups: Group[] = entry.results
    ? entry.results.map((r) => ({ sweep: r.sweep, runIds: r.runs.map((x) => x.id), result: r }))
    : [
        ...(entry.listing?.sweeps ?? []).map((s) => ({ sweep: s, runIds: s.runIds })),
        ...(entry.listing?.runs ?? []).map((r) => ({ sweep: null, runIds: [r.id] })),
      ];
  const covered = new Set<string>();
  const grouped: Group[] = [];
  for (const g of groups) {
    const runIds = g.runIds.filter((id) => !covered.has(id));
    runIds.forEach((id) => covered.add(id));
    if (g.sweep || runIds.length) grouped.push({ ...g, runIds });
  }
  for (const r of entry.listing?.runs ?? []) if (!covered.has(r.id)) grouped.push({ sweep: null, runIds: [r.id] });

  const sweepCount = grouped.filter((g) => g.sweep).length;
  // Sweeps first, then runs that belong to no sweep, each in the order the CLI gave them.
  for (const g of grouped) {
    if (!g.sweep) continue;
    const children = g.runIds.map((id) => runNode(entry, id, listed.get(id), analysed.get(id), overrides));
    nodes.push(sweepNode(entry, g.sweep, children, g.result, sweepCount <= 3));
  }
  for (const g of grouped) {
    if (g.sweep) continue;
    for (const id of g.runIds) nodes.push(runNode(entry, id, listed.get(id), analysed.get(id), overrides, g.result));
  }
  return nodes;
}

/** Whether a folder has anything to show (runs, or an error worth reading). */
function hasContent(e: RootEntry): boolean {
  return Boolean(e.listingError || e.analysisError || e.listing?.runs.length || e.results?.length);
}

/**
 * The whole tree. One folder with content: its sweeps and runs at the top level. Several: one node per
 * folder. Nothing anywhere: no nodes, so the view shows its welcome content.
 */
export function buildRunsTree(entries: readonly RootEntry[], overrides: RunOverrides): TreeNodeVM[] {
  const shown = entries.filter(hasContent);
  if (shown.length === 0) return [];
  if (shown.length === 1 && shown[0].isWorkspaceFolder) return folderChildren(shown[0], overrides);
  return shown.map((e) => {
    const children = folderChildren(e, overrides);
    const runs = e.listing?.runs.length ?? indexResults(e.results).size;
    return {
      id: `root\u0001${e.root}`,
      kind: 'root' as const,
      label: displayText(e.label),
      description: `${runs} run${runs === 1 ? '' : 's'}${e.isWorkspaceFolder ? '' : ' · outside the workspace'}${e.restored ? ' · restored' : ''}`,
      tooltip: tooltipText([e.root]),
      icon: Icons.folder,
      contextValue: ContextValues.root,
      collapsible: 'expanded' as const,
      children,
    };
  });
}

/** Finds a run node by folder and run id (for "reveal run" from the panel). */
export function findRunNode(nodes: readonly TreeNodeVM[], root: string, runId: string): TreeNodeVM | undefined {
  for (const n of nodes) {
    if (n.kind === 'run' && n.run?.root === root && n.run.runId === runId) return n;
    const found = findRunNode(n.children, root, runId);
    if (found) return found;
  }
  return undefined;
}

/** Every run node, depth first (for "the run with this η"). */
export function runNodes(nodes: readonly TreeNodeVM[]): TreeNodeVM[] {
  return nodes.flatMap((n) => (n.kind === 'run' ? [n] : runNodes(n.children)));
}
