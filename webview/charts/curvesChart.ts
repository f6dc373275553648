/** Chart.js configuration for the loss curves with the η schedule and schedule events. */
import type { ChartConfiguration, TooltipItem } from 'chart.js';
import { formatNumber } from '../../src/core/report/format';
import type { CurvesModel, EventMarker } from '../model/curves';
import { axis, baseOptions, withAlpha } from './common';
import type { Theme } from './theme';

export function curvesChartConfig(m: CurvesModel, theme: Theme): ChartConfiguration {
  const color = (i: number): string => theme.palette[i % theme.palette.length];
  const datasets: Record<string, unknown>[] = [];
  for (const s of m.series) {
    datasets.push({
      type: 'line',
      label: s.label,
      data: s.loss,
      yAxisID: 'y',
      borderColor: color(s.colorIndex),
      backgroundColor: color(s.colorIndex),
      borderWidth: 1.5,
      pointRadius: 0,
      pointHitRadius: 4,
      spanGaps: false,
      tension: 0,
    });
  }
  if (m.showLrAxis) {
    for (const s of m.series) {
      if (!s.lr || s.lr.length === 0) continue;
      datasets.push({
        type: 'line',
        label: `η: ${s.label}`,
        data: s.lr,
        yAxisID: 'lr',
        stepped: 'before',
        borderColor: withAlpha(color(s.colorIndex), 0.7),
        borderDash: [3, 3],
        borderWidth: 1.5,
        pointRadius: 0,
        pointHitRadius: 4,
        isLr: true,
      });
    }
  }
  if (m.events.length) {
    datasets.push({
      type: 'scatter',
      label: 'η step (observed vs predicted drop)',
      data: m.events,
      yAxisID: 'y',
      pointStyle: 'triangle',
      rotation: 180,
      pointRadius: 7,
      pointHoverRadius: 9,
      borderColor: theme.fg,
      backgroundColor: m.events.map((e) => color(e.colorIndex)),
      borderWidth: 1,
    });
  }
  const base = baseOptions(theme);
  const scales: Record<string, unknown> = {
    x: axis(theme, 'step', 'linear'),
    y: axis(theme, 'loss', m.logLoss ? 'logarithmic' : 'linear', m.yRange ? { min: m.yRange[0], max: m.yRange[1] } : {}),
  };
  if (m.showLrAxis) scales.lr = axis(theme, 'learning rate η (dashed)', 'logarithmic', { position: 'right', grid: { drawOnChartArea: false } });
  return {
    type: 'line',
    data: { datasets: datasets as unknown as ChartConfiguration['data']['datasets'] },
    options: {
      ...base,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales,
      plugins: {
        ...base.plugins,
        legend: {
          ...base.plugins?.legend,
          labels: {
            ...base.plugins?.legend?.labels,
            // The η lines share their run's colour; one legend entry per run is enough.
            filter: (item, data) => !(data.datasets[item.datasetIndex ?? 0] as { isLr?: boolean }).isLr,
          },
        },
        tooltip: {
          callbacks: {
            label: (item: TooltipItem<'line'>) => {
              const raw = item.raw as Partial<EventMarker> & { x: number; y: number };
              if (raw.detail) return raw.detail;
              return `${item.dataset.label}: ${formatNumber(raw.y, 5)} at step ${raw.x}`;
            },
          },
        },
      },
    } as ChartConfiguration['options'],
  } as ChartConfiguration;
}
