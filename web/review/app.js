// safescan review: the grid of flagged items, filters, keyboard decisions. No framework; the
// server's JSON API is described in docs/review.md.
'use strict';

const PAGE = 60;
const LABELS = { keep: 'Kept', remove: 'Removed', skip: 'Skipped' };
const state = { columns: [], items: [], total: 0, selected: -1, loading: false, queue: Promise.resolve() };
const $ = (sel) => document.querySelector(sel);
const form = $('#filters');

// --- the API -------------------------------------------------------------------------------

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...options });
  const type = res.headers.get('Content-Type') || '';
  const body = type.startsWith('application/json') ? await res.json() : await res.text();
  if (!res.ok) {
    const err = new Error((body && body.error) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

function post(path, body) {
  return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

// The filters as query parameters (only those that are set).
function filterParams({ withDecision = true } = {}) {
  const q = new URLSearchParams();
  for (const name of ['detector', 'category', 'min_score']) {
    const v = form.elements[name].value.trim();
    if (v !== '') q.set(name, v);
  }
  const d = form.elements.decision.value;
  if (withDecision && d !== 'any') q.set('decision', d);
  return q;
}

function announce(text) {
  $('#status').textContent = text;
}

// --- rendering -----------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

function shortKey(key) {
  const parts = key.split('/');
  return parts[parts.length - 1] || key;
}

function renderDecision(card, item) {
  const d = item.decision;
  card.dataset.decision = d ? d.decision : '';
  const badge = card.querySelector('.decision');
  badge.textContent = d ? `${LABELS[d.decision]} by ${d.reviewer}` : 'Not decided';
  badge.title = d ? `${d.decision} at ${d.decided_at}` : '';
  for (const b of card.querySelectorAll('.actions button'))
    b.setAttribute('aria-pressed', String(!!d && d.decision === b.dataset.act));
}

function renderCard(item, index) {
  const img = el('img', { src: `api/thumb/${item.id}?size=320`, alt: `Preview of ${item.key}`, loading: 'lazy', decoding: 'async' });
  const thumb = el('button', { type: 'button', class: 'thumb', title: 'Reveal or blur (V)', 'aria-label': `Reveal or blur ${shortKey(item.key)}` }, img);
  thumb.addEventListener('click', () => { select(index); toggleReveal(); });
  const actions = el('div', { class: 'actions' });
  for (const act of ['remove', 'keep', 'skip']) {
    const b = el('button', { type: 'button', textContent: act[0].toUpperCase() + act.slice(1), 'data-act': act });
    b.addEventListener('click', () => { select(index); enqueue(() => decide(act)); });
    actions.append(b);
  }
  actions.append(el('a', { href: `api/image/${item.id}`, target: '_blank', rel: 'noopener', textContent: 'Full image' }));
  const card = el('li', { class: 'card', id: `item-${item.id}`, tabIndex: -1, 'data-id': item.id },
    thumb,
    el('div', { class: 'meta' },
      el('span', { class: 'score', textContent: item.score.toFixed(3) }),
      el('span', { class: 'column', textContent: `${item.detector} / ${item.category}` })),
    el('div', { class: 'key', title: item.key, textContent: shortKey(item.key) }),
    el('div', { class: 'decision' }),
    actions);
  card.addEventListener('focusin', () => { if (state.selected !== index) select(index, false); });
  renderDecision(card, item);
  return card;
}

function cardAt(i) {
  return $('#grid').children[i];
}

function renderCount() {
  const shown = state.items.length;
  $('#count').textContent = state.total === 0 ? 'No items match these filters.'
    : `${state.total} item${state.total === 1 ? '' : 's'}` + (shown < state.total ? ` (showing ${shown})` : '');
  $('#more').hidden = shown >= state.total;
}

function renderProgress(p) {
  const bar = $('#progress');
  bar.max = Math.max(p.flagged, 1);
  bar.value = p.reviewed;
  $('#progress-text').textContent =
    `${p.reviewed} of ${p.flagged} reviewed · ${p.remove} remove · ${p.keep} keep · ${p.skip} skip`;
}

function updateRemovalLink() {
  const q = filterParams({ withDecision: false }).toString();
  $('#removal-list').href = 'api/removal-list' + (q ? `?${q}` : '');
}

// --- loading -------------------------------------------------------------------------------

async function loadPage() {
  if (state.loading) return;
  state.loading = true;
  try {
    const q = filterParams();
    q.set('offset', state.items.length);
    q.set('limit', PAGE);
    const page = await api(`api/items?${q}`);
    const grid = $('#grid');
    for (const item of page.items) {
      grid.append(renderCard(item, state.items.length));
      state.items.push(item);
    }
    state.total = page.total;
    renderProgress(page.progress);
    renderCount();
    if (state.selected < 0 && state.items.length) select(0, false);
  } catch (e) {
    announce(`Could not load the items: ${e.message}`);
  } finally {
    state.loading = false;
  }
}

async function reload() {
  state.items = [];
  state.total = 0;
  state.selected = -1;
  $('#grid').replaceChildren();
  const q = filterParams();
  history.replaceState(null, '', q.toString() ? `?${q}` : location.pathname);
  updateRemovalLink();
  await loadPage();
}

async function refreshProgress() {
  renderProgress(await api(`api/progress?${filterParams({ withDecision: false })}`));
}

function fillCategories() {
  const select = form.elements.category, detector = form.elements.detector.value, current = select.value;
  const cats = [...new Set(state.columns.filter((c) => !detector || c.detector === detector).map((c) => c.category))];
  select.replaceChildren(el('option', { value: '', textContent: 'all' }), ...cats.map((c) => el('option', { value: c, textContent: c })));
  select.value = cats.includes(current) ? current : '';
}

// --- selection and decisions ---------------------------------------------------------------

function select(i, focus = true) {
  if (i < 0 || i >= state.items.length) return;
  const old = cardAt(state.selected);
  if (old) old.removeAttribute('aria-current');
  state.selected = i;
  const card = cardAt(i);
  card.setAttribute('aria-current', 'true');
  if (focus) {
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: 'nearest' });
  }
  if (i >= state.items.length - 4 && state.items.length < state.total) loadPage();
}

// Cards per row, from their positions on the page.
function columns() {
  const first = cardAt(0);
  if (!first) return 1;
  let n = 0;
  for (const c of $('#grid').children) { if (c.offsetTop !== first.offsetTop) break; n++; }
  return Math.max(n, 1);
}

function toggleReveal() {
  const card = cardAt(state.selected);
  if (card) card.classList.toggle('revealed');
}

async function decide(decision) {
  const item = state.items[state.selected];
  if (!item) return;
  const index = state.selected;
  try {
    const r = await post('api/decisions', { item_id: item.id, decision });
    item.decision = r.decision;
    renderDecision(cardAt(index), item);
    announce(`${LABELS[decision]}: ${shortKey(item.key)}`);
    select(Math.min(index + 1, state.items.length - 1));
    await refreshProgress();
  } catch (e) {
    announce(`Could not record the decision: ${e.message}`);
  }
}

async function undo() {
  try {
    const r = await post('api/undo', {});
    const index = state.items.findIndex((it) => it.id === r.undone.item_id);
    if (index >= 0) {
      state.items[index].decision = r.decision;
      renderDecision(cardAt(index), state.items[index]);
      select(index);
    }
    const name = index >= 0 ? shortKey(state.items[index].key) : `item ${r.undone.item_id}`;
    announce(`Undone: ${r.undone.decision} of ${name}` + (r.decision ? ` (now ${r.decision.decision})` : ''));
    await refreshProgress();
  } catch (e) {
    announce(e.status === 409 ? 'Nothing to undo.' : `Could not undo: ${e.message}`);
  }
}

// Decisions and moves run one after another, in key-press order.
function enqueue(task) {
  state.queue = state.queue.then(task).catch((e) => announce(e.message));
}

const KEYS = {
  k: () => decide('keep'), r: () => decide('remove'), s: () => decide('skip'), u: undo, v: toggleReveal,
  o: () => { const it = state.items[state.selected]; if (it) window.open(`api/image/${it.id}`, '_blank', 'noopener'); },
  ArrowRight: () => select(state.selected + 1), ArrowLeft: () => select(state.selected - 1),
  ArrowDown: () => select(Math.min(state.selected + columns(), state.items.length - 1)),
  ArrowUp: () => select(Math.max(state.selected - columns(), 0)),
  Home: () => select(0), End: () => select(state.items.length - 1),
};

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const t = event.target;
  const inForm = t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
  if (inForm) {
    if (event.key === 'Escape') { t.blur(); select(Math.max(state.selected, 0)); }
    return;
  }
  const action = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
  if (!action) return;
  event.preventDefault();
  enqueue(action);
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  const params = new URLSearchParams(location.search);
  params.delete('token');  // the server keeps it in a cookie; do not leave it in the address bar
  try {
    const summary = await api('api/summary');
    state.columns = summary.columns;
    $('#database').textContent = summary.database;
    $('#reviewer').textContent = summary.reviewer;
    const detectors = form.elements.detector;
    for (const d of summary.detectors) detectors.append(el('option', { value: d, textContent: d }));
    if (summary.detectors.includes(params.get('detector'))) detectors.value = params.get('detector');
    fillCategories();
    if (state.columns.some((c) => c.category === params.get('category'))) form.elements.category.value = params.get('category');
    if (params.has('min_score')) form.elements.min_score.value = params.get('min_score');
    if ([...form.elements.decision.options].some((o) => o.value === params.get('decision')))
      form.elements.decision.value = params.get('decision');
  } catch (e) {
    announce(`Could not reach the server: ${e.message}`);
    return;
  }
  form.addEventListener('change', (event) => {
    if (event.target.id === 'reveal-all') return;
    if (event.target.name === 'detector') fillCategories();
    if (!form.elements.min_score.checkValidity()) { announce('The minimum score is a number from 0 to 1.'); return; }
    enqueue(reload);
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  $('#reveal-all').addEventListener('change', (e) => document.body.classList.toggle('reveal-all', e.target.checked));
  $('#more').addEventListener('click', () => loadPage());
  document.addEventListener('keydown', onKey);
  await reload();
  document.body.dataset.ready = 'true';
}

start();
