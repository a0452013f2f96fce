// @ts-check
// The lobby page (/canvases): the public canvases as cards (name as text,
// size, a lazy thumbnail, online, last activity), the search box (?q=) and
// the new canvas form, which creates one, keeps its creator key (and
// invite) in this browser and goes to it. The model is lib/lobby.js.

import { resolveEndpoints } from '../lib/endpoints.js';
import { fetchAnswered } from '../lib/http.js';
import { canvasList, checkNewCanvas, createErrorText, describeCanvas, lobbyQuery } from '../lib/lobby.js';
import { isSlug } from '../lib/canvasref.js';
import { saveOwned } from '../lib/owned.js';

const ANSWER_MS = 10000;
const REFRESH_MS = 30000;
const SEARCH_DELAY_MS = 250;

export class Lobby {
  /** @param {Window & typeof globalThis & {APP_CONFIG?: {WS_URL?: string, API_URL?: string}}} win */
  constructor(win) {
    this.win = win;
    this.doc = win.document;
    this.apiBase = resolveEndpoints(win.APP_CONFIG, win.location).apiBase;
    /** @type {import('../lib/lobby.js').CanvasEntry[]} */
    this.entries = [];
    this.query = lobbyQuery(win.location.search);
    this.searchTimer = 0;
    this.loadSeq = 0;
    this.loaded = false;
    try {
      this.storage = win.localStorage;
    } catch {
      this.storage = null;
    }
  }

  /** @param {string} id */
  $(id) {
    return /** @type {HTMLElement} */ (this.doc.getElementById(id));
  }

  start() {
    const q = /** @type {HTMLInputElement} */ (this.$('q'));
    q.value = this.query;
    q.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = this.win.setTimeout(() => this.search(q.value), SEARCH_DELAY_MS);
    });
    this.$('search').addEventListener('submit', (e) => {
      e.preventDefault(); // the page's policy allows no form navigation
      clearTimeout(this.searchTimer);
      this.search(q.value);
    });
    this.$('new-canvas').addEventListener('submit', (e) => {
      e.preventDefault();
      this.create();
    });
    this.load();
    this.win.setInterval(() => {
      if (this.doc.visibilityState === 'visible') this.load();
    }, REFRESH_MS);
    // While the page was hidden the list went stale.
    this.doc.addEventListener('visibilitychange', () => {
      if (this.doc.visibilityState === 'visible' && this.loaded) this.load();
    });
  }

  /** @param {string} text */
  search(text) {
    const q = text.trim().slice(0, 100);
    if (q === this.query) return;
    this.query = q;
    const url = q ? `/canvases?q=${encodeURIComponent(q)}` : '/canvases';
    this.win.history.replaceState(null, '', url);
    this.load();
  }

  async load() {
    const mine = ++this.loadSeq;
    const status = this.$('list-status');
    const q = this.query;
    let url = `${this.apiBase}/api/canvases`;
    if (q) url += `?q=${encodeURIComponent(q)}`;
    let entries;
    try {
      const res = await fetchAnswered(url, { cache: 'no-store' }, ANSWER_MS);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      entries = canvasList(await res.json());
    } catch {
      if (mine !== this.loadSeq) return;
      status.textContent = this.loaded ? 'Could not refresh the list; showing what we had.' : 'Could not load the canvases. Reload the page to try again.';
      status.classList.add('error');
      return;
    }
    if (mine !== this.loadSeq) return; // a newer search answered first, or will
    this.loaded = true;
    status.classList.remove('error');
    this.entries = entries;
    this.render();
  }

  render() {
    const list = this.$('canvas-list');
    const status = this.$('list-status');
    const now = Date.now();
    const n = this.entries.length;
    if (n === 0) status.textContent = this.query ? `No public canvas matches “${this.query}”.` : 'No public canvases yet: start the first one.';
    else status.textContent = this.query ? `${n} ${n === 1 ? 'canvas matches' : 'canvases match'} “${this.query}”` : `${n} ${n === 1 ? 'canvas' : 'canvases'}, most recently active first`;
    // Cards are rebuilt from text, never from markup: names are anyone's.
    const cards = this.entries.map((c) => {
      const d = describeCanvas(c, now, this.apiBase);
      const li = this.doc.createElement('li');
      const a = this.doc.createElement('a');
      a.className = 'canvas-card';
      a.href = d.href;
      a.dataset.slug = c.slug;
      const frame = this.doc.createElement('span');
      frame.className = 'cc-thumb';
      const img = this.doc.createElement('img');
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      img.width = d.thumbWidth;
      img.height = d.thumbHeight;
      img.src = d.thumb;
      frame.append(img);
      const name = this.doc.createElement('span');
      name.className = 'cc-name';
      name.textContent = d.name;
      const meta = this.doc.createElement('span');
      meta.className = 'cc-meta';
      for (const [cls, text] of [['cc-size', d.size], ['cc-online', d.online], ['cc-active', d.active]]) {
        const s = this.doc.createElement('span');
        s.className = cls;
        s.textContent = text;
        meta.append(s);
      }
      a.append(frame, name, meta);
      li.append(a);
      return li;
    });
    list.replaceChildren(...cards);
  }

  async create() {
    const $in = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (this.$(id));
    const err = this.$('nc-error');
    const button = /** @type {HTMLButtonElement} */ (this.$('nc-submit'));
    for (const id of ['nc-name', 'nc-width', 'nc-height']) $in(id).removeAttribute('aria-invalid');
    const checked = checkNewCanvas({ name: $in('nc-name').value, width: $in('nc-width').value, height: $in('nc-height').value, private: $in('nc-private').checked });
    if ('error' in checked) {
      err.textContent = checked.error;
      const field = $in(`nc-${checked.field}`);
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      return;
    }
    err.textContent = '';
    button.disabled = true;
    button.textContent = 'Creating…';
    try {
      let res;
      try {
        res = await fetchAnswered(`${this.apiBase}/api/canvases`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(checked.body), cache: 'no-store',
        }, ANSWER_MS);
      } catch {
        err.textContent = createErrorText(0, null, null);
        return;
      }
      const j = await res.json().catch(() => null);
      if (res.status !== 201 || !j || !isSlug(j.slug)) {
        err.textContent = createErrorText(res.status, j, res.headers.get('Retry-After'));
        if (res.status === 400 && j && /name/i.test(String(j.error))) $in('nc-name').setAttribute('aria-invalid', 'true');
        return;
      }
      // The creator key is told once: keep it before leaving the page.
      saveOwned(this.storage, j.slug, { creatorKey: j.creatorKey ?? null, invite: j.invite ?? null });
      const path = typeof j.url === 'string' && j.url.startsWith(`/c/${j.slug}`) ? j.url
        : `/c/${j.slug}${typeof j.invite === 'string' ? `?invite=${encodeURIComponent(j.invite)}` : ''}`;
      this.win.location.assign(path);
    } finally {
      button.disabled = false;
      button.textContent = 'Create canvas';
    }
  }
}
