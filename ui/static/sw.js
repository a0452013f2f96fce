// @ts-check
// The service worker: keeps the page's own files so that opening or
// reloading the page while the server is down shows the page and its
// outage state rather than the browser's error page. The rules are in
// js/lib/offline.js (module worker); the API and the WebSocket are never
// cached or answered here. Registered by js/ui/offline.js.
/// <reference lib="webworker" />

import { CACHE_NAME, SHELL_FILES, route, staleCache, usableAnswer } from './js/lib/offline.js';

const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

sw.addEventListener('install', (event) => {
  // `cache: 'no-cache'` revalidates with the server, so an install never
  // keeps what the browser's HTTP cache had from an older deployment.
  event.waitUntil(
    caches.open(CACHE_NAME)
      .then((cache) => cache.addAll(SHELL_FILES.map((f) => new Request(new URL(f, sw.location.origin).href, { cache: 'no-cache' }))))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter(staleCache).map((n) => caches.delete(n))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const r = route({ url: event.request.url, method: event.request.method, mode: event.request.mode }, sw.location.origin);
  if (r.how === 'pass') return;
  const key = r.how === 'page' ? r.fallback : new URL(event.request.url).pathname;
  event.respondWith(networkFirst(event.request, key));
});

/**
 * @param {Request} request
 * @param {string} key the cache entry that stands for it (a good answer is kept there)
 */
async function networkFirst(request, key) {
  let res = null;
  try {
    res = await fetch(request);
  } catch {
    res = null;
  }
  if (res && usableAnswer(res)) {
    if (res.ok && res.type === 'basic') {
      const copy = res.clone();
      caches.open(CACHE_NAME).then((c) => c.put(key, copy)).catch(() => {});
    }
    return res;
  }
  const cached = await caches.match(key, { cacheName: CACHE_NAME });
  if (cached) return cached;
  return res || Response.error();
}
