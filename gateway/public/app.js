// fedledger dashboard: runs, rounds as a timeline with ledger proofs, charts, live updates, verify.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { runId: undefined, trail: undefined, metrics: [] };
const COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7c3aed', '#0f766e'];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function short(hash) {
  return hash ? `${hash.slice(0, 12)}…` : '—';
}

async function getJson(path, init) {
  const res = await fetch(path, init);
  const body = await res.json();
  if (!res.ok) throw new Error(body.detail || body.title || res.statusText);
  return body;
}

async function loadRuns() {
  const { runs, ledger } = await getJson('/v1/runs');
  $('ledger-label').textContent = ledger;
  const list = $('runs');
  list.replaceChildren(
    ...runs.map((run) => {
      const button = el('button', { type: 'button', 'data-run': run.runId }, run.runId);
      button.append(el('div', { class: 'muted' }, `${run.status} · ${run.roundsPlanned} rounds`));
      button.addEventListener('click', () => selectRun(run.runId));
      return el('li', {}, button);
    }),
  );
  if (!state.runId && runs.length > 0) await selectRun(runs[0].runId);
}

async function selectRun(runId) {
  state.runId = runId;
  for (const b of document.querySelectorAll('nav button')) {
    b.setAttribute('aria-current', String(b.dataset.run === runId));
  }
  $('verify-result').replaceChildren();
  await refreshRun();
}

async function refreshRun() {
  if (!state.runId) return;
  const id = encodeURIComponent(state.runId);
  const [trail, metrics] = await Promise.all([
    getJson(`/v1/audit/runs/${id}/trail`),
    getJson(`/v1/runs/${id}/metrics`).catch(() => ({ metrics: [] })),
  ]);
  state.trail = trail;
  state.metrics = metrics.metrics;
  renderRun();
}

function renderRun() {
  const { run, rounds } = state.trail;
  $('empty').hidden = true;
  $('run').hidden = false;
  $('run-title').textContent = run.runId;
  const closed = rounds.filter((r) => r.status === 'closed').length;
  $('run-summary').textContent =
    `${run.status} · ${closed}/${run.roundsPlanned} rounds closed · strategy ${run.strategy} · ` +
    `participants ${run.participants.join(', ')} · coordinator ${run.coordinator.mspId}`;
  renderTimeline(rounds);
  renderAccuracy();
  renderEpsilon(rounds);
}

function renderTimeline(rounds) {
  $('timeline').replaceChildren(
    ...rounds.map((round) => {
      const head = el(
        'div',
        { class: 'round-head' },
        el('strong', {}, `Round ${round.round}`),
        el('span', { class: round.status === 'closed' ? 'ok' : 'muted' }, round.status),
        el(
          'span',
          { class: 'hash', title: round.inputModelHash },
          `input ${short(round.inputModelHash)}`,
        ),
        el(
          'span',
          { class: 'hash', title: round.aggregateHash || '' },
          `aggregate ${short(round.aggregateHash)}`,
        ),
      );
      const rows = round.updates.map((u) => {
        const included = (round.included || []).includes(u.mspId);
        const excluded = (round.excluded || []).find((e) => e.mspId === u.mspId && e.onLedger);
        return el(
          'tr',
          {},
          el('td', {}, u.mspId),
          el('td', { class: 'hash', title: u.sha256 }, short(u.sha256)),
          el('td', {}, u.sampleCount),
          el('td', {}, u.dp ? u.dp.epsilonSpent : '—'),
          el('td', { class: 'hash', title: u.txId }, short(u.txId)),
          el('td', {}, new Date(u.timestamp).toLocaleTimeString()),
          el(
            'td',
            { class: included ? 'ok' : excluded ? 'bad' : 'muted' },
            included
              ? 'included'
              : excluded
                ? `excluded: ${excluded.code} (${excluded.detail})`
                : 'pending',
          ),
        );
      });
      const offLedger = (round.excluded || [])
        .filter((e) => !e.onLedger)
        .map((e) =>
          el('li', { class: 'bad' }, `${e.mspId} ${short(e.sha256)}: ${e.code} (${e.detail})`),
        );
      const table = el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['organisation', 'SHA-256', 'samples', 'ε spent', 'tx ID', 'time', 'fate'].map((h) =>
              el('th', {}, h),
            ),
          ),
        ),
        el('tbody', {}, ...rows),
      );
      return el(
        'li',
        { class: round.status, 'data-round': String(round.round) },
        head,
        table,
        offLedger.length ? el('ul', {}, ...offLedger) : '',
      );
    }),
  );
}

function lineChart(svg, series, { yMin, yMax, format }) {
  const w = 420;
  const h = 200;
  const pad = { l: 36, r: 10, t: 10, b: 22 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const xMax = Math.max(1, ...xs);
  const sx = (x) => pad.l + (x / xMax) * (w - pad.l - pad.r);
  const sy = (y) => h - pad.b - ((y - yMin) / (yMax - yMin || 1)) * (h - pad.t - pad.b);
  const ns = 'http://www.w3.org/2000/svg';
  const make = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const nodes = [];
  for (let i = 0; i <= 4; i++) {
    const y = yMin + ((yMax - yMin) * i) / 4;
    nodes.push(make('line', { x1: pad.l, x2: w - pad.r, y1: sy(y), y2: sy(y), stroke: '#e5e9f0' }));
    nodes.push(make('text', { x: 2, y: sy(y) + 3 }, format(y)));
  }
  for (let x = 0; x <= xMax; x++) nodes.push(make('text', { x: sx(x) - 3, y: h - 6 }, String(x)));
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const color = COLORS[i % COLORS.length];
    const d = s.points
      .map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join(' ');
    nodes.push(
      make('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, class: 'series' }),
    );
    for (const p of s.points)
      nodes.push(make('circle', { cx: sx(p.x), cy: sy(p.y), r: 2.5, fill: color }));
    nodes.push(
      make(
        'text',
        { x: pad.l + 4 + i * 95, y: pad.t + 8, fill: color, style: `fill:${color}` },
        s.name,
      ),
    );
  });
  svg.replaceChildren(...nodes);
}

function renderAccuracy() {
  const byOrg = new Map();
  for (const m of state.metrics) {
    if (typeof m.accuracy !== 'number') continue;
    if (!byOrg.has(m.mspId)) byOrg.set(m.mspId, []);
    byOrg.get(m.mspId).push({ x: m.round, y: m.accuracy });
  }
  const series = [...byOrg.entries()].map(([name, points]) => ({
    name,
    points: points.sort((a, b) => a.x - b.x),
  }));
  lineChart($('chart-accuracy'), series, {
    yMin: 0,
    yMax: 1,
    format: (y) => `${Math.round(y * 100)}%`,
  });
}

function renderEpsilon(rounds) {
  const points = rounds
    .map((r) => ({
      x: r.round,
      y: Math.max(0, ...r.updates.map((u) => (u.dp ? Number(u.dp.epsilonSpent) : 0))),
    }))
    .filter((p) => Number.isFinite(p.y));
  const yMax = Math.max(0.1, ...points.map((p) => p.y)) * 1.1;
  lineChart($('chart-epsilon'), [{ name: 'ε spent (max over hospitals)', points }], {
    yMin: 0,
    yMax,
    format: (y) => y.toFixed(2),
  });
}

async function verify() {
  const out = $('verify-result');
  out.replaceChildren(el('p', { class: 'muted' }, 'Verifying every round against the ledger…'));
  try {
    const result = await getJson(`/v1/audit/runs/${encodeURIComponent(state.runId)}/verify`, {
      method: 'POST',
    });
    out.replaceChildren(
      el(
        'p',
        { class: result.ok ? 'ok' : 'bad' },
        result.ok ? '✓ every round verified' : '✗ verification failed',
      ),
      el(
        'ul',
        {},
        ...result.rounds.map((r) =>
          el(
            'li',
            { class: r.ok ? 'ok' : 'bad', 'data-round': String(r.round) },
            `${r.ok ? '✓' : '✗'} round ${r.round}${r.ok ? '' : `: ${r.problems.map((p) => p.message).join('; ')}`}`,
          ),
        ),
        // Problems of the run as a whole (no such run, final model not the last aggregate).
        ...(result.problems || []).map((p) => el('li', { class: 'bad' }, `✗ run: ${p.message}`)),
      ),
    );
  } catch (error) {
    out.replaceChildren(el('p', { class: 'bad' }, `✗ ${error.message}`));
  }
}

function listen() {
  const source = new EventSource('/v1/events');
  source.addEventListener('open', () => {
    $('live').textContent = 'live';
    $('live').classList.remove('muted');
  });
  source.addEventListener('error', () => {
    $('live').textContent = 'reconnecting';
    $('live').classList.add('muted');
  });
  for (const name of ['RunCreated', 'RoundOpened', 'UpdateSubmitted', 'RoundClosed']) {
    source.addEventListener(name, () => {
      if (name === 'RunCreated') void loadRuns();
      else void refreshRun();
    });
  }
}

$('verify').addEventListener('click', () => void verify());
void loadRuns().then(listen);
