// The station page's script: follows /events (a snapshot, then updates of whole rows), draws one
// row per device, and offers sort, filter, report links and (with the token) the run's controls.
// Plain browser JavaScript, no build step; text goes in with textContent only.
'use strict';

const $ = (id) => document.getElementById(id);
/** The latest snapshot, updates folded in. */
let state = null;
/** Server clock minus ours, ms: elapsed times tick on the station's clock. */
let skew = 0;
const rowsByKey = new Map();
let drawQueued = false;

// The token arrives in the URL fragment (never sent to the server or kept in its logs); it is
// moved to this tab's sessionStorage and taken out of the address bar.
(() => {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('mcumgr-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
})();
const token = () => sessionStorage.getItem('mcumgr-token');

const ICON = { queued: '○ queued', running: '▶ running', retrying: '↻ retrying', ok: '✔ ok', failed: '✖ FAILED', skipped: '– skipped' };

function kib(n) {
  if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MiB';
  return (n / 1024).toFixed(1) + ' KiB';
}
function rate(bps) {
  return bps > 0 ? (bps / 1000).toFixed(1) + ' KB/s' : '';
}
function duration(ms) {
  if (!(ms >= 0)) return '';
  const s = Math.floor(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` : `${(ms / 1000).toFixed(1)} s`;
}
function elapsedOf(d) {
  if (d.startedAt === undefined) return '';
  return duration((d.endedAt ?? Date.now() + skew) - d.startedAt);
}
/** Sets text only when it differs: an unchanged cell costs the browser no layout. */
function set(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
function pct(bytes, total) {
  return total > 0 ? Math.min(100, (100 * bytes) / total) : 0;
}

function cell(tr, label, cls) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
/** A cell's parts in one box, so that a phone's two-column card keeps them together. */
function box(td, ...parts) {
  const div = document.createElement('div');
  div.append(...parts);
  td.appendChild(div);
}

/** Builds the row of a device once; `fill` updates it. */
function makeRow(key) {
  const tr = document.createElement('tr');
  tr.dataset.key = key;
  const c = {
    res: cell(tr, 'result', 'res'),
    dev: cell(tr, 'device'),
    station: cell(tr, 'station'),
    step: cell(tr, 'step', 'step'),
    prog: cell(tr, 'progress'),
    rate: cell(tr, 'rate', 'rate'),
    window: cell(tr, 'window', 'window'),
    elapsed: cell(tr, 'elapsed', 'elapsed'),
    err: cell(tr, 'error', 'err'),
  };
  c.name = document.createElement('span');
  c.name.className = 'name';
  c.target = document.createElement('span');
  c.target.className = 'target';
  box(c.dev, c.name, c.target);
  const bar = document.createElement('div');
  bar.className = 'bar';
  bar.setAttribute('role', 'progressbar');
  c.bar = bar;
  c.fill = document.createElement('div');
  c.fill.className = 'fill';
  bar.appendChild(c.fill);
  c.bytes = document.createElement('span');
  c.bytes.className = 'bytes';
  box(c.prog, bar, c.bytes);
  c.code = document.createElement('code');
  c.msg = document.createElement('span');
  box(c.err, c.code, c.msg);
  tr.cells_ = c;
  return tr;
}

function fill(tr, d) {
  const c = tr.cells_;
  if (tr.dataset.state !== d.state) tr.dataset.state = d.state;
  set(c.res, ICON[d.state] || d.state);
  set(c.name, d.name);
  set(c.target, d.target !== d.name ? d.target : '');
  set(c.station, d.station || '');
  c.station.classList.toggle('blank', !d.station);
  set(c.step, d.step + (d.detail ? ` (${d.detail})` : '') + (d.attempt > 1 ? ` · try ${d.attempt}` : ''));
  const p = pct(d.bytes, d.total);
  const w = p.toFixed(1) + '%';
  if (c.fill.style.width !== w) c.fill.style.width = w;
  c.bar.setAttribute('aria-valuenow', p.toFixed(0));
  set(c.bytes, d.total > 0 ? `${kib(d.bytes)} / ${kib(d.total)} · ${p.toFixed(0)} %` : d.alreadyInstalled ? 'already installed' : '');
  set(c.rate, d.state === 'running' ? rate(d.rate) : '');
  set(c.window, d.window > 0 ? String(d.window) : '');
  set(c.elapsed, elapsedOf(d));
  set(c.code, d.error ? d.error.code : '');
  set(c.msg, d.error ? d.error.message : '');
  c.err.classList.toggle('blank', !d.error);
}

const ORDER = { failed: 0, retrying: 1, running: 2, queued: 3, skipped: 4, ok: 5 };
function sorted(devices) {
  const how = $('sort').value;
  const list = devices.slice();
  const byOrder = (a, b) => a.key.localeCompare(b.key, undefined, { numeric: true });
  if (how === 'failed') list.sort((a, b) => ORDER[a.state] - ORDER[b.state] || byOrder(a, b));
  else if (how === 'name') list.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  else if (how === 'progress') list.sort((a, b) => pct(a.bytes, a.total) - pct(b.bytes, b.total) || byOrder(a, b));
  else list.sort(byOrder);
  return list;
}
function shown(d) {
  const f = $('filter').value;
  if (f === 'failed' && d.state !== 'failed') return false;
  if (f === 'ok' && d.state !== 'ok') return false;
  if (f === 'active' && !['queued', 'running', 'retrying'].includes(d.state)) return false;
  const q = $('search').value.trim().toLowerCase();
  return !q || `${d.name} ${d.target} ${d.station || ''}`.toLowerCase().includes(q);
}

function drawTotals() {
  const t = state.totals;
  set($('t-devices'), String(t.devices));
  set($('t-ok'), String(t.succeeded));
  set($('t-failed'), String(t.failed));
  set($('t-running'), String(t.running));
  set($('t-queued'), String(t.queued));
  set($('t-bytes'), String(`${kib(t.bytes)} / ${kib(t.total)}`));
  set($('t-rate'), String(rate(t.rate) || '—'));
  const r = state.run;
  set($('t-elapsed'), String(r.startedAt ? duration((r.endedAt ?? Date.now() + skew) - r.startedAt) : '—'));
  $('total-fill').style.width = pct(t.bytes, t.total).toFixed(1) + '%';
}

function drawRun() {
  const r = state.run;
  const img = r.image ? ` · image ${r.image.version}` : '';
  set($('title'), (r.title || r.kind) + img);
  document.title = `${state.totals.failed ? '✖ ' : ''}${r.title || 'mcumgr'} — ${r.status}`;
  const badge = $('status');
  badge.dataset.status = r.status;
  set(badge, r.status + (r.reason ? ` (${r.reason})` : ''));
  set($('foot'), r.image ? `image ${r.image.version}, ${kib(r.image.size)}, sha256 ${r.image.hash}` : '');
}

let groupsDrawn = '';
function drawGroups() {
  const key = JSON.stringify(state.groups);
  if (key === groupsDrawn) return;
  groupsDrawn = key;
  const box = $('groups');
  box.hidden = state.groups.length === 0;
  const body = $('group-rows');
  body.replaceChildren();
  for (const g of state.groups.slice().sort((a, b) => a.index - b.index)) {
    const tr = document.createElement('tr');
    tr.dataset.state = g.state === 'failed' || g.state === 'stopped' ? 'failed' : g.state === 'done' ? 'ok' : g.state;
    const th = (v) => (v === undefined ? '' : `${Math.round(v * 100)} %`);
    for (const [label, v] of [['group', g.name], ['state', g.state], ['devices', g.devices], ['ok', g.succeeded], ['failed', g.failed], ['success ≥', th(g.successThreshold)], ['errors ≥', th(g.errorThreshold)]]) {
      cell(tr, label).textContent = String(v);
    }
    body.appendChild(tr);
  }
}

const REPORT_LINKS = { json: ['report.json', 'JSON'], csv: ['report.csv', 'CSV'], junit: ['report.xml', 'JUnit XML'] };
let metaDrawn = '';
function drawMeta() {
  const key = JSON.stringify([state.reports, state.controls]);
  if (key === metaDrawn) return;
  metaDrawn = key;
  const box = $('reports');
  box.replaceChildren('reports: ');
  if (state.reports.length === 0) {
    const s = document.createElement('span');
    s.className = 'muted';
    s.textContent = 'when the run ends';
    box.appendChild(s);
  }
  for (const f of state.reports) {
    const [href, label] = REPORT_LINKS[f] || [];
    if (!href) continue;
    const a = document.createElement('a');
    a.href = href;
    a.download = '';
    a.id = `report-${f}`;
    a.textContent = `⤓ ${label}`;
    box.appendChild(a);
  }
  const ctl = $('controls');
  ctl.replaceChildren();
  for (const action of state.controls) {
    if (!token()) {
      ctl.textContent = 'read-only (open the link with the token to control)';
      break;
    }
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `■ ${action}`;
    b.addEventListener('click', () => control(action));
    ctl.appendChild(b);
  }
}

async function control(action) {
  if (action === 'abort' && !confirm('Abort the run? Unfinished devices stop and are reported as aborted.')) return;
  const r = await fetch(`control/${action}`, { method: 'POST', headers: { Authorization: `Bearer ${token()}` } });
  if (!r.ok) alert(`${action}: ${(await r.json().catch(() => ({}))).error || r.status}`);
}

function draw() {
  drawQueued = false;
  if (!state) return;
  drawRun();
  drawTotals();
  drawGroups();
  drawMeta();
  const body = $('rows');
  const list = sorted(state.devices).filter(shown);
  const want = [];
  for (const d of list) {
    let tr = rowsByKey.get(d.key);
    if (!tr) rowsByKey.set(d.key, (tr = makeRow(d.key)));
    fill(tr, d);
    want.push(tr);
  }
  // Only move rows whose place changed: the table does not flicker as bars fill.
  want.forEach((tr, i) => {
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  while (body.children.length > want.length) body.lastChild.remove();
  $('empty').hidden = state.devices.length > 0;
  document.body.dataset.seq = String(state.seq);
}
function queueDraw() {
  if (!drawQueued) {
    drawQueued = true;
    requestAnimationFrame(draw);
  }
}

function onSnapshot(ev) {
  state = JSON.parse(ev.data);
  skew = state.now - Date.now();
  rowsByKey.clear();
  $('rows').replaceChildren();
  groupsDrawn = metaDrawn = '';
  queueDraw();
}
function onUpdate(ev) {
  const u = JSON.parse(ev.data);
  if (!state || u.seq <= state.seq) return; // already in the snapshot
  const byKey = new Map(state.devices.map((d, i) => [d.key, i]));
  for (const d of u.devices) {
    const i = byKey.get(d.key);
    if (i === undefined) state.devices.push(d);
    else state.devices[i] = d;
  }
  const groups = new Map(state.groups.map((g) => [g.id, g]));
  for (const g of u.groups) groups.set(g.id, g);
  state.groups = [...groups.values()];
  state.totals = u.totals;
  if (u.run) state.run = u.run;
  if (u.controls) state.controls = u.controls;
  if (u.reports) state.reports = u.reports;
  state.seq = u.seq;
  skew = u.now - Date.now();
  queueDraw();
}

function connect() {
  const es = new EventSource('events');
  const link = $('link');
  es.addEventListener('snapshot', onSnapshot);
  es.addEventListener('update', onUpdate);
  es.onopen = () => {
    link.dataset.live = 'yes';
    link.textContent = '● live';
  };
  es.onerror = () => {
    link.dataset.live = 'no';
    link.textContent = '○ reconnecting…';
  };
}

for (const id of ['sort', 'filter', 'search']) $(id).addEventListener('input', queueDraw);
setInterval(() => {
  if (state && state.run.status === 'running') queueDraw(); // elapsed times tick
}, 1000);
connect();
