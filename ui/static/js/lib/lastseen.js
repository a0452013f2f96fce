// @ts-check
// The canvas as this browser last saw it, kept per canvas in localStorage
// so that a page opened while the server cannot be reached shows what was
// there (marked as such) instead of nothing. A picture only: it is never
// drawn on, never sent, and the real snapshot replaces it as soon as the
// server answers. No DOM; the page's part is ui/lastseen.js.

/** A picture longer than this (as a data: URL) is not kept: localStorage holds ~5 MB per origin. */
export const MAX_PICTURE = 1_000_000;

/** @param {string} slug */
export const lastSeenKey = (slug) => `pixelPlayground.lastSeen.${slug}`;

/** @typedef {{at: number, width: number, height: number, png: string}} LastSeen */

/**
 * @param {{getItem(k: string): string|null}|null} storage
 * @param {string} slug
 * @returns {LastSeen|null}
 */
export function loadLastSeen(storage, slug) {
  let r;
  try {
    const text = storage ? storage.getItem(lastSeenKey(slug)) : null;
    r = text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
  if (!r || typeof r !== 'object') return null;
  const side = (/** @type {any} */ n) => Number.isInteger(n) && n > 0 && n <= 100000;
  if (!side(r.width) || !side(r.height) || !Number.isFinite(r.at)) return null;
  if (typeof r.png !== 'string' || !r.png.startsWith('data:image/png;base64,') || r.png.length > MAX_PICTURE) return null;
  return { at: r.at, width: r.width, height: r.height, png: r.png };
}

/**
 * @param {{setItem(k: string, v: string): void, length?: number, key?(i: number): string|null, removeItem?(k: string): void}|null} storage
 * @param {string} slug
 * @param {LastSeen} r
 * @returns {boolean} kept
 */
export function saveLastSeen(storage, slug, r) {
  if (!storage || r.png.length > MAX_PICTURE) return false;
  const text = JSON.stringify(r);
  try {
    storage.setItem(lastSeenKey(slug), text);
    return true;
  } catch {
    // Full: the other canvases' pictures go first (they are a nicety, the
    // name, the colour and the templates are not), then try once more.
  }
  try {
    const s = /** @type {any} */ (storage);
    const others = [];
    for (let i = 0; i < (s.length || 0); i++) {
      const k = s.key(i);
      if (k && k.startsWith(lastSeenKey('')) && k !== lastSeenKey(slug)) others.push(k);
    }
    for (const k of others) s.removeItem(k);
    storage.setItem(lastSeenKey(slug), text);
    return true;
  } catch {
    return false;
  }
}
