/**
 * Chart colours come from the page's CSS custom properties (styles.css), which resolve to VS Code's
 * `--vscode-*` theme variables in the panel and to light/dark fallbacks in the HTML report. Canvas
 * drawing cannot use CSS variables directly, so they are read once per render.
 */
export interface Theme {
  fg: string;
  muted: string;
  grid: string;
  /** The chart background: the card's colour, also painted into exported PNGs. */
  bg: string;
  fontFamily: string;
  fontSize: number;
  /** One colour per run, cycled. */
  palette: string[];
  fit: string;
  band: string;
  predicted: string;
  bound: string;
  excluded: string;
  focus: string;
  limit: string;
  mean: string;
}

function prop(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function readTheme(root: Element = document.documentElement): Theme {
  const s = getComputedStyle(root);
  const palette = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => prop(s, `--hc-series-${i}`, '#3794ff'));
  return {
    fg: prop(s, '--hc-fg', '#1f2328'),
    muted: prop(s, '--hc-muted', '#59636e'),
    grid: prop(s, '--hc-grid', 'rgba(128,128,128,0.25)'),
    bg: prop(s, '--hc-card', '#ffffff'),
    fontFamily: prop(s, '--hc-font', 'system-ui, sans-serif'),
    fontSize: Number.parseFloat(prop(s, '--hc-chart-font-size', '12')) || 12,
    palette,
    fit: prop(s, '--hc-fit', '#3794ff'),
    band: prop(s, '--hc-band', 'rgba(55,148,255,0.18)'),
    predicted: prop(s, '--hc-predicted', '#d18616'),
    bound: prop(s, '--hc-bound', '#b180d7'),
    excluded: prop(s, '--hc-excluded', '#8b949e'),
    focus: prop(s, '--hc-focus', '#e51400'),
    limit: prop(s, '--hc-limit', '#8b949e'),
    mean: prop(s, '--hc-mean', '#e51400'),
  };
}
