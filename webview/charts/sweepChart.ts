/** Chart.js configuration for the converged-loss-vs-η chart, from its model (model/sweep.ts). */
import type { ChartConfiguration, ChartDataset, TooltipItem } from 'chart.js';
import { formatNumber } from '../../src/core/report/format';
import type { SweepModel, SweepPoint, XY } from '../model/sweep';
import { axis, baseOptions, withAlpha } from './common';
import type { Theme } from './theme';

type AnyDataset = ChartDataset<'line' | 'scatterWithErrorBars', unknown>;

function line(label: string, data: XY[], color: string, dash: number[], extra: Record<string, unknown> = {}): AnyDataset {
  return {
    type: 'line',
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    borderWidth: 2,
    borderDash: dash,
    pointRadius: 0,
    pointHitRadius: 0,
    tension: 0,
    ...extra,
  } as AnyDataset;
}

function points(label: string, data: SweepPoint[], color: string, filled: boolean): AnyDataset {
  return {
    type: 'scatterWithErrorBars',
    label,
    data,
    borderColor: color,
    backgroundColor: filled ? color : 'transparent',
    borderWidth: 1.5,
    pointRadius: 4,
    pointHoverRadius: 6,
    errorBarColor: color,
    errorBarWhiskerColor: color,
    errorBarLineWidth: 1.5,
    errorBarWhiskerSize: 10,
  } as AnyDataset;
}

export function sweepChartConfig(m: SweepModel, theme: Theme, onPick: (lr: number) => void): ChartConfiguration {
  const datasets: AnyDataset[] = [];
  if (m.bandHi && m.bandLo) {
    // Filled from the upper edge down to the next dataset (the lower edge): the 95% band of the fit.
    datasets.push(line('95% band of the fit', m.bandHi, withAlpha(theme.fit, 0.35), [], { borderWidth: 0, fill: '+1', backgroundColor: theme.band, order: 5 }));
    datasets.push(line('', m.bandLo, withAlpha(theme.fit, 0.35), [], { borderWidth: 0, order: 5 }));
  }
  // Lower `order` is drawn on top: points over the dashed predictions over the solid fit.
  if (m.fit) datasets.push(line('fitted line', m.fit, theme.fit, [], { order: 4 }));
  if (m.predicted) datasets.push(line('predicted slope', m.predicted, theme.predicted, [7, 4], { order: 2 }));
  if (m.upperBound) datasets.push(line('i.i.d. upper bound', m.upperBound, theme.bound, [2, 3], { order: 3 }));
  if (m.reshuffleCurve) datasets.push(line('reshuffling model', m.reshuffleCurve, theme.bound, [8, 3, 2, 3], { order: 3 }));
  if (m.finiteCurve) datasets.push(line('finite-η prediction', m.finiteCurve, theme.predicted, [], { order: 2, borderWidth: 2.5 }));
  if (m.fitted.length) datasets.push({ ...points('runs in fit (±1 SE)', m.fitted, theme.fg, true), order: 0 } as AnyDataset);
  if (m.excluded.length) datasets.push({ ...points('runs left out', m.excluded, theme.excluded, false), order: 1 } as AnyDataset);

  const base = baseOptions(theme, m.markers);
  return {
    type: 'scatterWithErrorBars',
    data: { datasets: datasets as ChartConfiguration['data']['datasets'] },
    options: {
      ...base,
      interaction: { mode: 'nearest', intersect: true },
      scales: {
        // A log axis needs explicit bounds; a linear one starts at η = 0 and ends on a round tick.
        x: axis(theme, 'learning rate η', m.logX ? 'logarithmic' : 'linear', m.logX ? { min: m.xDomain[0], max: m.xDomain[1] } : { min: 0, suggestedMax: m.xDomain[1] }),
        y: axis(theme, 'converged loss', 'linear'),
      },
      plugins: {
        ...base.plugins,
        legend: {
          ...base.plugins?.legend,
          labels: { ...base.plugins?.legend?.labels, filter: (item) => item.text !== '', sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) },
        },
        tooltip: {
          callbacks: {
            title: (items: TooltipItem<'scatterWithErrorBars'>[]) => (items[0]?.raw as SweepPoint | undefined)?.name ?? '',
            label: (item: TooltipItem<'scatterWithErrorBars'>) => {
              const raw = item.raw as Partial<SweepPoint> & XY;
              return raw.detail ?? `${item.dataset.label}: ${formatNumber(raw.y, 6)} at η = ${formatNumber(raw.x)}`;
            },
          },
        },
      },
      onClick: (_e, elements, chart) => {
        const el = elements[0];
        if (!el) return;
        const raw = chart.data.datasets[el.datasetIndex]?.data[el.index] as Partial<SweepPoint> | undefined;
        if (raw && typeof raw.x === 'number' && raw.detail) onPick(raw.x);
      },
    } as ChartConfiguration['options'],
  } as ChartConfiguration;
}
