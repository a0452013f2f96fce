// The service worker (static/sw.js) run under node with a fake worker
// scope, Cache Storage and network: what it answers from where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CACHE_NAME, SHELL_FILES } from '../static/js/lib/offline.js';

const O = 'https://px.example';
const listeners = {};
/** name -> Map(path -> Response) */
const stores = new Map();
const pathOf = (k) => new URL(typeof k === 'string' ? k : k.url, O).pathname;
globalThis.caches = {
  async open(name) {
    if (!stores.has(name)) stores.set(name, new Map());
    const m = stores.get(name);
    return {
      async addAll(reqs) {
        for (const r of reqs) {
          const res = await globalThis.fetch(r);
          if (!res.ok) throw new TypeError(`addAll: ${res.status}`);
          m.set(pathOf(r), res);
        }
      },
      async put(k, res) { m.set(pathOf(k), res); },
      async keys() { return [...m.keys()]; },
    };
  },
  async keys() { return [...stores.keys()]; },
  async delete(name) { return stores.delete(name); },
  async match(k, { cacheName }) {
    const m = stores.get(cacheName);
    const r = m && m.get(pathOf(k));
    return r ? r.clone() : undefined;
  },
};
/** What the network does: a function of the path; null = unreachable. */
let network = (path) => new Response(`fresh ${path}`, { status: 200 });
const fetched = [];
globalThis.fetch = async (req) => {
  const path = pathOf(req);
  fetched.push(path);
  const r = network(path);
  if (!r) throw new TypeError('Failed to fetch');
  // A same-origin answer is "basic" to a worker.
  Object.defineProperty(r, 'type', { value: 'basic' });
  return r;
};
globalThis.self = {
  addEventListener: (type, f) => { listeners[type] = f; },
  location: { origin: O },
  skipWaiting: async () => {},
  clients: { claim: async () => {} },
};
await import('../static/sw.js');

/** Run an extendable event; resolves when everything it waits for is done. */
async function extendable(type) {
  let wait = Promise.resolve();
  listeners[type]({ waitUntil: (p) => { wait = p; } });
  await wait;
}

/** A fetch event: the worker's answer's text, or null when it let the browser fetch it. */
async function request(path, { mode = 'no-cors', method = 'GET' } = {}) {
  let answer = null;
  listeners.fetch({ request: { url: O + path, method, mode }, respondWith: (p) => { answer = p; } });
  if (!answer) return null;
  const res = await answer;
  await new Promise((r) => setImmediate(r)); // the copy it keeps
  return res.type === 'error' ? 'network error' : `${res.status} ${await res.text()}`;
}

test('install keeps every file of the page; activation drops older versions only', async () => {
  stores.set('pixelplayground-shell-v0', new Map([['/index.html', new Response('old')]]));
  stores.set('someone-else', new Map());
  await extendable('install');
  assert.deepEqual((await (await caches.open(CACHE_NAME)).keys()).sort(), [...SHELL_FILES].sort());
  await extendable('activate');
  assert.deepEqual([...stores.keys()].sort(), [CACHE_NAME, 'someone-else'].sort());
});

test('online: everything comes from the network, and the cache is refreshed', async () => {
  network = (path) => new Response(`v2 ${path}`, { status: 200 });
  assert.equal(await request('/js/app.js'), '200 v2 /js/app.js');
  assert.equal(await request('/', { mode: 'navigate' }), '200 v2 /');
  network = () => null;
  assert.equal(await request('/js/app.js'), '200 v2 /js/app.js'); // what it kept, not the install's
});

test('the server down: pages and files from the cache', async () => {
  network = () => null;
  assert.equal(await request('/', { mode: 'navigate' }), '200 v2 /');
  assert.match(await request('/c/night-sky?invite=x', { mode: 'navigate' }), /^200 /);
  assert.match(await request('/canvases', { mode: 'navigate' }), /^200 fresh \/canvases.html/);
  assert.match(await request('/css/features.css'), /^200 /);
  assert.equal(await request('/js/not-a-file.js'), 'network error');
});

test('a page answered with a 5xx (a proxy while the server restarts) is the cached page; a 404 is a 404', async () => {
  network = (path) => new Response('bad gateway', { status: path === '/' ? 502 : 404 });
  assert.equal(await request('/', { mode: 'navigate' }), '200 v2 /');
  assert.equal(await request('/c/nope', { mode: 'navigate' }), '404 bad gateway');
  // Neither answer replaced the kept page.
  network = () => null;
  assert.equal(await request('/c/night-sky', { mode: 'navigate' }), '200 v2 /');
});

test('the API and the WebSocket are never answered nor kept', async () => {
  network = (path) => new Response(`live ${path}`, { status: 200 });
  const before = fetched.length;
  for (const p of ['/api/canvas/raw', '/api/pixel/1/1', '/ws?since=3', '/health', '/metrics']) {
    assert.equal(await request(p), null, p);
  }
  assert.equal(await request('/api/pixels', { method: 'PUT' }), null);
  assert.equal(fetched.length, before, 'the worker fetched nothing itself');
  const kept = await (await caches.open(CACHE_NAME)).keys();
  assert.deepEqual(kept.filter((k) => k.startsWith('/api') || k.startsWith('/ws')), []);
});
