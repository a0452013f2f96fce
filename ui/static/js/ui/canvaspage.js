// @ts-check
// What a canvas page has around the canvas itself (docs/canvases.md, "The
// pages"): the canvas's name in the top bar and the title, the page for a
// canvas that does not exist (or is private and this link has no invite),
// the share button, and the creator's menu (rename, public/private, a new
// invite, archive) for the browser that holds the creator key. The URL
// logic is lib/canvasref.js, the kept keys lib/owned.js, the settings'
// checks lib/settings.js. Names are anyone's: only ever textContent/value.

import { shareLink, viewCentre } from '../lib/canvasref.js';
import { saveOwned } from '../lib/owned.js';
import { checkCanvasName, patchBody, settingsAnswer, settingsErrorText } from '../lib/settings.js';

const SITE = 'Pixel Playground';

/**
 * @typedef {object} CanvasInfo
 * @property {string} name
 * @property {boolean} private
 * @property {boolean} archived
 */

export class CanvasPage {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {import('../lib/canvasref.js').CanvasRef} o.ref
   * @param {{creatorKey: string|null, invite: string|null}} o.owned
   * @param {string} o.origin location.origin
   * @param {string|null} o.info GET the canvas (null for main)
   * @param {string} o.apiBase
   * @param {Storage|null} o.storage
   * @param {(url: string, init: RequestInit) => Promise<Response>} o.fetch
   * @param {() => ({view: {scale: number, ox: number, oy: number}, stage: {w: number, h: number}, canvas: {width: number, height: number}} | null)} o.where
   * @param {(text: string, kind?: string) => void} o.toast
   * @param {(invite: string|null) => void} [o.onInvite] the canvas's invite changed (private, public, a new one)
   */
  constructor(doc, o) {
    this.doc = doc;
    this.o = o;
    this.ref = o.ref;
    this.invite = o.owned.invite;
    this.creatorKey = o.owned.creatorKey;
    /** @type {CanvasInfo|null} */
    this.info = null;
    this.name = SITE;
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.$ = $;
    $('share').addEventListener('click', () => this.share());
    $('owner-invite').addEventListener('click', () => this.newInvite());
    $('owner-archive').addEventListener('click', () => {
      $('owner-archive-confirm').hidden = false;
      $('owner-archive-confirm').focus();
    });
    $('owner-archive-confirm').addEventListener('click', () => this.archive());
    $('owner-rename').addEventListener('submit', (e) => {
      e.preventDefault();
      this.rename();
    });
    $('owner-private').addEventListener('change', () => this.setPrivate(/** @type {HTMLInputElement} */ ($('owner-private')).checked));
    const menu = /** @type {HTMLDetailsElement} */ ($('owner-menu'));
    menu.addEventListener('toggle', () => {
      if (!menu.open) return;
      // Opened: the fields say what the canvas is now.
      const field = /** @type {HTMLInputElement} */ ($('owner-name'));
      field.value = this.name;
      field.removeAttribute('aria-invalid');
      $('owner-error').textContent = '';
      $('owner-archive-confirm').hidden = true;
    });
    // Esc closes the menu from anywhere inside it and gives the focus back to its button.
    menu.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !menu.open) return;
      e.preventDefault();
      e.stopPropagation();
      menu.open = false;
      /** @type {HTMLElement} */ (menu.querySelector('summary')).focus();
    });
    doc.addEventListener('pointerdown', (e) => {
      if (menu.open && !menu.contains(/** @type {Node} */ (e.target))) menu.open = false;
    });
  }

  /**
   * Asks the server about the canvas (not for main).
   * @returns {Promise<'ok'|'missing'|'unknown'>} missing: no such canvas, or private without a valid invite
   */
  async load() {
    if (this.ref.slug === null) return 'missing';
    if (!this.o.info) return 'ok';
    let res;
    try {
      res = await this.o.fetch(this.o.info, { cache: 'no-store' });
    } catch {
      return 'unknown'; // the snapshot's loading says what is wrong, and retries
    }
    if (res.status === 404) return 'missing';
    if (!res.ok) return 'unknown';
    const j = await res.json().catch(() => null);
    if (!j || typeof j.name !== 'string') return 'unknown';
    this.info = { name: j.name, private: j.private === true, archived: j.archived === true };
    this.setName(j.name);
    // An invite that worked is kept, so the canvas opens again without it.
    if (this.ref.invite && this.info.private) saveOwned(this.o.storage, this.ref.slug, { invite: this.ref.invite });
    this.showOwnerMenu();
    return 'ok';
  }

  /** @param {string} name */
  setName(name) {
    this.name = name;
    this.$('canvas-name').textContent = name;
    this.doc.title = `${name} · ${SITE}`;
  }

  /** The page of a canvas that is not there: say so, link to the lobby. */
  missing() {
    this.doc.title = `Canvas not found · ${SITE}`;
    this.$('canvas-name').textContent = 'Canvas not found';
    this.$('share').hidden = true;
    const loading = this.$('loading');
    loading.hidden = false;
    loading.classList.add('missing');
    const text = this.$('loading-text');
    text.textContent = 'Canvas not found. It may not exist, or it is private and this link has no valid invite.';
    const a = this.doc.createElement('a');
    a.href = '/canvases';
    a.className = 'missing-link';
    a.textContent = 'See all canvases';
    text.after(a);
  }

  showOwnerMenu() {
    if (!this.creatorKey || this.ref.main || !this.info) return;
    this.$('owner-menu').hidden = false;
    this.$('owner-invite').hidden = !this.info.private;
    this.$('owner-archive').hidden = this.info.archived;
    // An archived canvas cannot be changed (the server answers 409).
    this.$('owner-settings').hidden = this.info.archived;
    /** @type {HTMLInputElement} */ (this.$('owner-private')).checked = this.info.private;
    this.$('owner-share-hint').hidden = !this.info.private;
  }

  /** The link to what is in view now, with the invite for a private canvas. */
  link() {
    const w = this.o.where();
    const pos = w ? viewCentre(w.view, w.stage, w.canvas) : null;
    const invite = this.info && this.info.private ? this.invite : null;
    if (!pos) return shareLink(this.o.origin, this.ref, { x: 0, y: 0, zoom: null }, invite).replace(/[?&]x=0&y=0$/, '');
    return shareLink(this.o.origin, this.ref, pos, invite);
  }

  async share() {
    const url = this.link();
    const field = /** @type {HTMLInputElement} */ (this.$('share-url'));
    field.value = url;
    let copied = false;
    try {
      const clip = this.doc.defaultView && this.doc.defaultView.navigator.clipboard;
      if (clip) {
        await clip.writeText(url);
        copied = true;
      }
    } catch {
      copied = false;
    }
    if (copied) {
      field.hidden = true;
      this.o.toast('Link to this spot copied');
    } else {
      // No clipboard here (an insecure origin, a refusal): show the link to copy by hand.
      field.hidden = false;
      field.focus();
      field.select();
      this.o.toast('Copy the link from the box at the top');
    }
  }

  /**
   * A change only the creator may make.
   * @param {string} method
   * @param {string} url
   */
  async creatorRequest(method, url) {
    const res = await this.o.fetch(url, { method, headers: { 'X-Creator-Key': /** @type {string} */ (this.creatorKey) }, cache: 'no-store' });
    const j = await res.json().catch(() => null);
    if (!res.ok) throw new Error(j && typeof j.error === 'string' ? j.error : `HTTP ${res.status}`);
    return j;
  }

  base() {
    return `${this.o.apiBase}/api/canvases/${encodeURIComponent(/** @type {string} */ (this.ref.slug))}`;
  }

  /**
   * PATCH the canvas's settings with the creator key.
   * @param {{name?: string, private?: boolean}} change
   * @returns {Promise<{ok: true, canvas: NonNullable<ReturnType<typeof settingsAnswer>>} | {ok: false, error: string, status: number}>}
   */
  async patch(change) {
    let res;
    try {
      res = await this.o.fetch(this.base(), {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', 'X-Creator-Key': /** @type {string} */ (this.creatorKey) },
        body: JSON.stringify(patchBody(change)),
        cache: 'no-store',
      });
    } catch {
      return { ok: false, status: 0, error: settingsErrorText(0, null) };
    }
    const j = await res.json().catch(() => null);
    const canvas = res.ok ? settingsAnswer(j) : null;
    if (!canvas) return { ok: false, status: res.status, error: res.ok ? 'The server answered something unexpected.' : settingsErrorText(res.status, j) };
    return { ok: true, canvas };
  }

  /** Rename: checked here first, then by the server (its 400 shown as it is). */
  async rename() {
    const field = /** @type {HTMLInputElement} */ (this.$('owner-name'));
    const button = /** @type {HTMLButtonElement} */ (this.$('owner-rename-save'));
    const err = this.$('owner-error');
    const checked = checkCanvasName(field.value);
    if ('error' in checked) {
      err.textContent = checked.error;
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      return;
    }
    field.removeAttribute('aria-invalid');
    err.textContent = '';
    if (checked.name === this.name) {
      /** @type {HTMLDetailsElement} */ (this.$('owner-menu')).open = false;
      return;
    }
    button.disabled = true;
    try {
      const r = await this.patch({ name: checked.name });
      if ('error' in r) {
        err.textContent = r.error;
        if (r.status === 400) field.setAttribute('aria-invalid', 'true');
        field.focus();
        return;
      }
      this.applied(r.canvas);
      field.value = r.canvas.name;
      this.o.toast(`Renamed: ${r.canvas.name}`);
    } finally {
      button.disabled = false;
    }
  }

  /**
   * Public or private. Going private gives the canvas an invite, kept here
   * like the lobby keeps a new canvas's; going public forgets it.
   * @param {boolean} want
   */
  async setPrivate(want) {
    const box = /** @type {HTMLInputElement} */ (this.$('owner-private'));
    const err = this.$('owner-error');
    err.textContent = '';
    box.disabled = true;
    let r;
    try {
      r = await this.patch({ private: want });
    } finally {
      box.disabled = false;
      box.focus();
    }
    if ('error' in r) {
      box.checked = !want;
      err.textContent = r.error;
      return;
    }
    if (r.canvas.private && !r.canvas.invite) {
      // Private, but the answer has no invite to share: say so rather than share a link that fails.
      this.applied(r.canvas);
      err.textContent = 'The canvas is private, but the server sent no invite; make a new invite link.';
      return;
    }
    this.setInvite(r.canvas.private ? r.canvas.invite : null);
    this.applied(r.canvas);
    this.o.toast(r.canvas.private
      ? 'Private now: it is not listed, and only people with its invite link can open it. Share this page to pass the link on.'
      : 'Public now: listed among all canvases, no invite needed.');
  }

  /**
   * The canvas as the server answered a change: name, title, menu.
   * @param {{name: string, private: boolean, archived: boolean}} c
   */
  applied(c) {
    this.info = { name: c.name, private: c.private, archived: c.archived };
    this.setName(c.name);
    this.showOwnerMenu();
  }

  /**
   * The invite this browser keeps and the page uses (null: none), and the
   * address bar's, so a reload still opens the canvas.
   * @param {string|null} invite
   */
  setInvite(invite) {
    const slug = /** @type {string} */ (this.ref.slug);
    this.invite = invite;
    saveOwned(this.o.storage, slug, { invite });
    if (this.o.onInvite) this.o.onInvite(invite);
    const win = this.doc.defaultView;
    if (win && this.ref.invite && this.ref.invite !== invite) {
      win.history.replaceState(null, '', invite ? `/c/${slug}?invite=${encodeURIComponent(invite)}` : `/c/${slug}`);
    }
  }

  async newInvite() {
    try {
      const j = await this.creatorRequest('POST', `${this.base()}/invite`);
      if (!j || typeof j.invite !== 'string') throw new Error('no invite in the answer');
      this.setInvite(j.invite);
      /** @type {HTMLDetailsElement} */ (this.$('owner-menu')).open = false;
      this.o.toast('New invite link made: the old one no longer works. Share this page again to pass it on.');
    } catch (e) {
      this.o.toast(`Could not make a new invite: ${/** @type {Error} */ (e).message}`, 'error');
    }
  }

  async archive() {
    this.$('owner-archive-confirm').hidden = true;
    try {
      await this.creatorRequest('DELETE', this.base());
      if (this.info) this.info.archived = true;
      this.showOwnerMenu();
      /** @type {HTMLDetailsElement} */ (this.$('owner-menu')).open = false;
      this.o.toast('Archived: everyone can still see it, nobody can draw on it.');
    } catch (e) {
      this.o.toast(`Could not archive: ${/** @type {Error} */ (e).message}`, 'error');
    }
  }
}
