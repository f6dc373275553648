/**
 * The panel: holds the ViewState, feeds host messages through the reducer, and re-renders the parts
 * that changed. Everything it shows comes from the pure view models (model/, src/core/report/).
 */
import type { Chart as ChartT, ChartConfiguration } from 'chart.js';
import { formatNumber, intText } from '../src/core/report/format';
import { eigenTable, FINITE_ETA_STATUS, finiteEtaCurveTable, formLabel, limitsText, methodText } from '../src/core/report/finiteEta';
import { curvesTable, eventsTable, histogramTable, perWeightTable, pointsTable, runsTable, topTable, type Table } from '../src/core/report/tables';
import { verdictView } from '../src/core/report/verdict';
import { CHART_NAMES, type ChartName, type ExportFormat } from '../src/shared/webviewProtocol';
import { curvesChartConfig } from './charts/curvesChart';
import { histogramChartConfig, weightsChartConfig } from './charts/gradnormCharts';
import { Chart, registerCharts } from './charts/setup';
import { sweepChartConfig } from './charts/sweepChart';
import { readTheme, type Theme } from './charts/theme';
import type { PanelHost } from './host';
import { curvesModel } from './model/curves';
import { focusView } from './model/focus';
import { histogramModel, weightsModel } from './model/gradnorms';
import { applyMessage, changedParts, initialState, type Part, persistedState, updateUi, type ViewState } from './model/state';
import { sweepModel } from './model/sweep';
import { renderBusy, renderError, renderProtocolError } from './view/banners';
import { button, type Child, h } from './view/dom';
import { renderExample } from './view/example';
import { renderTable } from './view/table';
import { renderFocus, renderVerdict } from './view/verdictCard';

const EXPORT_LABELS: Record<ExportFormat, string> = { html: 'Export HTML', md: 'Export Markdown', json: 'Export JSON' };

interface Slots {
  header: HTMLElement;
  banners: HTMLElement;
  verdict: HTMLElement;
  focus: HTMLElement;
  sweep: HTMLElement;
  finiteEta: HTMLElement;
  curves: HTMLElement;
  gradnorms: HTMLElement;
  runs: HTMLElement;
  footer: HTMLElement;
}

export function startApp(host: PanelHost, root: HTMLElement): void {
  registerCharts();
  let state: ViewState = initialState(host.loadState());
  const charts = new Map<ChartName, ChartT>();
  let exampleSlot: HTMLElement | null = null;
  let topSlot: HTMLElement | null = null;

  const slot = (name: string, tag: 'header' | 'div' | 'footer' = 'div'): HTMLElement => h(tag, { attrs: { class: `slot slot-${name}` } });
  const slots: Slots = {
    header: slot('header', 'header'),
    banners: slot('banners'),
    verdict: slot('verdict'),
    focus: slot('focus'),
    sweep: slot('sweep'),
    finiteEta: slot('finite-eta'),
    curves: slot('curves'),
    gradnorms: slot('gradnorms'),
    runs: slot('runs'),
    footer: slot('footer', 'footer'),
  };
  root.replaceChildren(...Object.values(slots));

  function dispatch(next: ViewState): void {
    const parts = changedParts(state, next);
    state = next;
    host.saveState(persistedState(state));
    render(parts);
  }

  const setUi = (patch: Partial<ViewState['ui']>): void => dispatch(updateUi(state, patch));

  function toggleTable(name: ChartName): void {
    const tables = state.ui.tables.includes(name) ? state.ui.tables.filter((t) => t !== name) : [...state.ui.tables, name];
    setUi({ tables });
  }

  function destroyChart(name: ChartName): void {
    charts.get(name)?.destroy();
    charts.delete(name);
  }

  /** A card with a chart (or its table when the user asked for tables), its toggles and notes. */
  function chartCard(
    name: ChartName,
    title: string,
    opts: {
      table: Table | null;
      config: (theme: Theme) => ChartConfiguration | null;
      summary: string;
      notes: string[];
      toggles?: HTMLElement[];
      height?: number;
      extra?: Child[];
      /** Shown instead of the chart when there is nothing worth drawing. */
      placeholder?: string | null;
    },
  ): HTMLElement {
    destroyChart(name);
    const asTable = state.ui.tables.includes(name);
    const drawn = !asTable && !opts.placeholder;
    const id = `h-${name}`;
    const tools: HTMLElement[] = [...(opts.toggles ?? [])];
    if (opts.table) tools.push(button('Table', () => toggleTable(name), { pressed: asTable, title: 'Show the data as a table', ariaLabel: `Show ${title} as a table` }));
    if (state.capabilities.exportChart && drawn) {
      tools.push(button('PNG', () => exportPng(name), { title: 'Save this chart as PNG', ariaLabel: `Save ${title} as PNG` }));
    }
    const canvas = h('canvas', { attrs: { role: 'img', 'aria-label': opts.summary, 'data-chart': name } });
    const box = h('div', { attrs: { class: 'chart-box' } }, canvas);
    if (opts.height) box.style.height = `${opts.height}px`;
    const card = h(
      'section',
      { attrs: { class: 'card', 'aria-labelledby': id, 'data-section': name } },
      h('div', { attrs: { class: 'card-head' } }, h('h2', { attrs: { id } }, title), h('div', { attrs: { class: 'tools', role: 'group', 'aria-label': `${title} options` } }, ...tools)),
      asTable && opts.table ? renderTable(opts.table, { captionHidden: true }) : opts.placeholder ? h('p', { attrs: { class: 'note placeholder' } }, opts.placeholder) : box,
      opts.notes.length ? h('ul', { attrs: { class: 'notes' } }, ...opts.notes.map((n) => h('li', null, n))) : null,
      ...(opts.extra ?? []),
    );
    if (drawn) {
      // Charts need their canvas in the document to measure it, so they are created after insertion.
      queueMicrotask(() => {
        if (!canvas.isConnected) return;
        const config = opts.config(readTheme());
        if (config) charts.set(name, new Chart(canvas, config));
      });
    }
    return card;
  }

  function exportPng(name: ChartName): void {
    const chart = charts.get(name);
    if (!chart) return;
    host.send({ type: 'exportChart', chart: name, pngDataUrl: chart.toBase64Image('image/png', 1) });
  }

  /**
   * The host's `requestChartPng`: every asked-for chart that is drawn, then `chartPngDone`. Deferred by a
   * microtask so charts created for a snapshot that arrived just before (also by microtask) exist.
   */
  function answerChartPng(requestId: number, chart: ChartName | 'all'): void {
    queueMicrotask(() => {
      const names = CHART_NAMES.filter((n) => (chart === 'all' || n === chart) && charts.has(n));
      for (const n of names) host.send({ type: 'exportChart', chart: n, pngDataUrl: (charts.get(n) as ChartT).toBase64Image('image/png', 1), requestId });
      host.send({ type: 'chartPngDone', requestId, charts: names });
    });
  }

  function renderHeader(): void {
    const r = state.result;
    const tools: HTMLElement[] = state.capabilities.exportReport.map((f) =>
      button(EXPORT_LABELS[f], () => host.send({ type: 'exportReport', format: f }), { title: 'Save the analysis in this format' }),
    );
    if (state.capabilities.openSettings) tools.push(button('Settings', () => host.send({ type: 'openSettings', query: 'heatcap' }), { cls: 'btn secondary' }));
    slots.header.replaceChildren(
      h(
        'div',
        { attrs: { class: 'title' } },
        h('h1', null, 'SGD heat capacity', host.kind === 'report' ? ' — report' : ''),
        r ? h('p', { attrs: { class: 'subtitle', 'data-testid': 'subtitle' } }, r.sweep ? `${r.sweep.name} · ` : '', h('code', null, r.sweep?.path ?? r.root)) : null,
      ),
      tools.length ? h('div', { attrs: { class: 'tools', role: 'group', 'aria-label': 'Export' } }, ...tools) : '',
    );
  }

  function renderBanners(): void {
    slots.banners.replaceChildren(
      ...[
        renderProtocolError(state.protocolError),
        renderError(state.error, () => dispatch({ ...state, error: null })),
        renderBusy(state.busy, () => host.send({ type: 'cancel' })),
      ].filter((x): x is HTMLElement => x !== null),
    );
  }

  function renderFocusCard(): void {
    const r = state.result;
    if (!r || state.focusLr === null) return slots.focus.replaceChildren();
    slots.focus.replaceChildren(renderFocus(focusView(r, state.focusLr), () => dispatch({ ...state, focusLr: null })));
  }

  function renderSweep(): void {
    const r = state.result;
    if (!r) return slots.sweep.replaceChildren();
    const m = sweepModel(r, { logX: state.ui.logLr, focusLr: state.focusLr, toLimits: state.ui.etaToLimits });
    const placeholder =
      m.fitted.length + m.excluded.length < 2 && !m.fit
        ? r.observed.fit.method === 'schedule_events'
          ? 'A single run: its slope comes from its learning-rate steps (see the loss curves below), not from a sweep over η.'
          : 'Fewer than two runs have both a learning rate and a converged loss: nothing to draw against η.'
        : null;
    const notes = [...m.notes, ...m.unplotted.map((u) => `Not drawn: ${u.name} (${u.reason}).`)];
    if (!placeholder) notes.unshift('Error bars: ±1 standard error of each run’s converged loss. Band: 95% (normal approximation). Predicted line: fitted intercept + predicted slope · η.');
    slots.sweep.replaceChildren(
      chartCard('sweep', 'Converged loss vs learning rate', {
        table: pointsTable(r),
        config: (theme) =>
          sweepChartConfig(m, theme, (lr) => {
            host.send({ type: 'selectLr', lr });
            dispatch({ ...state, focusLr: lr });
          }),
        summary: m.summary,
        notes,
        placeholder,
        toggles: [
          button('log η', () => setUi({ logLr: !state.ui.logLr }), { pressed: state.ui.logLr, title: 'Logarithmic learning-rate axis' }),
          ...(m.limitsBeyond || state.ui.etaToLimits
            ? [button('η to the limits', () => setUi({ etaToLimits: !state.ui.etaToLimits }), { pressed: state.ui.etaToLimits, title: 'Extend the η axis to the stability limits of the finite-η prediction' })]
            : []),
        ],
      }),
    );
  }

  /** The finite-η card (THEORY.md §4, §6): status, how it was computed, both limits, eigenvalues, the curve at a few η. */
  function renderFiniteEta(): void {
    const r = state.result;
    const fe = r?.predicted?.finite_eta;
    if (!r || !fe) return slots.finiteEta.replaceChildren();
    const how = methodText(fe);
    const limits = limitsText(fe);
    const form = formLabel(fe.form);
    const eig = eigenTable(r);
    const curve = finiteEtaCurveTable(r);
    const facts: [string, string][] = [['Status', `${fe.status} (${FINITE_ETA_STATUS[fe.status]})${fe.message ? `: ${fe.message}` : ''}`]];
    if (limits) facts.push(['Stability limits', limits]);
    if (form) facts.push(['Curve', form]);
    if (how) facts.push(['Computed by', how]);
    slots.finiteEta.replaceChildren(
      h(
        'section',
        { attrs: { class: `card finite-eta status-${fe.status}`, 'aria-labelledby': 'h-finite-eta', 'data-section': 'finite-eta' } },
        h('h2', { attrs: { id: 'h-finite-eta' } }, 'Finite η: predicted loss and stability limits'),
        h('dl', { attrs: { class: 'facts' } }, ...facts.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
        eig ? renderTable(eig) : null,
        curve ? renderTable(curve) : null,
        fe.notes.length ? h('details', null, h('summary', null, `Notes (${fe.notes.length})`), h('ul', { attrs: { class: 'notes' } }, ...fe.notes.map((n) => h('li', null, n)))) : null,
      ),
    );
  }

  function renderCurves(): void {
    const r = state.result;
    if (!r || r.runs.length === 0) return slots.curves.replaceChildren();
    const m = curvesModel(r, { logLoss: state.ui.logLoss, zoomTail: state.ui.zoomTail, hiddenRuns: state.ui.hiddenRuns });
    const hidden = new Set(state.ui.hiddenRuns);
    const runToggles =
      r.runs.length > 1
        ? h(
            'fieldset',
            { attrs: { class: 'run-toggles' } },
            h('legend', null, 'Runs shown'),
            ...r.runs.map((run, i) => {
              const id = `show-run-${i}`;
              const box = h('input', {
                attrs: { type: 'checkbox', id },
                flags: { checked: !hidden.has(run.id) },
                on: {
                  change: () => {
                    const next = new Set(state.ui.hiddenRuns);
                    if (next.has(run.id)) next.delete(run.id);
                    else next.add(run.id);
                    setUi({ hiddenRuns: [...next] });
                  },
                },
              });
              return h('label', { attrs: { for: id, class: 'run-toggle' } }, box, ` ${run.name}`);
            }),
          )
        : null;
    const events = r.observed.events.length ? renderTable(eventsTable(r)) : null;
    slots.curves.replaceChildren(
      chartCard('curves', 'Loss curves', {
        table: curvesTable(r),
        config: (theme) => curvesChartConfig(m, theme),
        summary: m.summary,
        notes: m.notes,
        toggles: [
          button('zoom to tail', () => setUi({ zoomTail: !state.ui.zoomTail }), { pressed: state.ui.zoomTail, title: 'Scale the loss axis to the tail of the runs' }),
          button('log loss', () => setUi({ logLoss: !state.ui.logLoss }), { pressed: state.ui.logLoss, title: 'Logarithmic loss axis' }),
        ],
        extra: [runToggles, events],
      }),
    );
  }

  function renderTop(): void {
    const r = state.result;
    const t = r ? topTable(r) : null;
    if (!r?.gradnorms || !t || !topSlot || !exampleSlot) return;
    const top = r.gradnorms.top;
    const canShow = state.capabilities.examples;
    topSlot.replaceChildren(
      renderTable(t, {
        extra: canShow
          ? [
              {
                header: 'Example',
                render: (row) =>
                  button('Show', () => {
                    setUi({ selectedExample: top[row].index });
                    host.send({ type: 'requestExample', index: top[row].index });
                  }, { pressed: state.ui.selectedExample === top[row].index, ariaLabel: `Show example ${top[row].index}` }),
              },
            ]
          : [],
      }),
      canShow ? '' : h('p', { attrs: { class: 'note' } }, host.kind === 'report' ? 'Examples can be viewed in the VS Code panel.' : 'Examples need the training data of the checkpoint.'),
    );
    const sel = state.ui.selectedExample;
    if (sel === null || !canShow) return exampleSlot.replaceChildren();
    const shown = state.example && state.example.index === sel ? state.example : null;
    const label = shown ? shown.label : (top.find((x) => x.index === sel)?.label ?? null);
    exampleSlot.replaceChildren(renderExample(sel, label, shown?.example ?? null));
  }

  function renderGradnorms(): void {
    const r = state.result;
    const g = r?.gradnorms;
    if (!r || !g) {
      destroyChart('histogram');
      destroyChart('weights');
      slots.gradnorms.replaceChildren(
        r ? h('section', { attrs: { class: 'card', 'data-section': 'gradnorms' } }, h('h2', null, 'Per-example gradient norms'), h('p', { attrs: { class: 'note' } }, 'Not computed: analyse with a checkpoint and its training data to see them.')) : '',
      );
      return;
    }
    const hm = histogramModel(g);
    const wm = weightsModel(g);
    topSlot = h('div', { attrs: { class: 'top-table' } });
    exampleSlot = h('div', { attrs: { class: 'example-slot' } });
    const summary = h(
      'p',
      { attrs: { class: 'note' } },
      `${intText(g.n)} examples · mean ‖g_b‖² ${formatNumber(g.mean_sq_norm)} · tr Σ ${formatNumber(g.trace_cov)} · ‖ḡ‖² ${formatNumber(g.mean_grad_sq_norm)} · mean loss ${formatNumber(g.mean_loss)} · `,
      `${g.engine} on ${g.backend}, ${formatNumber(g.seconds, 3)} s · model `,
      h('code', null, g.model),
      ' · data ',
      h('code', null, g.data),
    );
    slots.gradnorms.replaceChildren(
      chartCard('histogram', 'Per-example squared gradient norm ‖g_b‖²', {
        table: histogramTable(r),
        config: (theme) => histogramChartConfig(hm, theme),
        summary: hm.summary,
        notes: hm.notes,
        placeholder: hm.bars.length ? null : 'No example has a non-zero ‖g_b‖²: nothing to draw on a log axis.',
        extra: [summary, topSlot, exampleSlot],
      }),
      chartCard('weights', 'Contribution of each weight', {
        table: perWeightTable(r),
        config: (theme) => weightsChartConfig(wm, theme),
        summary: wm.summary,
        notes: wm.notes,
        placeholder: wm.bars.length ? null : 'Every weight contributes zero: nothing to draw.',
        height: Math.max(120, 48 + 24 * wm.bars.length),
      }),
    );
    renderTop();
  }

  function renderRuns(): void {
    const r = state.result;
    if (!r) return slots.runs.replaceChildren();
    const t = runsTable(r);
    const caps = state.capabilities;
    const inFit = new Map(r.observed.points.map((p) => [p.run, p.used_in_fit]));
    const extra = caps.editRuns
      ? [
          {
            header: 'In fit',
            render: (row: number) => {
              const run = r.runs[row];
              const box = h('input', {
                attrs: { type: 'checkbox', 'aria-label': `Include ${run.name} in the fit` },
                flags: { checked: inFit.get(run.id) === true },
                on: { change: (ev) => host.send({ type: 'setRunIncluded', runId: run.id, included: (ev.target as HTMLInputElement).checked }) },
              });
              return box;
            },
          },
          {
            header: 'Set η',
            render: (row: number) => {
              const run = r.runs[row];
              const input = h('input', { attrs: { type: 'text', inputmode: 'decimal', class: 'lr-input', 'aria-label': `Learning rate of ${run.name}`, value: run.lr === null ? '' : String(run.lr) } });
              const apply = (): void => {
                const lr = Number(input.value);
                if (Number.isFinite(lr) && lr > 0) host.send({ type: 'setRunLr', runId: run.id, lr });
                else input.setAttribute('aria-invalid', 'true');
              };
              input.addEventListener('keydown', (ev) => {
                if (ev.key === 'Enter') apply();
              });
              return h('span', { attrs: { class: 'lr-edit' } }, input, button('Set', apply, { ariaLabel: `Set the learning rate of ${run.name}` }));
            },
          },
        ]
      : [];
    slots.runs.replaceChildren(
      h(
        'section',
        { attrs: { class: 'card', 'aria-labelledby': 'h-runs', 'data-section': 'runs' } },
        h('h2', { attrs: { id: 'h-runs' } }, `Runs (${r.runs.length})`),
        renderTable(t, {
          captionHidden: true,
          extra,
          override: (row, col, cell) =>
            col === 0 && caps.revealRun ? button(cell.text, () => host.send({ type: 'revealRun', runId: r.runs[row].id }), { cls: 'link', ariaLabel: `Reveal run ${cell.text}` }) : null,
        }),
      ),
    );
  }

  function renderFooter(): void {
    const r = state.result;
    slots.footer.replaceChildren(r ? h('p', null, `heatcap ${r.tool.version} · result schema ${r.schema_version} · generated ${r.generated_at}`) : '');
  }

  function renderAll(): void {
    renderHeader();
    renderBanners();
    const r = state.result;
    if (!r) {
      for (const n of charts.keys()) destroyChart(n);
      for (const s of [slots.verdict, slots.focus, slots.sweep, slots.finiteEta, slots.curves, slots.gradnorms, slots.runs, slots.footer]) s.replaceChildren();
      slots.verdict.replaceChildren(h('p', { attrs: { class: 'empty' } }, state.busy ? 'Analysing…' : 'No analysis yet. Run “Heat Capacity: Analyze” on a folder of training runs.'));
    } else {
      slots.verdict.replaceChildren(renderVerdict(verdictView(r)));
      renderFocusCard();
      renderSweep();
      renderFiniteEta();
      renderCurves();
      renderGradnorms();
      renderRuns();
      renderFooter();
    }
    root.setAttribute('aria-busy', 'false');
  }

  function render(parts: Set<Part>): void {
    if (parts.has('all')) return renderAll();
    if (parts.has('busy') || parts.has('error')) renderBanners();
    if (!state.result) {
      if (parts.has('busy')) renderAll();
      return;
    }
    if (parts.has('focus')) renderFocusCard();
    if (parts.has('sweep')) renderSweep();
    if (parts.has('curves')) renderCurves();
    if (parts.has('gradnorms')) renderGradnorms();
    else if (parts.has('example')) renderTop();
  }

  /** Redraw the charts when VS Code switches theme (it changes body classes and root CSS variables). */
  function watchTheme(): void {
    let pending = false;
    const redraw = (): void => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        if (state.result) render(new Set<Part>(['sweep', 'curves', 'gradnorms']));
      });
    };
    const obs = new MutationObserver(redraw);
    obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
    window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', redraw);
  }

  window.addEventListener('error', (ev) => host.send({ type: 'panelError', message: String(ev.message) }));
  renderAll();
  watchTheme();
  host.listen(
    (msg) => (msg.type === 'requestChartPng' ? answerChartPng(msg.requestId, msg.chart) : dispatch(applyMessage(state, msg))),
    (reason) => {
      dispatch({ ...state, protocolError: reason });
      host.send({ type: 'panelError', message: `refused a message from the host: ${reason}` });
    },
  );
}
