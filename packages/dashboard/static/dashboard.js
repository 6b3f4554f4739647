// @cm dashboard page: renders the snapshots and chart points the server pushes over
// Server-Sent Events. Plain browser JavaScript (no build step); text only ever goes into the
// page as text nodes, never as HTML. Read-only: the page has nothing that sends a request
// other than the event stream.
(function () {
  'use strict';

  const token = new URLSearchParams(location.search).get('token') || '';
  const $ = (id) => document.getElementById(id);
  const MAX_POINTS = 3600;
  const STATES = ['joining', 'idle', 'busy', 'retiring', 'lost'];

  let snapshot = null;
  let sort = null; // { key, dir } once the user clicks a column; until then the server's order
  let ended = null; // 'closed' | 'stopped'

  // ---- formatting -------------------------------------------------------------------------
  const int = (n) => Math.round(n).toLocaleString('en-US');
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    const negative = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    s %= 60;
    const text = h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
    return negative ? `-${text}` : text;
  }
  function bytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (key === 'class') node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  // ---- charts ---------------------------------------------------------------------------------
  const series = { t: [], calls: [], items: [], busy: [], workers: [] };
  function makeChart(container, lines) {
    if (typeof uPlot !== 'function') return null;
    const opts = {
      width: Math.max(300, container.clientWidth),
      height: 200,
      scales: { x: { time: true } },
      series: [{}, ...lines.map(([label, stroke]) => ({ label, stroke, width: 2, points: { show: false } }))],
      axes: [{}, { size: 60 }],
      legend: { live: false },
    };
    return new uPlot(opts, [[], ...lines.map(() => [])], container);
  }
  const charts = {
    throughput: makeChart($('chart-throughput'), [
      ['calls/s', '#1d6fd8'],
      ['pmap items/s', '#3b8a3e'],
    ]),
    busy: makeChart($('chart-busy'), [
      ['busy', '#1d6fd8'],
      ['current', '#98a2b3'],
    ]),
  };
  function addSample(sample) {
    series.t.push(sample.t);
    series.calls.push(sample.callsPerSecond);
    series.items.push(sample.itemsPerSecond);
    series.busy.push(sample.busy);
    series.workers.push(sample.workers);
    if (series.t.length > MAX_POINTS) for (const list of Object.values(series)) list.splice(0, list.length - MAX_POINTS);
  }
  function drawCharts() {
    charts.throughput?.setData([series.t, series.calls, series.items]);
    charts.busy?.setData([series.t, series.busy, series.workers]);
    for (const id of ['chart-throughput', 'chart-busy']) $(id).dataset.points = String(series.t.length);
  }
  window.addEventListener('resize', () => {
    for (const [name, chart] of Object.entries(charts)) chart?.setSize({ width: Math.max(300, $(`chart-${name}`).clientWidth), height: 200 });
  });

  // ---- status -------------------------------------------------------------------------------
  function setStatus(kind, text) {
    const node = $('status');
    node.className = `status ${kind}`;
    node.textContent = text;
  }

  // ---- header ---------------------------------------------------------------------------------
  function renderHeader(s) {
    $('counts').replaceChildren(...STATES.map((state) => el('li', { class: `state-${state}`, 'data-state': state }, `${state} `, el('b', null, s.counts[state]))));
    const losses = Object.values(s.totals.losses).reduce((a, b) => a + b, 0);
    $('totals').textContent =
      `calls ${int(s.totals.callsDone)} · in flight ${int(s.totals.callsInFlight)} · pmap items ${int(s.totals.pmapItemsDone)} · losses ${losses} · jobs submitted ${s.totals.submissions}`;
  }

  // ---- workers table --------------------------------------------------------------------------
  const cell = {
    id: (w) => w.id,
    host: (w) => w.host,
    pid: (w) => w.pid,
    launch: (w) => `${w.manager} ${w.launchId}`,
    job: (w) => w.jobId ?? '',
    taskIndex: (w) => w.taskIndex,
    state: (w) => w.state,
    uptimeMs: (w) => w.uptimeMs,
    callsDone: (w) => w.callsDone,
    callsInFlight: (w) => w.callsInFlight,
    cpuPercent: (w) => w.cpuPercent,
    rssBytes: (w) => w.rssBytes,
    walltimeLeftMs: (w) => w.walltimeLeftMs,
  };
  function sortedWorkers(workers) {
    if (!sort) return workers;
    const get = cell[sort.key];
    const sign = sort.dir === 'ascending' ? 1 : -1;
    return [...workers].sort((a, b) => {
      const x = get(a);
      const y = get(b);
      if (x === y) return a.id - b.id;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * sign;
    });
  }
  function renderWorkers(s) {
    const rows = sortedWorkers(s.workers).map((w) => {
      const stale = w.statsAt === null ? '' : `reported ${duration(s.takenAt - w.statsAt)} ago`;
      const state =
        w.state === 'lost'
          ? el('td', { class: 'state state-lost', 'data-testid': 'state' }, 'lost', el('span', { class: 'reason', 'data-testid': 'loss' }, ` — ${w.loss?.detail ?? w.loss?.reason ?? 'unknown'}`))
          : el('td', { class: `state state-${w.state}`, 'data-testid': 'state' }, w.state);
      return el(
        'tr',
        { class: w.state === 'lost' ? 'lost' : null, 'data-worker-id': w.id, 'data-state': w.state },
        el('td', { class: 'num' }, w.id),
        el('td', null, w.host),
        el('td', { class: 'num' }, w.pid),
        el('td', null, `${w.manager} ${w.launchId}`),
        el('td', null, w.jobId ?? '—'),
        el('td', { class: 'num' }, w.taskIndex ?? '—'),
        state,
        el('td', { class: 'num' }, duration(w.uptimeMs)),
        el('td', { class: 'num' }, int(w.callsDone)),
        el('td', { class: 'num' }, int(w.callsInFlight)),
        el('td', { class: 'num', title: stale }, w.cpuPercent === null ? '—' : w.cpuPercent.toFixed(1)),
        el('td', { class: 'num', title: stale }, bytes(w.rssBytes)),
        el('td', { class: 'num' }, duration(w.walltimeLeftMs)),
      );
    });
    $('workers').tBodies[0].replaceChildren(...rows);
  }
  for (const th of document.querySelectorAll('#workers th')) {
    th.removeAttribute('aria-sort');
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      sort = { key, dir: sort?.key === key && sort.dir === 'ascending' ? 'descending' : 'ascending' };
      for (const other of document.querySelectorAll('#workers th')) other.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', sort.dir);
      if (snapshot) renderWorkers(snapshot);
    });
  }

  // ---- pmaps ----------------------------------------------------------------------------------
  function renderPmaps(s) {
    if (s.pmaps.length === 0) return;
    $('pmaps').replaceChildren(
      ...s.pmaps.map((p) => {
        const percent = p.total === 0 ? 100 : (p.done / p.total) * 100;
        const fill = el('span');
        fill.style.width = `${percent.toFixed(2)}%`;
        const bar = el('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': p.total, 'aria-valuenow': p.done, 'data-testid': 'pmap-bar' }, fill);
        const state = p.ended ? (p.done >= p.total ? 'done' : 'stopped') : `${int(p.ratePerSecond)}/s`;
        return el(
          'div',
          { class: `pmap${p.ended ? ' ended' : ''}`, 'data-pmap-id': p.id, 'data-done': p.done, 'data-total': p.total },
          el('span', null, p.startedBy === null || p.startedBy === undefined ? `pmap ${p.id}` : `pmap ${p.id} (worker ${p.startedBy})`),
          bar,
          el('span', null, `${int(p.done)}/${int(p.total)} (${Math.floor(percent)}%) · ${state} · ${p.workers} workers · ${duration(p.elapsedMs)}`),
        );
      }),
    );
  }

  // ---- adaptive pools -------------------------------------------------------------------------
  function renderPools(s) {
    if (!s.pools || s.pools.length === 0) return;
    $('pools').replaceChildren(
      ...s.pools.map((p) =>
        el(
          'div',
          { class: `pool${p.stopped ? ' stopped' : ''}`, 'data-pool-id': p.id, 'data-workers': p.workers, 'data-pending': p.pending, 'data-target': p.target },
          el(
            'div',
            { class: 'head' },
            el('b', null, `pool ${p.id} (${p.manager})`),
            el('span', null, `${p.workers} workers · ${p.pending} pending · target ${p.target} (${p.minimum}–${p.maximum})`),
            p.ending > 0 ? el('span', { class: 'chip' }, `${p.ending} near walltime`) : null,
            el('span', null, `demand ${int(p.demand)}`),
            el('span', { class: 'chip' }, p.stopped ? 'stopped' : p.paused ? 'paused' : 'adapting'),
          ),
          el('div', { class: 'message' }, `${p.launches} launches · ${p.cancelled} queued workers cancelled · ${p.retired} retired · since ${new Date(p.startedAt).toLocaleTimeString()}`),
          p.paused ? el('div', { class: 'message paused', 'data-testid': 'pool-paused' }, `growth paused: ${p.paused}`) : null,
        ),
      ),
    );
  }

  // ---- launches -------------------------------------------------------------------------------
  function renderLaunches(s) {
    if (s.launches.length === 0) return;
    $('launches').replaceChildren(
      ...[...s.launches]
        .reverse()
        .map((l) =>
          el(
            'div',
            { class: 'launch', 'data-launch-id': l.id },
            el(
              'div',
              { class: 'head' },
              el('b', null, `${l.manager} ${l.id}`),
              el('span', null, `${l.joined}/${l.expected ?? '?'} joined`),
              l.joining > 0 ? el('span', { class: 'chip' }, `${l.joining} joining`) : null,
              l.lost > 0 ? el('span', { class: 'chip state-lost' }, `${l.lost} lost`) : null,
              el('span', { class: 'chip' }, l.active ? 'waiting for workers' : 'settled'),
            ),
            l.message ? el('div', { class: 'message' }, l.message) : null,
            ...l.jobs.map((job) =>
              el(
                'div',
                { class: 'job', 'data-job-id': job.id },
                el('span', null, `job ${job.id}:`),
                ...job.states.map((st) => el('span', { class: 'chip', 'data-state': st.state }, `${st.count === null ? '' : `${st.count} `}${st.state}${st.reason ? ` (${st.reason})` : ''}`)),
              ),
            ),
          ),
        ),
    );
  }

  // ---- events ---------------------------------------------------------------------------------
  function renderEvents(s) {
    const recent = s.events.slice(-50).reverse();
    $('events').replaceChildren(...recent.map((e) => el('li', { class: `kind-${e.kind}` }, `${new Date(e.at).toLocaleTimeString()} ${e.text}`)));
  }

  function render(s) {
    snapshot = s;
    renderHeader(s);
    renderWorkers(s);
    renderPmaps(s);
    renderPools(s);
    renderLaunches(s);
    renderEvents(s);
    document.body.dataset.snapshotAt = String(s.takenAt);
  }

  // ---- the stream -----------------------------------------------------------------------------
  const stream = new EventSource(`/events?token=${encodeURIComponent(token)}`);
  stream.addEventListener('open', () => {
    if (!ended) setStatus('live', 'live');
  });
  stream.addEventListener('history', (event) => {
    for (const list of Object.values(series)) list.length = 0;
    for (const sample of JSON.parse(event.data)) addSample(sample);
    drawCharts();
  });
  stream.addEventListener('sample', (event) => {
    addSample(JSON.parse(event.data));
    drawCharts();
  });
  stream.addEventListener('snapshot', (event) => render(JSON.parse(event.data)));
  stream.addEventListener('closed', () => {
    ended = 'closed';
    setStatus('closed', 'cluster closed');
  });
  stream.addEventListener('stopped', () => {
    stream.close();
    if (ended !== 'closed') setStatus('stopped', 'dashboard stopped');
    ended ??= 'stopped';
  });
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED && !ended) setStatus('stopped', 'dashboard unreachable');
    else if (!ended) setStatus('connecting', 'reconnecting…');
  });
})();
