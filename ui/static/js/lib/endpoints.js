// @ts-check
// Where the API and the WebSocket live. /config.js may leave either empty
// (same origin), give an absolute URL (a separate gateway or api service), or
// be missing altogether (the page served by a plain static server), and the
// client must still find its way.

/**
 * @param {{WS_URL?: string, API_URL?: string}|undefined} config window.APP_CONFIG
 * @param {{protocol: string, host: string, origin: string}} location the page's location
 * @returns {{wsUrl: string, apiBase: string}} apiBase has no trailing slash and no /api
 */
export function resolveEndpoints(config, location) {
  const cfg = config && typeof config === 'object' ? config : {};
  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let wsUrl = typeof cfg.WS_URL === 'string' ? cfg.WS_URL.trim() : '';
  if (!wsUrl) {
    wsUrl = `${wsScheme}//${location.host}/ws`;
  } else if (/^https?:\/\//i.test(wsUrl)) {
    wsUrl = wsUrl.replace(/^http/i, 'ws');
  } else if (wsUrl.startsWith('/')) {
    wsUrl = `${wsScheme}//${location.host}${wsUrl}`;
  } else if (!/^wss?:\/\//i.test(wsUrl)) {
    wsUrl = `${wsScheme}//${wsUrl}`;
  }
  let apiBase = typeof cfg.API_URL === 'string' ? cfg.API_URL.trim() : '';
  if (!apiBase) apiBase = location.origin;
  else if (apiBase.startsWith('/')) apiBase = location.origin + apiBase;
  apiBase = apiBase.replace(/\/+$/, '');
  // Tolerate an operator who wrote the old-style value with /api at the end.
  apiBase = apiBase.replace(/\/api$/, '');
  return { wsUrl, apiBase };
}

/**
 * The WebSocket URL with ?since=N (resume) and, if known, &epoch=E (the
 * timeline N is on), keeping any other query it had.
 * @param {string} wsUrl
 * @param {number|null|undefined} since
 * @param {string|null} [epoch]
 */
export function withSince(wsUrl, since, epoch = null) {
  if (since === null || since === undefined) return wsUrl;
  const hashAt = wsUrl.indexOf('#');
  const base = hashAt >= 0 ? wsUrl.slice(0, hashAt) : wsUrl;
  const drop = (/** @type {string} */ u, /** @type {string} */ name) =>
    u.replace(new RegExp(`([?&])${name}=[^&]*(&|$)`), (_, pre, post) => (post ? pre : '')).replace(/[?&]$/, '');
  const cleaned = drop(drop(base, 'since'), 'epoch');
  const resume = epoch ? `since=${since}&epoch=${encodeURIComponent(epoch)}` : `since=${since}`;
  return `${cleaned}${cleaned.includes('?') ? '&' : '?'}${resume}`;
}
