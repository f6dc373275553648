/** Options every panel chart shares: theme colours, fonts, no animation, readable ticks. */
import type { ChartOptions } from 'chart.js';
import type { Theme } from './theme';
import type { Marker } from '../model/sweep';

export function font(theme: Theme): string {
  return `${theme.fontSize}px ${theme.fontFamily}`;
}

export function axis(theme: Theme, title: string, type: 'linear' | 'logarithmic', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type,
    title: { display: true, text: title, color: theme.fg, font: { family: theme.fontFamily, size: theme.fontSize } },
    ticks: {
      color: theme.muted,
      font: { family: theme.fontFamily, size: theme.fontSize - 1 },
      ...(type === 'logarithmic' ? { autoSkip: true, maxTicksLimit: 10 } : {}),
    },
    grid: { color: theme.grid },
    border: { color: theme.grid },
    ...extra,
  };
}

export function baseOptions(theme: Theme, markers: Marker[] = []): ChartOptions {
  return {
    // Animations make screenshots and exports depend on timing, and move data the reader is studying.
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    color: theme.fg,
    font: { family: theme.fontFamily, size: theme.fontSize },
    plugins: {
      legend: { labels: { color: theme.fg, boxWidth: 18, font: { family: theme.fontFamily, size: theme.fontSize } } },
      tooltip: { enabled: true },
      hcBackground: { color: theme.bg },
      hcMarkers: { markers, colors: { focus: theme.focus, limit: theme.limit, mean: theme.mean }, font: font(theme) },
    },
  };
}

/** Adds an alpha channel to a CSS colour in #rgb/#rrggbb form; other forms are returned unchanged. */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim());
  if (!m) return color;
  const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
