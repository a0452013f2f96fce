// @ts-check
// What this browser keeps about canvases it created or was invited to:
// the creator key (given once, at creation: it allows settings, a new
// invite, archiving) and the invite of a private canvas, in localStorage
// per slug. Storage is injected; every read is validated (the origin's
// storage may hold anything).

import { isSlug, isToken } from './canvasref.js';

export const PREFIX = 'pixelPlayground.canvas.';

/** @typedef {{creatorKey: string|null, invite: string|null}} Owned */

/**
 * @param {Storage|null} storage
 * @param {string} slug
 * @returns {Owned}
 */
export function loadOwned(storage, slug) {
  const none = { creatorKey: null, invite: null };
  if (!storage || !isSlug(slug)) return none;
  let raw = null;
  try {
    raw = storage.getItem(PREFIX + slug);
  } catch {
    return none;
  }
  try {
    const v = JSON.parse(raw || 'null');
    if (!v || typeof v !== 'object') return none;
    return { creatorKey: isToken(v.creatorKey) ? v.creatorKey : null, invite: isToken(v.invite) ? v.invite : null };
  } catch {
    return none;
  }
}

/**
 * Merges the fields given (null forgets one) into what is kept for slug.
 * @param {Storage|null} storage
 * @param {string} slug
 * @param {Partial<Owned>} fields
 * @returns {boolean} kept
 */
export function saveOwned(storage, slug, fields) {
  if (!storage || !isSlug(slug)) return false;
  const next = { ...loadOwned(storage, slug) };
  for (const k of /** @type {(keyof Owned)[]} */ (['creatorKey', 'invite'])) {
    if (!(k in fields)) continue;
    const v = fields[k];
    if (v === null || isToken(v)) next[k] = v;
  }
  try {
    if (next.creatorKey === null && next.invite === null) storage.removeItem(PREFIX + slug);
    else storage.setItem(PREFIX + slug, JSON.stringify(next));
    return true;
  } catch {
    return false;
  }
}
