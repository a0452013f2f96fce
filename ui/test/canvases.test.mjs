// The pure parts of the canvases pages: which canvas a URL names (slug,
// position, invite), the URLs that follow, share links, the creator-key
// storage, the lobby's list model, the new canvas form's checks and
// error wording, time ago.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canvasEndpoints, parseCanvasLocation, shareLink, viewAt, viewCentre, withQuery } from '../static/js/lib/canvasref.js';
import { loadOwned, PREFIX, saveOwned } from '../static/js/lib/owned.js';
import { activityText, canvasList, checkNewCanvas, createErrorText, describeCanvas, lobbyQuery, retryText, thumbScale } from '../static/js/lib/lobby.js';
import { timeAgo } from '../static/js/lib/format.js';
import { withSince } from '../static/js/lib/endpoints.js';

const INV = 'AbCdEfGhIjKlMnOpQrSt_-';

test('parseCanvasLocation: main, slugs, invites, positions', () => {
  assert.deepEqual(parseCanvasLocation('/', ''), { slug: 'main', main: true, invite: null, position: null });
  assert.deepEqual(parseCanvasLocation('/index.html', '?x=3&y=4'), { slug: 'main', main: true, invite: null, position: { x: 3, y: 4, zoom: null } });
  assert.deepEqual(parseCanvasLocation('/c/night-sky', `?invite=${INV}&x=10&y=20&zoom=8`),
    { slug: 'night-sky', main: false, invite: INV, position: { x: 10, y: 20, zoom: 8 } });
  assert.equal(parseCanvasLocation('/c/night-sky/', '').slug, 'night-sky');
  // /c/main is main by name, on the per-canvas endpoints.
  assert.deepEqual(parseCanvasLocation('/c/main', ''), { slug: 'main', main: false, invite: null, position: null });
  for (const bad of ['/c/Night', '/c/-a', '/c/a--b', '/c/', '/c/a%20b', '/c/%E0%A4%A', `/c/${'a'.repeat(49)}`]) {
    assert.equal(parseCanvasLocation(bad, '').slug, null, bad);
  }
  // Junk in the query is ignored, never trusted.
  assert.equal(parseCanvasLocation('/c/a', '?invite=<script>').invite, null);
  assert.equal(parseCanvasLocation('/c/a', '?x=1').position, null);
  assert.equal(parseCanvasLocation('/c/a', '?x=-1&y=2').position, null);
  assert.deepEqual(parseCanvasLocation('/c/a', '?x=1&y=2&zoom=abc').position, { x: 1, y: 2, zoom: null });
  assert.deepEqual(parseCanvasLocation('/c/a', '?x=1&y=2&zoom=999').position, { x: 1, y: 2, zoom: 80 });
  assert.deepEqual(parseCanvasLocation('/c/a', '?x=1&y=2&zoom=0.0001').position, { x: 1, y: 2, zoom: null });
  assert.deepEqual(parseCanvasLocation('/c/a', '?x=1&y=2&zoom=0.01').position, { x: 1, y: 2, zoom: 0.05 });
});

test('canvasEndpoints: main keeps the old endpoints, others go per canvas', () => {
  const ep = { wsUrl: 'ws://h/ws', apiBase: 'http://h' };
  const m = canvasEndpoints(ep, { slug: 'main', main: true }, null);
  assert.equal(m.wsUrl, 'ws://h/ws');
  assert.equal(m.rest('canvas/raw'), 'http://h/api/canvas/raw');
  assert.equal(m.rest('pixel/3/4'), 'http://h/api/pixel/3/4');
  assert.equal(m.info, null);
  const c = canvasEndpoints(ep, { slug: 'night-sky', main: false }, null);
  assert.equal(c.wsUrl, 'ws://h/ws?canvas=night-sky');
  assert.equal(withSince(c.wsUrl, 12), 'ws://h/ws?canvas=night-sky&since=12');
  assert.equal(c.rest('canvas/raw'), 'http://h/api/canvases/night-sky/canvas/raw');
  assert.equal(c.info, 'http://h/api/canvases/night-sky');
  const p = canvasEndpoints(ep, { slug: 'secret', main: false }, INV);
  assert.equal(p.wsUrl, `ws://h/ws?canvas=secret&invite=${INV}`);
  assert.equal(withSince(withSince(p.wsUrl, 1), 7), `ws://h/ws?canvas=secret&invite=${INV}&since=7`);
  assert.equal(p.rest('pixel/1/2'), `http://h/api/canvases/secret/pixel/1/2?invite=${INV}`);
  assert.equal(p.info, `http://h/api/canvases/secret?invite=${INV}`);
  assert.equal(withQuery('/a?b=1', { c: 'x y', d: null, e: '' }), '/a?b=1&c=x%20y');
});

test('positions: the view centre for a link, and the view a link opens', () => {
  const stage = { w: 800, h: 600 };
  const canvas = { width: 100, height: 50 };
  const v = viewAt({ x: 10, y: 20, zoom: 8 }, 4, stage);
  assert.deepEqual(v, { scale: 8, ox: 316, oy: 136 });
  assert.deepEqual(viewCentre(v, stage, canvas), { x: 10, y: 20, zoom: 8 });
  assert.equal(viewAt({ x: 10, y: 20, zoom: null }, 4, stage).scale, 4);
  // Outside the canvas: clamped to it.
  assert.deepEqual(viewCentre({ scale: 2, ox: 2000, oy: -5000 }, stage, canvas), { x: 0, y: 49, zoom: 2 });
  assert.equal(viewCentre({ scale: 3.14159, ox: 0, oy: 0 }, stage, canvas).zoom, 3.14);
  assert.equal(shareLink('https://p.example', { slug: 'main', main: true }, { x: 1, y: 2, zoom: 4 }, INV), 'https://p.example/?x=1&y=2&zoom=4');
  assert.equal(shareLink('https://p.example', { slug: 'night-sky', main: false }, { x: 1, y: 2, zoom: 4 }, null), 'https://p.example/c/night-sky?x=1&y=2&zoom=4');
  assert.equal(shareLink('https://p.example', { slug: 's', main: false }, { x: 1, y: 2, zoom: 0.5 }, INV), `https://p.example/c/s?invite=${INV}&x=1&y=2&zoom=0.5`);
  // A shared link reads back as the same place.
  const back = parseCanvasLocation('/c/s', `?invite=${INV}&x=1&y=2&zoom=0.5`);
  assert.deepEqual([back.slug, back.invite, back.position], ['s', INV, { x: 1, y: 2, zoom: 0.5 }]);
});

function memoryStorage() {
  const m = new Map();
  return {
    map: m,
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => { m.set(k, String(v)); },
    removeItem: (k) => { m.delete(k); },
  };
}

test('creator keys and invites are kept per slug, validated on read', () => {
  const s = memoryStorage();
  assert.deepEqual(loadOwned(s, 'a'), { creatorKey: null, invite: null });
  assert.equal(saveOwned(s, 'a', { creatorKey: 'K'.repeat(22), invite: null }), true);
  assert.equal(saveOwned(s, 'a', { invite: INV }), true);
  assert.deepEqual(loadOwned(s, 'a'), { creatorKey: 'K'.repeat(22), invite: INV });
  assert.deepEqual(loadOwned(s, 'b'), { creatorKey: null, invite: null });
  // A bad token is not stored; null forgets; nothing left removes the entry.
  saveOwned(s, 'a', { invite: 'no spaces allowed' });
  assert.equal(loadOwned(s, 'a').invite, INV);
  saveOwned(s, 'a', { creatorKey: null, invite: null });
  assert.equal(s.map.has(PREFIX + 'a'), false);
  // Junk in storage reads as nothing.
  s.setItem(PREFIX + 'c', '{"creatorKey": "<img>", "invite": 5}');
  assert.deepEqual(loadOwned(s, 'c'), { creatorKey: null, invite: null });
  s.setItem(PREFIX + 'd', 'not json');
  assert.deepEqual(loadOwned(s, 'd'), { creatorKey: null, invite: null });
  // No storage, or a bad slug: nothing, and no throw.
  assert.deepEqual(loadOwned(null, 'a'), { creatorKey: null, invite: null });
  assert.equal(saveOwned(null, 'a', { invite: INV }), false);
  assert.equal(saveOwned(s, '../x', { invite: INV }), false);
  const throwing = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); }, removeItem() {} };
  assert.deepEqual(loadOwned(throwing, 'a'), { creatorKey: null, invite: null });
  assert.equal(saveOwned(throwing, 'a', { invite: INV }), false);
});

test('the lobby list: validated, most recently active first', () => {
  const list = canvasList({ canvases: [
    { slug: 'old', name: 'Old', width: 10, height: 10, online: 0, lastActivity: 1000 },
    { slug: 'new', name: 'New <b>one</b>', width: 256, height: 128, online: 3, lastActivity: 5000 },
    { slug: 'never', name: 'Never', width: 5, height: 5, lastActivity: 0 },
    { slug: 'Bad Slug', name: 'x', width: 1, height: 1 },
    { slug: 'nosize', name: 'x', width: 0, height: 1 },
    { slug: 'new', name: 'dup', width: 1, height: 1 },
    { slug: 'hidden', name: 'x', width: 1, height: 1, private: true },
    null, 'junk',
  ] });
  assert.deepEqual(list.map((c) => c.slug), ['new', 'old', 'never']);
  assert.equal(list[0].name, 'New <b>one</b>');
  assert.equal(list[2].online, 0);
  assert.deepEqual(canvasList(null), []);
  assert.deepEqual(canvasList({ canvases: 'x' }), []);
  const d = describeCanvas(list[0], 5000 + 180000, 'http://api');
  assert.deepEqual(d, {
    href: '/c/new', name: 'New <b>one</b>', size: '256 × 128', online: '3 online', active: 'active 3 min ago',
    thumb: 'http://api/api/canvases/new/canvas.png?scale=1', thumbWidth: 256, thumbHeight: 128,
  });
  assert.equal(activityText(0, 1), 'no drawing yet');
  assert.equal(describeCanvas(list[2], 0, '').online, 'nobody drawing');
  assert.equal(thumbScale(10, 10), 10);
  assert.equal(thumbScale(50, 20), 2);
  assert.equal(thumbScale(1, 1), 16);
  assert.equal(thumbScale(4096, 4096), 1);
  assert.equal(lobbyQuery('?q=%20sky%20'), 'sky');
  assert.equal(lobbyQuery(''), '');
});

test('time ago', () => {
  const now = 10_000_000;
  assert.equal(timeAgo(now - 2000, now), 'just now');
  assert.equal(timeAgo(now - 30000, now), '30 s ago');
  assert.equal(timeAgo(now - 3 * 60000, now), '3 min ago');
  assert.equal(timeAgo(now - 5 * 3600000, now), '5 h ago');
  assert.equal(timeAgo(now - 2 * 86400000, now), '2 d ago');
  assert.equal(timeAgo(NaN, now), '');
});

test('the new canvas form: checks and what refusals say', () => {
  assert.deepEqual(checkNewCanvas({ name: ' Night Sky ', width: '', height: '100', private: true }),
    { ok: true, body: { name: 'Night Sky', width: 256, height: 100, private: true } });
  assert.equal(checkNewCanvas({ name: '  ', width: '1', height: '1', private: false }).field, 'name');
  assert.equal(checkNewCanvas({ name: 'x'.repeat(41), width: '1', height: '1', private: false }).field, 'name');
  assert.equal(checkNewCanvas({ name: '🎨'.repeat(40), width: '1', height: '1', private: false }).ok, true);
  assert.equal(checkNewCanvas({ name: 'a', width: '0', height: '1', private: false }).field, 'width');
  assert.equal(checkNewCanvas({ name: 'a', width: '1', height: '4097', private: false }).field, 'height');
  assert.equal(checkNewCanvas({ name: 'a', width: '1.5', height: '1', private: false }).field, 'width');
  assert.equal(createErrorText(400, { error: 'Invalid canvas size: at most 1024' }, null), 'Invalid canvas size: at most 1024');
  assert.equal(createErrorText(429, { error: 'x' }, '300'), 'Too many new canvases for now: try again in 5 min.');
  assert.equal(createErrorText(429, null, null), 'Too many new canvases for now: try again later.');
  assert.equal(createErrorText(503, null, '1'), 'The server is not answering; try again in a moment.');
  assert.equal(retryText(30), 'try again in 30 s');
  assert.equal(retryText(3600), 'try again in 1 h');
});
