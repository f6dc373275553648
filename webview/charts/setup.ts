/**
 * Registers exactly the Chart.js pieces the panel uses (tree-shaken bundle, no CDN) and two small
 * plugins: a background fill, so exported PNGs and screenshots carry the theme's background, and
 * vertical markers (focused η, stability limit, mean ‖g_b‖²), plus a mark on each drawn canvas.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartType,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  type Plugin,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';
import { PointWithErrorBar, ScatterWithErrorBarsController } from 'chartjs-chart-error-bars';
import type { Marker } from '../model/sweep';

export interface MarkerOptions {
  markers: Marker[];
  colors: Record<Marker['kind'], string>;
  font: string;
}

declare module 'chart.js' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface PluginOptionsByType<TType extends ChartType> {
    hcBackground?: { color: string };
    hcMarkers?: MarkerOptions;
  }
}

const background: Plugin = {
  id: 'hcBackground',
  beforeDraw(chart, _args, options: { color?: string }) {
    if (!options?.color) return;
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = options.color;
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

const markers: Plugin = {
  id: 'hcMarkers',
  afterDatasetsDraw(chart, _args, opts) {
    const options = opts as MarkerOptions | undefined;
    if (!options?.markers?.length) return;
    const x = chart.scales.x;
    const { top, bottom, left, right } = chart.chartArea;
    const { ctx } = chart;
    ctx.save();
    for (const [i, m] of options.markers.entries()) {
      const px = x.getPixelForValue(m.x);
      if (!Number.isFinite(px) || px < left - 0.5 || px > right + 0.5) continue;
      ctx.strokeStyle = options.colors[m.kind];
      ctx.fillStyle = options.colors[m.kind];
      ctx.lineWidth = m.kind === 'focus' ? 2 : 1.5;
      ctx.setLineDash(m.kind === 'limit' ? [2, 3] : [6, 4]);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = options.font;
      ctx.textBaseline = 'top';
      const w = ctx.measureText(m.label).width;
      const tx = px + 4 + w > right ? px - 4 - w : px + 4;
      ctx.fillText(m.label, tx, top + 2 + i * 14);
    }
    ctx.restore();
  },
};

/** Marks a canvas once Chart.js has drawn it, so tests and screenshots can wait for the charts. */
const drawnMark: Plugin = {
  id: 'hcDrawn',
  afterRender(chart) {
    chart.canvas.dataset.drawn = String(Number(chart.canvas.dataset.drawn ?? 0) + 1);
  },
};

let registered = false;

export function registerCharts(): void {
  if (registered) return;
  registered = true;
  Chart.register(
    LineController,
    ScatterController,
    BarController,
    ScatterWithErrorBarsController,
    PointWithErrorBar,
    LineElement,
    PointElement,
    BarElement,
    CategoryScale,
    LinearScale,
    LogarithmicScale,
    Filler,
    Tooltip,
    Legend,
    background,
    markers,
    drawnMark,
  );
}

export { Chart };
