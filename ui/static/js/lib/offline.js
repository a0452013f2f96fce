// @ts-check
// What the service worker (/sw.js) does with each request, as pure
// decisions it imports. The page's own files are kept in a versioned cache
// so that a reload while the server is down still opens the page, which
// then says the server cannot be reached (and keeps trying) instead of the
// browser's error page. The API, the WebSocket and /config.js's siblings on
// the server are never touched: live updates go to the network as if there
// were no worker (a WebSocket never passes through one anyway).
// Every file is fetched from the network first and the cache is only the
// answer when the network fails, so an online page never runs an old
// deployment's code.

/** Bump when the caching rules change; old caches are deleted on activation. */
export const CACHE_VERSION = 1;
export const CACHE_PREFIX = 'pixelplayground-shell-';
export const CACHE_NAME = `${CACHE_PREFIX}v${CACHE_VERSION}`;

/**
 * Every file the page and the lobby need, fetched when the worker installs
 * (the first visit's files were loaded before the worker existed).
 * ui/test/offline.test.mjs checks it lists every file under ui/static.
 */
export const SHELL_FILES = Object.freeze([
  '/index.html', '/canvases.html', '/config.js', '/favicon.svg', '/manifest.webmanifest',
  '/icons/icon-192.png', '/icons/icon-512.png', '/icons/maskable-512.png', '/icons/apple-touch-icon.png',
  '/css/app.css', '/css/features.css',
  '/js/boot.js', '/js/main.js', '/js/app.js', '/js/lobby-main.js',
  ...['announcer', 'backoff', 'board', 'canvasref', 'catchup', 'color', 'connection', 'cursors', 'endpoints', 'format',
    'guide', 'http', 'lastseen', 'line', 'lobby', 'minimap', 'offline', 'outbox', 'owncursor', 'owned', 'pixelinfo', 'prefs',
    'presence', 'presencetext', 'protocol', 'quota', 'session', 'settings', 'shortcuts', 'snapshot', 'status', 'sync', 'template',
    'touchgesture', 'viewport', 'writes'].map((n) => `/js/lib/${n}.js`),
  ...['artists', 'canvaspage', 'controls', 'cursorlayer', 'guide', 'hovercard', 'input', 'keyboard', 'keycursor',
    'lastseen', 'lifecycle', 'lobby', 'minimap', 'offline', 'overlay', 'painter', 'panels', 'pendingmarks', 'quotaring', 'renderer', 'statusbar',
    'template', 'testhook', 'tools', 'view'].map((n) => `/js/ui/${n}.js`),
]);

/** Paths that belong to the server's live side, never answered from a cache. */
const LIVE_PREFIXES = ['/api/', '/ws', '/health', '/ready', '/metrics'];

/**
 * How the worker handles a request.
 * - `pass`: not at all (the browser fetches it as if there were no worker)
 * - `page`: a page (/, /c/{slug}, /canvases): the network, else the cached page
 * - `file`: one of the UI's files: the network (and keep the answer), else the cache
 * @param {{url: string, method: string, mode: string}} req
 * @param {string} origin the worker's origin
 * @returns {{how: 'pass'}|{how: 'page', fallback: string}|{how: 'file'}}
 */
export function route(req, origin) {
  if (req.method !== 'GET') return { how: 'pass' };
  let u;
  try {
    u = new URL(req.url);
  } catch {
    return { how: 'pass' };
  }
  if (u.origin !== origin) return { how: 'pass' };
  const path = u.pathname;
  if (LIVE_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) return { how: 'pass' };
  if (req.mode === 'navigate' || path === '/' || path.startsWith('/c/') || path === '/canvases') {
    if (path === '/canvases' || path === '/canvases.html') return { how: 'page', fallback: '/canvases.html' };
    if (path === '/' || path === '/index.html' || /^\/c\/[^/]+$/.test(path)) return { how: 'page', fallback: '/index.html' };
    return { how: 'pass' };
  }
  if (path === '/sw.js') return { how: 'pass' };
  return { how: 'file' };
}

/**
 * A network answer the worker may use as it is. A page answered with a
 * server error (a proxy's 502 while the server restarts) is no better than
 * none: the cached page, which knows how to wait for the server, is.
 * @param {{status: number, type?: string}|null} res
 */
export function usableAnswer(res) {
  return !!res && res.status < 500;
}

/** Whether a cache of that name is an older version of ours (deleted on activation). @param {string} name */
export function staleCache(name) {
  return name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME;
}
