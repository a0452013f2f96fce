import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { route, usableAnswer, staleCache, SHELL_FILES, CACHE_NAME } from '../static/js/lib/offline.js';

const O = 'https://px.example';
const get = (path, mode = 'no-cors') => route({ url: O + path, method: 'GET', mode }, O);

test('the API, the WebSocket and the operators\' endpoints are never answered by the worker', () => {
  for (const p of ['/api/canvas/raw', '/api/canvas', '/api/pixel/1/2', '/api/canvases/x/canvas/raw?invite=a', '/ws', '/ws?since=5',
    '/health', '/ready', '/metrics']) {
    assert.deepEqual(get(p), { how: 'pass' }, p);
    assert.deepEqual(get(p, 'navigate'), { how: 'pass' }, p);
  }
  assert.deepEqual(route({ url: O + '/js/app.js', method: 'POST', mode: 'cors' }, O), { how: 'pass' });
  assert.deepEqual(route({ url: 'https://api.elsewhere.example/js/app.js', method: 'GET', mode: 'cors' }, O), { how: 'pass' });
  assert.deepEqual(route({ url: 'not a url', method: 'GET', mode: 'cors' }, O), { how: 'pass' });
  assert.deepEqual(get('/sw.js'), { how: 'pass' });
});

test('pages fall back to the cached page, files to the cached file', () => {
  assert.deepEqual(get('/', 'navigate'), { how: 'page', fallback: '/index.html' });
  assert.deepEqual(get('/?x=1&y=2&zoom=4', 'navigate'), { how: 'page', fallback: '/index.html' });
  assert.deepEqual(get('/c/night-sky?invite=abc', 'navigate'), { how: 'page', fallback: '/index.html' });
  assert.deepEqual(get('/canvases', 'navigate'), { how: 'page', fallback: '/canvases.html' });
  assert.deepEqual(get('/nope/deeper', 'navigate'), { how: 'pass' });
  assert.deepEqual(get('/js/app.js'), { how: 'file' });
  assert.deepEqual(get('/config.js'), { how: 'file' });
  assert.deepEqual(get('/icons/icon-192.png'), { how: 'file' });
});

test('a server error is no answer; a 404 is', () => {
  assert.equal(usableAnswer(null), false);
  assert.equal(usableAnswer({ status: 502 }), false);
  assert.equal(usableAnswer({ status: 200 }), true);
  assert.equal(usableAnswer({ status: 404 }), true);
});

test('older caches of ours are deleted, others\' are left alone', () => {
  assert.equal(staleCache('pixelplayground-shell-v0'), true);
  assert.equal(staleCache(CACHE_NAME), false);
  assert.equal(staleCache('someone-else'), false);
});

test('the install list is exactly the UI\'s files (a new module cannot be forgotten)', () => {
  const root = fileURLToPath(new URL('../static/', import.meta.url));
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push('/' + relative(root, p).split('\\').join('/'));
    }
  };
  walk(root);
  const want = files.filter((f) => f !== '/sw.js').concat('/config.js').sort();
  assert.deepEqual([...SHELL_FILES].sort(), want);
});
