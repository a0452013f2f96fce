// @ts-check
// Which canvas a page shows, read from its URL, and the URLs that follow
// from it (docs/canvases.md, "The pages"). `/` is the canvas `main` on the
// old endpoints, exactly as before; `/c/{slug}` is any canvas, on
// `/ws?canvas={slug}` and `/api/canvases/{slug}/...`; `?invite=` opens a
// private one and `?x=&y=&zoom=` a position. No DOM access.

export const MAIN = 'main';

/** Slugs as the server makes them: a-z, 0-9, single inner hyphens, 1-48 bytes. */
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_SLUG = 48;
/** Invite and creator tokens: base64url (the server's are 22 characters). */
const TOKEN = /^[A-Za-z0-9_-]{8,128}$/;
/** The zoom a link may ask for: CSS pixels per canvas pixel. */
export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 80;

/**
 * @typedef {object} Position
 * @property {number} x canvas pixel at the centre of the view
 * @property {number} y
 * @property {number|null} zoom CSS pixels per canvas pixel; null: keep the fitted zoom
 */

/**
 * @typedef {object} CanvasRef
 * @property {string|null} slug null: the path names no valid canvas (the page says "not found")
 * @property {boolean} main the canvas `main` on the old endpoints (path `/`)
 * @property {string|null} invite from `?invite=`
 * @property {Position|null} position from `?x=&y=&zoom=`
 */

/** @param {string} s */
export function isSlug(s) {
  return typeof s === 'string' && s.length <= MAX_SLUG && SLUG.test(s);
}

/** @param {unknown} s */
export function isToken(s) {
  return typeof s === 'string' && TOKEN.test(s);
}

/**
 * @param {string} pathname location.pathname
 * @param {string} search location.search
 * @returns {CanvasRef}
 */
export function parseCanvasLocation(pathname, search) {
  const q = new URLSearchParams(search || '');
  const invite = q.get('invite');
  const position = parsePosition(q);
  const m = /^\/c\/([^/]*)\/?$/.exec(pathname || '/');
  if (!m) return { slug: MAIN, main: true, invite: null, position };
  let slug = m[1];
  try {
    slug = decodeURIComponent(slug);
  } catch {
    slug = '';
  }
  if (!isSlug(slug)) return { slug: null, main: false, invite: null, position: null };
  return { slug, main: false, invite: isToken(invite) ? invite : null, position };
}

/** @param {URLSearchParams} q @returns {Position|null} */
function parsePosition(q) {
  const int = (/** @type {string|null} */ v) => (v !== null && /^\d{1,5}$/.test(v) ? Number(v) : null);
  const x = int(q.get('x'));
  const y = int(q.get('y'));
  if (x === null || y === null) return null;
  const z = q.get('zoom');
  let zoom = z !== null && /^\d{1,3}(\.\d{1,3})?$/.test(z) ? Number(z) : null;
  if (zoom !== null) zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
  return { x, y, zoom };
}

/**
 * @param {string} url
 * @param {Record<string, string|null|undefined>} params added in this order, empty ones left out
 */
export function withQuery(url, params) {
  const parts = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(/** @type {string} */ (v))}`);
  if (!parts.length) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${parts.join('&')}`;
}

/**
 * Where this canvas is served. For `main`: the old endpoints, untouched.
 * @param {{wsUrl: string, apiBase: string}} endpoints lib/endpoints.js
 * @param {{slug: string, main: boolean}} ref
 * @param {string|null} invite
 * @returns {{wsUrl: string, rest: (path: string) => string, info: string|null}}
 *   rest('canvas/raw'), rest('pixel/3/4'): a canvas endpoint; info: GET the canvas (null for main)
 */
export function canvasEndpoints(endpoints, ref, invite) {
  const { wsUrl, apiBase } = endpoints;
  if (ref.main) return { wsUrl, rest: (path) => `${apiBase}/api/${path}`, info: null };
  const base = `${apiBase}/api/canvases/${encodeURIComponent(ref.slug)}`;
  const inv = { invite };
  return {
    wsUrl: withQuery(wsUrl, { canvas: ref.slug, invite }),
    rest: (path) => withQuery(`${base}/${path}`, inv),
    info: withQuery(base, inv),
  };
}

/**
 * The canvas pixel at the centre of the view, and the zoom, for a link.
 * @param {{scale: number, ox: number, oy: number}} view
 * @param {{w: number, h: number}} stage CSS pixels
 * @param {{width: number, height: number}} canvas
 * @returns {Position}
 */
export function viewCentre(view, stage, canvas) {
  const clamp = (/** @type {number} */ v, /** @type {number} */ n) => Math.min(n - 1, Math.max(0, Math.floor(v)));
  return {
    x: clamp((stage.w / 2 - view.ox) / view.scale, canvas.width),
    y: clamp((stage.h / 2 - view.oy) / view.scale, canvas.height),
    zoom: Math.round(Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view.scale)) * 100) / 100,
  };
}

/**
 * The view that puts a position's pixel at the centre of the stage.
 * @param {Position} pos
 * @param {number} fittedScale the zoom when the link has none
 * @param {{w: number, h: number}} stage
 */
export function viewAt(pos, fittedScale, stage) {
  const scale = pos.zoom ?? fittedScale;
  return { scale, ox: Math.round(stage.w / 2 - (pos.x + 0.5) * scale), oy: Math.round(stage.h / 2 - (pos.y + 0.5) * scale) };
}

/**
 * The link to a spot: `/c/{slug}?x=&y=&zoom=` (`/?x=…` for main), with the
 * invite for a private canvas.
 * @param {string} origin location.origin
 * @param {{slug: string, main: boolean}} ref
 * @param {Position} pos
 * @param {string|null} invite
 */
export function shareLink(origin, ref, pos, invite) {
  const path = ref.main ? '/' : `/c/${encodeURIComponent(ref.slug)}`;
  return withQuery(`${origin}${path}`, {
    ...(ref.main ? {} : { invite }),
    x: String(pos.x), y: String(pos.y), zoom: pos.zoom === null ? null : String(pos.zoom),
  });
}
