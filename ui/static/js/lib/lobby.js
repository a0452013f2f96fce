// @ts-check
// The lobby's model (docs/canvases.md, "The pages"): the list from
// GET /api/canvases validated and sorted, what each card says, the new
// canvas form's checks and what the server's refusals mean to a person.
// No DOM access.

import { isSlug } from './canvasref.js';
import { timeAgo } from './format.js';
import { checkCanvasName, MAX_NAME } from './settings.js';

export { MAX_NAME };
export const DEFAULT_SIDE = 256;
/** Thumbnails are at least this many pixels a side (canvas.png's scale is 1..16). */
const THUMB_MIN = 96;

/**
 * @typedef {object} CanvasEntry
 * @property {string} slug
 * @property {string} name
 * @property {number} width
 * @property {number} height
 * @property {number} online
 * @property {number} lastActivity Unix ms, 0: never
 */

const side = (/** @type {unknown} */ v) => (Number.isSafeInteger(v) && /** @type {number} */ (v) > 0 ? /** @type {number} */ (v) : null);
const count = (/** @type {unknown} */ v) => (Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0 ? /** @type {number} */ (v) : 0);

/**
 * The answer of GET /api/canvases as entries, most recently active first
 * (then by name); entries that are not canvases are skipped.
 * @param {any} json
 * @returns {CanvasEntry[]}
 */
export function canvasList(json) {
  const list = json && Array.isArray(json.canvases) ? json.canvases : [];
  /** @type {CanvasEntry[]} */
  const out = [];
  const seen = new Set();
  for (const c of list) {
    if (!c || typeof c !== 'object' || !isSlug(c.slug) || seen.has(c.slug) || c.private === true || c.archived === true) continue;
    const width = side(c.width);
    const height = side(c.height);
    if (width === null || height === null) continue;
    seen.add(c.slug);
    out.push({
      slug: c.slug, name: typeof c.name === 'string' && c.name ? c.name : c.slug, width, height,
      online: count(c.online), lastActivity: count(c.lastActivity),
    });
  }
  return out.sort((a, b) => b.lastActivity - a.lastActivity || a.name.localeCompare(b.name) || (a.slug < b.slug ? -1 : 1));
}

/** canvas.png's scale for a thumbnail of at least THUMB_MIN pixels a side. @param {number} w @param {number} h */
export function thumbScale(w, h) {
  return Math.max(1, Math.min(16, Math.ceil(THUMB_MIN / Math.max(w, h, 1))));
}

/** @param {number} n */
export function onlineText(n) {
  return n === 0 ? 'nobody drawing' : `${n} online`;
}

/** @param {number} lastActivity @param {number} now */
export function activityText(lastActivity, now) {
  return lastActivity > 0 ? `active ${timeAgo(lastActivity, now)}` : 'no drawing yet';
}

/**
 * What a card shows and links to.
 * @param {CanvasEntry} c
 * @param {number} now
 * @param {string} apiBase
 */
export function describeCanvas(c, now, apiBase) {
  const scale = thumbScale(c.width, c.height);
  return {
    href: `/c/${c.slug}`,
    name: c.name,
    size: `${c.width} × ${c.height}`,
    online: onlineText(c.online),
    active: activityText(c.lastActivity, now),
    thumb: `${apiBase}/api/canvases/${c.slug}/canvas.png?scale=${scale}`,
    thumbWidth: c.width * scale,
    thumbHeight: c.height * scale,
  };
}

/** The search text from the lobby's URL (?q=). @param {string} search */
export function lobbyQuery(search) {
  return (new URLSearchParams(search || '').get('q') || '').trim().slice(0, 100);
}

/**
 * The new canvas form's values, checked as the server will (it has the last word).
 * @param {{name: string, width: string, height: string, private: boolean}} f
 * @param {number} [maxSide] the largest side the client lets through (the server may allow less)
 * @returns {{ok: true, body: {name: string, width: number, height: number, private: boolean}} | {ok: false, field: 'name'|'width'|'height', error: string}}
 */
export function checkNewCanvas(f, maxSide = 4096) {
  const named = checkCanvasName(f.name);
  if ('error' in named) return { ok: false, field: 'name', error: named.error };
  const name = named.name;
  /** @type {{width?: number, height?: number}} */
  const size = {};
  for (const k of /** @type {('width'|'height')[]} */ (['width', 'height'])) {
    const raw = String(f[k]).trim();
    const n = raw === '' ? DEFAULT_SIDE : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > maxSide) {
      return { ok: false, field: k, error: `The ${k} is a whole number from 1 to ${maxSide}.` };
    }
    size[k] = n;
  }
  return { ok: true, body: { name, width: size.width, height: size.height, private: !!f.private } };
}

/** "try again in 40 s" / "in 5 min" / "in 2 h". @param {number} seconds */
export function retryText(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return 'try again later';
  if (seconds < 60) return `try again in ${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `try again in ${Math.ceil(seconds / 60)} min`;
  return `try again in ${Math.ceil(seconds / 3600)} h`;
}

/**
 * What a refused creation means to the person who asked.
 * @param {number} status
 * @param {any} body the JSON answer, if any
 * @param {string|null} retryAfter the Retry-After header
 */
export function createErrorText(status, body, retryAfter) {
  const said = body && typeof body.error === 'string' ? body.error : '';
  if (status === 429) {
    const s = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : NaN;
    return `Too many new canvases for now: ${retryText(s)}.`;
  }
  if (status === 400 || status === 409) return said || 'The server refused this canvas.';
  if (status >= 500 || status === 0) return 'The server is not answering; try again in a moment.';
  return said || `The server refused this canvas (HTTP ${status}).`;
}
