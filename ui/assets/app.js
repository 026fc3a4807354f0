// nightshift incident view. No framework, no CDN: this file and app.css are the whole client.
// Every piece of telemetry text reaches the page through textContent (el() below), never innerHTML: a log line is
// written by whoever can make a service log it.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const POLL_MS = 5000;
const state = { meta: null, selected: null, timer: null, token: sessionStorage.getItem('nightshift.token') || '' };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    // Through the CSSOM: the content security policy refuses style attributes.
    else if (k === 'style') e.style.cssText = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  return e;
}

const pad = (n) => String(n).padStart(2, '0');
function when(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}
const hhmm = (ms) => {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
};
const pct = (x) => (x === null || x === undefined ? '' : `${Math.round(x * 100)}%`);
function num(x) {
  if (!Number.isFinite(x)) return '';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return String(Math.round(x * 1000) / 1000);
}
const safeUrl = (u) => (typeof u === 'string' && /^https?:\/\//i.test(u) ? u : null);

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(path, init) {
  const headers = { accept: 'application/json', ...(init && init.body ? { 'content-type': 'application/json' } : {}) };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { ...(init || {}), headers });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) {
    showLogin(body.error ? body.error.message : 'a bearer token is needed');
    throw new HttpError(401, 'unauthorized');
  }
  if (!res.ok) throw new HttpError(res.status, body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

function showLogin(message) {
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message || '';
}

// ---- incident list ----------------------------------------------------------------------------------------------

function filterQuery() {
  const q = new URLSearchParams();
  const status = document.getElementById('f-status').value;
  const service = document.getElementById('f-service').value.trim();
  const since = document.getElementById('f-since').value;
  const until = document.getElementById('f-until').value;
  if (status) q.set('status', status);
  if (service) q.set('service', service);
  // The inputs are read as UTC, as every time on the page is shown.
  if (since) q.set('since', String(Date.parse(`${since}Z`)));
  if (until) q.set('until', String(Date.parse(`${until}Z`)));
  q.set('limit', '100');
  return q;
}

async function loadList() {
  let data;
  try {
    data = await call(`/api/incidents?${filterQuery()}`);
  } catch (e) {
    document.getElementById('list-note').textContent = e.status === 401 ? '' : `Cannot load incidents: ${e.message}`;
    return;
  }
  const body = document.querySelector('#incidents tbody');
  const services = new Set();
  const rows = data.incidents.map((i) => {
    for (const s of i.services) services.add(s);
    const top = i.top_service ? `${i.top_kind} in ${i.top_service}` : 'no root cause yet';
    return el(
      'tr',
      { 'data-id': i.incident_id, class: i.incident_id === state.selected ? 'selected' : '', onclick: () => (location.hash = `#/incident/${encodeURIComponent(i.incident_id)}`) },
      el('td', {}, when(i.opened_at)),
      el('td', {}, el('span', { class: `badge ${i.status}` }, i.status)),
      el('td', {}, el('div', { class: 'title' }, top), el('div', { class: 'muted' }, `${i.incident_id} · ${i.services.length} services · ${i.counts.alerts} alerts · ${i.counts.signals} signals`)),
      el('td', {}, pct(i.top_confidence)),
    );
  });
  body.replaceChildren(...rows);
  const list = document.getElementById('services');
  list.replaceChildren(...[...services].sort().map((s) => el('option', { value: s })));
  document.getElementById('list-note').textContent = data.incidents.length === 0 ? 'No incidents match.' : data.truncated ? `Showing the newest ${data.incidents.length}.` : `${data.incidents.length} incidents.`;
  document.getElementById('live').textContent = `live · updated ${new Date().toLocaleTimeString()}`;
}

// ---- one incident -----------------------------------------------------------------------------------------------

function evidenceItem(ev) {
  return el(
    'li',
    { class: `evidence-item type-${ev.type}` },
    el('span', { class: 'badge' }, ev.type.replace('_', ' ')),
    ' ',
    ev.service ? el('span', { class: 'muted' }, `${ev.service} `) : null,
    el('span', { class: 'text' }, ev.text),
    ev.facts.length ? el('div', { class: 'facts' }, ev.facts.map(([k, v]) => `${k}: ${v}`).join(' · ')) : null,
    ev.links.length ? el('div', { class: 'facts' }, ev.links.flatMap((l) => (safeUrl(l.url) ? [el('a', { href: safeUrl(l.url), rel: 'noopener noreferrer', target: '_blank' }, l.label), ' '] : []))) : null,
  );
}

function causeBlock(c) {
  return el(
    'div',
    { class: `cause rank-${c.rank}`, 'data-rank': c.rank },
    el('div', {}, el('strong', {}, `#${c.rank} ${c.service}`), ` · ${c.kind} · `, el('span', { class: 'conf', title: pct(c.confidence) }, el('span', { style: `width:${Math.round(c.confidence * 100)}%` })), ` ${pct(c.confidence)}`),
    el('div', { class: 'explanation' }, c.explanation),
    c.evidence.length ? el('ul', { class: 'evidence' }, c.evidence.map(evidenceItem)) : el('div', { class: 'muted' }, 'no cited evidence'),
  );
}

function plot(p) {
  const W = 420;
  const H = 170;
  const L = 52;
  const R = 8;
  const T = 18;
  const B = 22;
  const unit = p.unit ? ` ${p.unit}` : '';
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': `${p.service} ${p.name}`, class: 'series-plot', 'data-series': p.id });
  // `latency_p95_ms` already says ms: the unit is added to the title only when the name does not end with it.
  const named = p.unit && new RegExp(`[_.\\s(]${p.unit.replace(/[^A-Za-z0-9]/g, '.')}\\)?$`, 'i').test(p.name);
  root.append(svg('text', { x: L, y: 12 }, `${p.service} · ${p.name}${named ? '' : unit}`));
  const pts = p.points;
  if (pts.length < 2) {
    // No trace stored: the two figures the detector reported, side by side.
    const max = Math.max(Math.abs(p.expected), Math.abs(p.observed), 1e-9);
    const bar = (x, v, cls, label) => {
      const h = ((H - T - B) * Math.abs(v)) / max;
      return [svg('rect', { x, y: H - B - h, width: 60, height: h, class: cls === 'observed' ? 'observed-bar' : 'expected-bar', fill: cls === 'observed' ? '#c62828' : '#1f5fbf' }), svg('text', { x, y: H - 6 }, `${label} ${num(v)}${unit}`)];
    };
    root.append(...bar(L + 20, p.expected, 'expected', 'expected'), ...bar(L + 160, p.observed, 'observed', 'observed'));
    return root;
  }
  const t0 = pts[0].ts;
  const t1 = pts[pts.length - 1].ts;
  const ys = pts.flatMap((q) => [q.value, q.expected, q.lo, q.hi].filter((v) => Number.isFinite(v)));
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y1 - y0 < 1e-9) {
    y0 -= 1;
    y1 += 1;
  }
  const x = (t) => L + ((W - L - R) * (t - t0)) / Math.max(1, t1 - t0);
  const y = (v) => H - B - ((H - T - B) * (v - y0)) / (y1 - y0);
  root.append(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }), svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
  root.append(svg('text', { x: 2, y: T + 8 }, `${num(y1)}${unit}`), svg('text', { x: 2, y: H - B }, `${num(y0)}${unit}`));
  root.append(svg('text', { x: L, y: H - 6 }, hhmm(t0)), svg('text', { x: W - R - 30, y: H - 6 }, hhmm(t1)));
  const banded = pts.filter((q) => Number.isFinite(q.lo) && Number.isFinite(q.hi));
  if (banded.length >= 2) {
    const upper = banded.map((q) => `${x(q.ts).toFixed(1)},${y(q.hi).toFixed(1)}`);
    const lower = banded.map((q) => `${x(q.ts).toFixed(1)},${y(q.lo).toFixed(1)}`).reverse();
    root.append(svg('polygon', { points: [...upper, ...lower].join(' '), class: 'band' }, svg('title', {}, 'expected band')));
  }
  const expected = pts.filter((q) => Number.isFinite(q.expected));
  if (expected.length >= 2) root.append(svg('polyline', { points: expected.map((q) => `${x(q.ts).toFixed(1)},${y(q.expected).toFixed(1)}`).join(' '), class: 'expected' }));
  root.append(svg('polyline', { points: pts.map((q) => `${x(q.ts).toFixed(1)},${y(q.value).toFixed(1)}`).join(' '), class: 'observed' }));
  return root;
}

const TYPE_COLORS = { alert: '#c62828', change: '#6a1b9a', template_new: '#ef6c00', template_burst: '#f9a825', metric_anomaly: '#1f5fbf', red_latency: '#00838f', red_errors: '#ad1457', red_rate: '#558b2f' };

function timeline(entries) {
  if (entries.length === 0) return el('p', { class: 'muted' }, 'No signals stored.');
  const services = [...new Set(entries.map((e) => e.service))].slice(0, 14);
  const W = 640;
  const L = 130;
  const row = 16;
  const H = 24 + row * services.length;
  const t0 = entries[0].ts;
  const t1 = entries[entries.length - 1].ts;
  const x = (t) => L + ((W - L - 10) * (t - t0)) / Math.max(1, t1 - t0);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': 'signal timeline', class: 'timeline' });
  services.forEach((s, i) => root.append(svg('text', { x: 2, y: 14 + i * row }, s.length > 20 ? `${s.slice(0, 19)}…` : s)));
  for (const e of entries) {
    const i = services.indexOf(e.service);
    if (i < 0) continue;
    root.append(svg('circle', { cx: x(e.ts).toFixed(1), cy: 10 + i * row, r: (2 + 4 * e.score).toFixed(1), fill: TYPE_COLORS[e.type] || '#666', class: 'dot' }, svg('title', {}, `${when(e.ts)} ${e.type} ${e.text}`)));
  }
  root.append(svg('text', { x: L, y: H - 2 }, hhmm(t0)), svg('text', { x: W - 40, y: H - 2 }, hhmm(t1)));
  const table = el(
    'table',
    { class: 'signals' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'Service'), el('th', {}, 'Signal'), el('th', {}, 'Score'), el('th', {}, 'What'))),
    el('tbody', {}, entries.slice(0, 60).map((e) => el('tr', {}, el('td', {}, when(e.ts)), el('td', {}, e.peer ? `${e.service} → ${e.peer}` : e.service), el('td', {}, e.type), el('td', {}, num(e.score)), el('td', { class: 'text' }, e.text)))),
  );
  return el('div', {}, root, el('details', {}, el('summary', {}, `${entries.length} signals`), table));
}

function topology(t) {
  if (t.nodes.length === 0) return el('p', { class: 'muted' }, 'No topology.');
  // Layers by longest call depth from the callers, so calls run left to right.
  const depth = new Map(t.nodes.map((n) => [n.service, 0]));
  for (let pass = 0; pass < t.nodes.length; pass++) {
    let moved = false;
    for (const e of t.edges) {
      const d = (depth.get(e.caller) || 0) + 1;
      if (d > (depth.get(e.callee) || 0) && d < t.nodes.length) {
        depth.set(e.callee, d);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const layers = [];
  for (const n of t.nodes) (layers[depth.get(n.service)] ||= []).push(n);
  const NW = 130;
  const NH = 22;
  const GX = 40;
  const GY = 12;
  const W = layers.length * (NW + GX);
  const H = Math.max(...layers.map((l) => (l ? l.length : 0))) * (NH + GY) + GY;
  const pos = new Map();
  layers.forEach((l, i) => (l || []).forEach((n, j) => pos.set(n.service, { x: 4 + i * (NW + GX), y: GY + j * (NH + GY) })));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: Math.min(W, 900), role: 'img', 'aria-label': 'topology', class: 'topology' });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#9aa3b5' }))));
  for (const e of t.edges) {
    const a = pos.get(e.caller);
    const b = pos.get(e.callee);
    if (!a || !b) continue;
    root.append(svg('line', { x1: a.x + NW, y1: a.y + NH / 2, x2: b.x, y2: b.y + NH / 2, class: `edge${e.anomalous ? ' anomalous' : ''}`, 'marker-end': 'url(#arrow)' }));
  }
  for (const n of t.nodes) {
    const p = pos.get(n.service);
    root.append(svg('g', { class: `node ${n.role}`, 'data-service': n.service }, svg('rect', { x: p.x, y: p.y, width: NW, height: NH, rx: 4 }), svg('text', { x: p.x + 6, y: p.y + 15 }, n.service.length > 19 ? `${n.service.slice(0, 18)}…` : n.service)));
  }
  return root;
}

async function sendFeedback(body) {
  const status = document.getElementById('feedback-status');
  status.textContent = 'saving…';
  try {
    await call(state.meta.feedback, { method: 'POST', body: JSON.stringify(body) });
    status.textContent = `recorded: ${body.kind.replaceAll('_', ' ')}`;
    // The re-rendered detail keeps this status line (renderDetail carries it over).
    await loadDetail(body.incident_id, true);
  } catch (e) {
    status.textContent = `not recorded: ${e.message}`;
  }
}

function actions(d) {
  const id = d.incident.incident_id;
  const note = () => {
    const v = document.getElementById('fb-note').value.trim();
    return v ? { note: v } : {};
  };
  const services = [...new Set([...d.causes.map((c) => c.service), ...d.incident.services])];
  const kinds = state.meta ? state.meta.kinds : [];
  const disabled = state.meta && !state.meta.can_write;
  return el(
    'div',
    { class: 'actions' },
    el('button', { id: 'btn-ack', type: 'button', disabled, onclick: () => sendFeedback({ kind: 'ack', incident_id: id, ...note() }) }, 'Acknowledge'),
    el('button', { id: 'btn-resolve', type: 'button', disabled, onclick: () => sendFeedback({ kind: 'resolve', incident_id: id, ...note() }) }, 'Resolve'),
    el('button', { id: 'btn-confirm', type: 'button', class: 'secondary', disabled: disabled || d.causes.length === 0, onclick: () => sendFeedback({ kind: 'confirm', incident_id: id, ...note() }) }, 'Top cause is right'),
    el('label', {}, 'Real root service', el('input', { id: 'fb-service', list: 'fb-services', value: d.causes[0] ? d.causes[0].service : '' })),
    el('datalist', { id: 'fb-services' }, services.map((s) => el('option', { value: s }))),
    el('label', {}, 'Kind', el('select', { id: 'fb-kind' }, kinds.map((k) => el('option', { value: k, selected: d.causes[0] && d.causes[0].kind === k }, k)))),
    el('label', {}, 'Note', el('input', { id: 'fb-note', maxlength: 2000, placeholder: 'optional' })),
    el(
      'button',
      {
        id: 'btn-correct',
        type: 'button',
        class: 'secondary',
        disabled,
        onclick: () => {
          const service = document.getElementById('fb-service').value.trim();
          if (!service) return (document.getElementById('feedback-status').textContent = 'name the service first');
          return sendFeedback({ kind: 'correct_root_cause', incident_id: id, service, root_kind: document.getElementById('fb-kind').value, ...note() });
        },
      },
      'Set real root cause',
    ),
    el('span', { id: 'feedback-status', class: 'muted', 'aria-live': 'polite' }),
  );
}

function renderDetail(d) {
  const i = d.incident;
  const article = document.getElementById('detail');
  const kept = document.getElementById('feedback-status');
  const keptText = kept ? kept.textContent : '';
  article.replaceChildren(
    el('h2', { id: 'detail-title' }, d.title),
    el(
      'div',
      { class: 'status-line' },
      el('span', { class: `badge ${i.status}` }, i.status),
      ' ',
      d.severity ? el('span', { class: `badge ${d.severity}`, id: 'severity' }, d.severity) : null,
      ` ${i.incident_id} · opened ${when(i.opened_at)} · updated ${when(i.updated_at)} · ${i.counts.alerts} alerts · ${i.counts.signals} signals · ${i.counts.events} records`,
    ),
    el('div', { class: 'muted' }, `Services: ${i.services.join(', ')}`),
    actions(d),
    el('h3', {}, 'Top root causes'),
    el('div', { id: 'causes' }, d.causes.length ? d.causes.map(causeBlock) : el('p', { class: 'muted' }, 'No root cause named yet.')),
    el('h3', {}, 'Key series'),
    el('div', { class: 'plots', id: 'plots' }, d.plots.length ? d.plots.map((p) => el('div', { class: 'plot' }, plot(p))) : el('p', { class: 'muted' }, 'No metric series among the evidence.')),
    el('h3', {}, 'Timeline'),
    el('div', { id: 'timeline' }, timeline(d.timeline)),
    el('h3', {}, 'Topology'),
    el('div', { id: 'topology' }, topology(d.topology)),
    el('h3', {}, 'Tickets'),
    el(
      'ul',
      { id: 'tickets' },
      d.tickets.length
        ? d.tickets.map((t) => el('li', {}, `${t.integration} `, safeUrl(t.url) ? el('a', { href: safeUrl(t.url), rel: 'noopener noreferrer', target: '_blank' }, t.key) : t.key, el('span', { class: 'muted' }, ` ${t.created ? 'opened' : 'found'} ${when(t.opened_at)}`)))
        : el('li', { class: 'muted' }, 'none'),
    ),
    el('h3', {}, 'Feedback'),
    el(
      'ul',
      { id: 'feedback' },
      d.feedback.length
        ? d.feedback.map((f) => el('li', { 'data-kind': f.kind }, `${when(f.at)} ${f.actor} (${f.source}): ${f.kind.replaceAll('_', ' ')}`, f.service ? ` → ${f.service} ${f.root_kind}` : '', f.note ? el('span', { class: 'muted' }, ` — ${f.note}`) : null))
        : el('li', { class: 'muted' }, 'none yet'),
    ),
  );
  if (keptText) document.getElementById('feedback-status').textContent = keptText;
  article.hidden = false;
  document.getElementById('detail-empty').hidden = true;
}

async function loadDetail(id, quiet) {
  state.selected = id;
  for (const tr of document.querySelectorAll('#incidents tbody tr')) tr.classList.toggle('selected', tr.dataset.id === id);
  try {
    renderDetail(await call(`/api/incidents/${encodeURIComponent(id)}`));
  } catch (e) {
    if (quiet || e.status === 401) return;
    document.getElementById('detail').hidden = true;
    const empty = document.getElementById('detail-empty');
    empty.hidden = false;
    empty.textContent = `Cannot load ${id}: ${e.message}`;
  }
}

// ---- value ------------------------------------------------------------------------------------------------------

async function loadValue() {
  const pane = document.getElementById('value-pane');
  if (!state.meta || !state.meta.extra.includes('value')) {
    pane.hidden = true;
    return;
  }
  let v;
  try {
    v = await call('/api/value');
  } catch (e) {
    document.getElementById('value').textContent = `Cannot load the value report: ${e.message}`;
    return;
  }
  const rows = v.rows || [];
  const cols = v.columns || (rows[0] ? Object.keys(rows[0]) : []);
  document.getElementById('value').replaceChildren(
    v.model ? el('p', { class: 'muted' }, v.model) : null,
    el('table', { id: 'value-table' }, el('thead', {}, el('tr', {}, cols.map((c) => el('th', {}, c.replaceAll('_', ' '))))), el('tbody', {}, rows.map((r) => el('tr', {}, cols.map((c) => el('td', {}, typeof r[c] === 'number' ? num(r[c]) : String(r[c] ?? ''))))))),
  );
}

// ---- wiring -----------------------------------------------------------------------------------------------------

function route() {
  const m = /^#\/incident\/(.+)$/.exec(location.hash);
  if (m) return loadDetail(decodeURIComponent(m[1]));
  state.selected = null;
  document.getElementById('detail').hidden = true;
  document.getElementById('detail-empty').hidden = false;
  return undefined;
}

async function refresh() {
  await loadList();
  if (state.selected) await loadDetail(state.selected, true);
}

async function start() {
  try {
    state.meta = await call('/api/meta');
  } catch (e) {
    if (e.status !== 401) document.getElementById('list-note').textContent = `Cannot reach the store: ${e.message}`;
    return;
  }
  document.getElementById('login').hidden = true;
  document.getElementById('store').textContent = state.meta.store;
  await loadList();
  await route();
  await loadValue();
  clearInterval(state.timer);
  // Live: the list (and the open incident) are re-read while the page is visible; a hidden tab costs the store nothing.
  state.timer = setInterval(() => {
    if (!document.hidden) refresh().catch(() => undefined);
  }, POLL_MS);
}

document.getElementById('filters').addEventListener('change', () => loadList());
document.getElementById('f-service').addEventListener('input', () => loadList());
document.getElementById('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('nightshift.token', state.token);
  start();
});
window.addEventListener('hashchange', () => route());
start();
