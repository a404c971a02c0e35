// The gateway's live page: two Server-Sent Event streams drawn with uPlot. Plain browser
// JavaScript, served as is.
/* global uPlot */
(() => {
  'use strict';
  const KEEP = 300; // points per chart
  const token = new URLSearchParams(location.search).get('access_token');
  const feedUrl = (path) => (token ? `${path}?access_token=${encodeURIComponent(token)}` : path);
  const COLORS = ['#2f6fdf', '#e2662f', '#2aa876', '#b03fc9', '#c9a227', '#d23d5c', '#3fb6c9', '#6b7280'];
  const state = { received: { aggregates: 0, flow: 0 }, open: { aggregates: false, flow: false }, charts: {} };
  window.rxpromDashboard = state;

  const width = (el) => Math.max(300, el.clientWidth || el.parentElement.clientWidth - 24);

  function chart(id, series, scales) {
    const el = document.getElementById(id);
    el.innerHTML = '';
    const data = [[], ...series.map(() => [])];
    const plot = new uPlot(
      {
        width: width(el),
        height: 240,
        scales: { x: { time: true }, ...(scales || {}) },
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color || COLORS[i % COLORS.length], width: 2, scale: s.scale || 'y', points: { show: false } }))],
        axes: [{}, { scale: 'y' }, ...(scales && scales.right ? [{ scale: 'right', side: 1, grid: { show: false } }] : [])],
      },
      data,
      el,
    );
    const entry = { plot, data, add(t, values) {
      data[0].push(t / 1000);
      values.forEach((v, i) => data[i + 1].push(v));
      if (data[0].length > KEEP) data.forEach((column) => column.shift());
      plot.setData(data);
    } };
    state.charts[id] = entry;
    return entry;
  }

  const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const fmt1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
  const set = (id, text) => { document.getElementById(id).textContent = text; };

  function status() {
    const el = document.getElementById('status');
    const live = state.open.aggregates && state.open.flow;
    el.textContent = live ? `live · ${state.received.flow} flow points, ${state.received.aggregates} windows` : 'reconnecting…';
    el.className = live ? 'live' : '';
  }

  const flow = chart('chart-flow', [{ label: 'events in /s' }, { label: 'aggregates /s' }, { label: 'written /s' }]);
  const losses = chart('chart-losses', [
    { label: 'unregistered /s' }, { label: 'outliers /s' }, { label: 'repeats /s' }, { label: 'late /s' }, { label: 'dropped /s', color: '#d23d5c' },
  ]);
  const backlog = chart('chart-backlog', [{ label: 'pending samples' }, { label: 'lag (s)', scale: 'right' }], { right: { auto: true } });
  let aggregates;
  let sites = [];

  function listen(name, onPoint) {
    const source = new EventSource(feedUrl(`/live/${name}`));
    source.onopen = () => { state.open[name] = true; status(); };
    source.onerror = () => { state.open[name] = false; status(); };
    source.onmessage = (event) => {
      state.received[name]++;
      onPoint(JSON.parse(event.data));
      status();
    };
  }

  listen('flow', (p) => {
    flow.add(p.t, [p.rates.eventsIn, p.rates.aggregates, p.rates.written]);
    losses.add(p.t, [p.rates.unregistered, p.rates.outliers, p.rates.duplicates, p.rates.late, p.rates.dropped]);
    backlog.add(p.t, [p.pending, p.lagSeconds]);
    set('n-events-in', fmt.format(p.eventsIn));
    set('n-events-rate', fmt.format(p.rates.eventsIn));
    set('n-filtered', `${fmt.format(p.unregistered)} · ${fmt.format(p.outliers)} · ${fmt.format(p.duplicates)}`);
    set('n-late', `${fmt.format(p.lateReorder)} + ${fmt.format(p.lateWindow)}`);
    set('n-aggregates', fmt.format(p.aggregates));
    set('n-written', fmt.format(p.written));
    set('n-dropped', fmt.format(p.dropped));
    set('n-pending', `${fmt.format(p.pending)} / ${p.inFlight}`);
    set('n-lag', p.lagSeconds === null ? '–' : fmt1.format(p.lagSeconds));
  });

  listen('aggregates', (p) => {
    const names = Object.keys(p.sites);
    if (aggregates === undefined || names.join() !== sites.join()) {
      sites = names;
      aggregates = chart('chart-aggregates', [...sites.map((s) => ({ label: s })), { label: 'coldest room min', color: '#9aa4b2' }, { label: 'warmest room max', color: '#5b6475' }]);
    }
    aggregates.add(p.t, [...sites.map((s) => p.sites[s]), p.min, p.max]);
  });

  window.addEventListener('resize', () => {
    for (const { plot } of Object.values(state.charts)) plot.setSize({ width: width(plot.root.parentElement), height: 240 });
  });
})();
