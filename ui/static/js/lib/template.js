// @ts-check
// Templates: an image a person lays over the canvas as a guide, the way
// r/place communities coordinate. Only this browser sees it; nothing of it
// is ever sent. This is the pure part: where it sits (kept per canvas in
// localStorage, validated on read), which canvas pixel shows which template
// pixel, and "the next pixel that differs from the template". The image
// itself is read by the page (ui/template.js) into RGBA bytes.

/** @typedef {{x: number, y: number, scale: number, opacity: number, visible: boolean, source: string, name: string}} Placement */
/** @typedef {{width: number, height: number, data: Uint8ClampedArray|Uint8Array}} TemplateImage RGBA, row-major */

/** The scales offered (template pixels per canvas pixel is 1/scale). */
export const SCALES = Object.freeze([0.125, 0.25, 0.5, 1, 2, 3, 4, 8]);
/** A template pixel at least this opaque counts; fainter ones are "no opinion". */
export const OPAQUE_ALPHA = 128;
/** A file kept in localStorage as a data: URL may be at most this long (localStorage holds ~5 MB per origin). */
export const MAX_STORED_SOURCE = 1_500_000;

/** @param {string} slug */
export const storageKey = (slug) => `pixelPlayground.template.${slug}`;

/**
 * A placement read from anywhere (storage, a form) made safe, or null.
 * @param {any} raw
 * @returns {Placement|null}
 */
export function normalizePlacement(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const source = typeof raw.source === 'string' ? raw.source : '';
  if (!source || !(source.startsWith('data:image/') || source.startsWith('/'))) return null;
  const int = (v) => (Number.isFinite(v) ? Math.max(-100000, Math.min(100000, Math.round(v))) : 0);
  const scale = SCALES.includes(raw.scale) ? raw.scale : 1;
  const opacity = Number.isFinite(raw.opacity) ? Math.max(0.1, Math.min(1, raw.opacity)) : 0.5;
  const name = typeof raw.name === 'string' ? raw.name.slice(0, 80) : '';
  return { x: int(raw.x), y: int(raw.y), scale, opacity, visible: raw.visible !== false, source, name };
}

/**
 * @param {{getItem(k: string): string|null}|null} storage
 * @param {string} slug
 * @returns {Placement|null}
 */
export function loadPlacement(storage, slug) {
  try {
    const text = storage ? storage.getItem(storageKey(slug)) : null;
    return text ? normalizePlacement(JSON.parse(text)) : null;
  } catch {
    return null;
  }
}

/**
 * Keep the placement for this canvas; a data: URL too long to keep is
 * refused (the template is then shown for this visit only).
 * @param {{setItem(k: string, v: string): void, removeItem?(k: string): void}|null} storage
 * @param {string} slug
 * @param {Placement|null} p null forgets it
 * @returns {boolean} kept
 */
export function savePlacement(storage, slug, p) {
  try {
    if (!storage) return false;
    if (!p) {
      if (storage.removeItem) storage.removeItem(storageKey(slug));
      return true;
    }
    if (p.source.length > MAX_STORED_SOURCE) return false;
    storage.setItem(storageKey(slug), JSON.stringify(p));
    return true;
  } catch {
    return false;
  }
}

/**
 * A template address typed by the user: a path on this page's origin
 * (absolute or relative to it), or an error saying why not. Another origin
 * is refused: the page's policy would block it anyway, and a template from
 * elsewhere could not be read pixel by pixel.
 * @param {string} input
 * @param {string} origin e.g. https://pixels.example
 * @returns {{path: string}|{error: string}}
 */
export function sameOriginPath(input, origin) {
  const text = String(input || '').trim();
  if (!text) return { error: 'Type the address of an image on this site, e.g. /templates/logo.png' };
  let u;
  try {
    u = new URL(text, origin + '/');
  } catch {
    return { error: 'That is not an address.' };
  }
  if (u.origin !== origin) return { error: 'Only images from this site can be used (the browser refuses others).' };
  return { path: u.pathname + u.search };
}

/**
 * The canvas area a placed template covers, clipped to the canvas.
 * @param {TemplateImage} img @param {Placement} p @param {number} width @param {number} height
 */
export function coveredRect(img, p, width, height) {
  const x0 = Math.max(0, p.x);
  const y0 = Math.max(0, p.y);
  const x1 = Math.min(width, p.x + Math.ceil(img.width * p.scale));
  const y1 = Math.min(height, p.y + Math.ceil(img.height * p.scale));
  return { x0, y0, x1: Math.max(x0, x1), y1: Math.max(y0, y1) };
}

/**
 * The colour the template wants at canvas pixel (x, y), 0xRRGGBB, or null
 * where it has no opinion (outside it, or a transparent pixel). With a
 * scale below 1 a canvas pixel shows the template pixel at its top-left.
 * @param {TemplateImage} img @param {Placement} p @param {number} x @param {number} y
 * @returns {number|null}
 */
export function wantedAt(img, p, x, y) {
  const tx = Math.floor((x - p.x) / p.scale);
  const ty = Math.floor((y - p.y) / p.scale);
  if (tx < 0 || ty < 0 || tx >= img.width || ty >= img.height) return null;
  const i = (ty * img.width + tx) * 4;
  if (img.data[i + 3] < OPAQUE_ALPHA) return null;
  return (img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2];
}

/**
 * The next canvas pixel, in reading order after `after` (from the top left
 * of the template when `after` is outside it), wrapping around once, whose colour differs from what the
 * template wants; null when every pixel it covers matches.
 * @param {TemplateImage} img @param {Placement} p
 * @param {{width: number, height: number}} canvas
 * @param {(x: number, y: number) => number} colorAt the board's colour, 0xRRGGBB
 * @param {{x: number, y: number}|null} after
 * @returns {{x: number, y: number, want: number}|null}
 */
export function nextWrongPixel(img, p, canvas, colorAt, after) {
  const r = coveredRect(img, p, canvas.width, canvas.height);
  const w = r.x1 - r.x0;
  const n = w * (r.y1 - r.y0);
  if (n === 0) return null;
  let start = 0;
  if (after && after.x >= r.x0 && after.x < r.x1 && after.y >= r.y0 && after.y < r.y1) {
    start = (after.y - r.y0) * w + (after.x - r.x0) + 1;
  }
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    const x = r.x0 + (i % w);
    const y = r.y0 + Math.floor(i / w);
    const want = wantedAt(img, p, x, y);
    if (want !== null && colorAt(x, y) !== want) return { x, y, want };
  }
  return null;
}

/**
 * How many pixels the template covers with an opinion, and how many of
 * them are right.
 * @param {TemplateImage} img @param {Placement} p
 * @param {{width: number, height: number}} canvas
 * @param {(x: number, y: number) => number} colorAt
 */
export function progress(img, p, canvas, colorAt) {
  const r = coveredRect(img, p, canvas.width, canvas.height);
  let total = 0;
  let right = 0;
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0; x < r.x1; x++) {
      const want = wantedAt(img, p, x, y);
      if (want === null) continue;
      total++;
      if (colorAt(x, y) === want) right++;
    }
  }
  return { total, right };
}
