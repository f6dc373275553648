/** Chart.js configurations for the ‖g_b‖² histogram (log axis) and the per-weight shares. */
import type { ChartConfiguration, TooltipItem } from 'chart.js';
import { formatNumber, intText } from '../../src/core/report/format';
import type { HistogramBar, HistogramModel, WeightsModel } from '../model/gradnorms';
import { axis, baseOptions } from './common';
import type { Theme } from './theme';

/** Tick labels of a log10 axis as powers of ten. */
function powerOfTen(v: number | string): string {
  const n = Number(v);
  return Number.isInteger(n) ? `1e${n}` : '';
}

export function histogramChartConfig(m: HistogramModel, theme: Theme): ChartConfiguration {
  const base = baseOptions(theme, m.markers);
  const x = axis(theme, '‖g_b‖² (log scale)', 'linear', { min: m.xDomain[0], max: m.xDomain[1], offset: false });
  (x.ticks as Record<string, unknown>).callback = powerOfTen;
  (x.ticks as Record<string, unknown>).stepSize = 1;
  return {
    type: 'bar',
    data: {
      datasets: [
        {
          label: 'examples',
          data: m.bars as unknown as number[],
          backgroundColor: theme.fit,
          borderColor: theme.bg,
          borderWidth: 1,
          barPercentage: 1,
          categoryPercentage: 1,
          grouped: false,
        },
      ],
    },
    options: {
      ...base,
      scales: { x, y: axis(theme, 'examples', 'linear', { beginAtZero: true }) },
      plugins: {
        ...base.plugins,
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items: TooltipItem<'bar'>[]) => {
              const b = items[0]?.raw as HistogramBar | undefined;
              return b ? `‖g_b‖² in ${formatNumber(10 ** b.lo, 3)} – ${formatNumber(10 ** b.hi, 3)}` : '';
            },
            label: (item: TooltipItem<'bar'>) => `${(item.raw as HistogramBar).y} examples`,
          },
        },
      },
    } as ChartConfiguration['options'],
  } as ChartConfiguration;
}

/** Long weight names are shortened on the axis (the table shows them whole). */
function shorten(name: string): string {
  return name.length > 36 ? `…${name.slice(-35)}` : name;
}

export function weightsChartConfig(m: WeightsModel, theme: Theme): ChartConfiguration {
  const base = baseOptions(theme);
  return {
    type: 'bar',
    data: {
      labels: m.bars.map((b) => shorten(b.name)),
      datasets: [{ label: 'share of E‖g_b‖²', data: m.bars.map((b) => b.share * 100), backgroundColor: theme.predicted, borderWidth: 0 }],
    },
    options: {
      ...base,
      indexAxis: 'y',
      scales: {
        x: axis(theme, 'share of E‖g_b‖² (%)', 'linear', { beginAtZero: true }),
        y: { ticks: { color: theme.fg, font: { family: theme.fontFamily, size: theme.fontSize - 1 }, autoSkip: false }, grid: { display: false } },
      },
      plugins: {
        ...base.plugins,
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items: TooltipItem<'bar'>[]) => m.bars[items[0]?.dataIndex ?? 0]?.name ?? '',
            label: (item: TooltipItem<'bar'>) => {
              const b = m.bars[item.dataIndex];
              return [`${(b.share * 100).toFixed(1)}% of E‖g_b‖²`, `mean ‖g_b‖² ${formatNumber(b.meanSqNorm)}`, `${intText(b.size)} parameters`];
            },
          },
        },
      },
    } as ChartConfiguration['options'],
  } as ChartConfiguration;
}
