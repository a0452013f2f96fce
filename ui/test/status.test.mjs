// What the status bar says (lib/status.js), what keys mean (lib/shortcuts.js),
// the JSON snapshot's decoding (lib/snapshot.js) and our cursor for others
// (lib/owncursor.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionStatus, pendingText } from '../static/js/lib/status.js';
import { shortcutFor } from '../static/js/lib/shortcuts.js';
import { fetchSnapshot, snapshotFromJSON } from '../static/js/lib/snapshot.js';
import { OwnCursor } from '../static/js/lib/owncursor.js';

const base = {
  hasBoard: true, loadError: null, loadRetryAt: 0, connState: 'open', retryAt: null, phase: 'live', everLive: true, now: 1000,
  seq: 1, pending: 0, queued: 0,
};

test('connection status: each state, its words and whether the canvas may be out of date', () => {
  const rows = [
    [{ hasBoard: false, everLive: false }, 'connecting', 'Loading…', null],
    [{ hasBoard: false, loadError: 'HTTP 503', loadRetryAt: 4000, everLive: false }, 'error', "Can't load canvas · retry in 3.0 s", null],
    [{ phase: 'syncing', everLive: false }, 'syncing', 'Syncing…', null],
    [{}, 'live', 'Live', null],
    [{ phase: 'syncing' }, 'syncing', 'Syncing…', 'Catching up with changes made while you were away…'],
    [{ connState: 'waiting', retryAt: 3000, phase: 'down' }, 'waiting', 'Reconnecting in 2.0 s', 'Connection lost. The canvas may be out of date; your pixels will be sent when we reconnect.'],
    [{ connState: 'offline', phase: 'down' }, 'offline', 'Offline', 'You are offline. The canvas may be out of date; your pixels will be sent when you are back.'],
    [{ connState: 'connecting', phase: 'down' }, 'connecting', 'Reconnecting…', 'Connection lost. The canvas may be out of date; your pixels will be sent when we reconnect.'],
    [{ connState: 'connecting', phase: 'loading', everLive: false }, 'connecting', 'Connecting…', null],
  ];
  for (const [over, state, label, stale] of rows) {
    const s = connectionStatus({ ...base, ...over });
    assert.equal(s.state, state, JSON.stringify(over));
    assert.equal(s.label, label, JSON.stringify(over));
    assert.equal(s.staleText, stale, JSON.stringify(over));
  }
});

test('the pill is a button only while a retry is pending; countdowns refresh; the loading error is explained', () => {
  const w = connectionStatus({ ...base, connState: 'waiting', retryAt: 2000, phase: 'down' });
  assert.equal(w.tabIndex, 0);
  assert.equal(w.title, 'Connection lost. Click to retry now.');
  assert.equal(w.ariaLabel, 'Reconnecting in 1.0 s. Retry now');
  assert.equal(w.counting, true);
  const l = connectionStatus(base);
  assert.equal(l.tabIndex, -1);
  assert.equal(l.ariaLabel, 'Connection: Live');
  assert.equal(l.counting, false);
  const e = connectionStatus({ ...base, hasBoard: false, loadError: 'HTTP 500', loadRetryAt: 2000 });
  assert.equal(e.loadingText, "Can't load the canvas from the server (HTTP 500). Retrying…");
  // No developer words for a server that is not there.
  const down = connectionStatus({ ...base, hasBoard: false, loadError: 'Failed to fetch', loadRetryAt: 2000 });
  assert.equal(down.loadingText, "Can't reach the server. Retrying…");
  assert.equal(e.announce, 'error');
  assert.equal(e.counting, true);
  assert.equal(connectionStatus({ ...base, hasBoard: false }).announce, 'loading');
});

test('pending counter words', () => {
  assert.equal(pendingText(0, 0, true), '');
  assert.equal(pendingText(1, 0, true), '1 pixel sending');
  assert.equal(pendingText(5, 2, true), '5 pixels sending (2 queued)');
  assert.equal(pendingText(3, 3, false), '3 pixels waiting for connection');
});

test('shortcuts: keys, where the focus is, Shift for 10', () => {
  const free = { onCanvas: false, onControl: false };
  assert.deepEqual(shortcutFor('b', free), { type: 'tool', tool: 'brush' });
  assert.deepEqual(shortcutFor('I', free), { type: 'tool', tool: 'picker' });
  assert.deepEqual(shortcutFor('h', free), { type: 'togglePan' });
  assert.deepEqual(shortcutFor('=', free), { type: 'zoomStep', dir: 1 });
  assert.deepEqual(shortcutFor('_', free), { type: 'zoomStep', dir: -1 });
  assert.deepEqual(shortcutFor('0', free), { type: 'fit' });
  assert.deepEqual(shortcutFor('1', free), { type: 'zoom100' });
  assert.deepEqual(shortcutFor('G', free), { type: 'grid' });
  assert.deepEqual(shortcutFor('x', free), { type: 'swapColor' });
  assert.deepEqual(shortcutFor('[', free), { type: 'cyclePalette', dir: -1 });
  assert.deepEqual(shortcutFor(']', free), { type: 'cyclePalette', dir: 1 });
  assert.deepEqual(shortcutFor('?', free), { type: 'help' });
  assert.deepEqual(shortcutFor('Escape', free), { type: 'escape' });
  assert.deepEqual(shortcutFor(' ', free), { type: 'spaceDown' });
  assert.equal(shortcutFor(' ', { onCanvas: false, onControl: true }), null, 'Space presses the focused button');
  assert.equal(shortcutFor('Enter', free), null, 'Enter paints only on the canvas');
  assert.deepEqual(shortcutFor('Enter', { onCanvas: true, onControl: false }), { type: 'enter' });
  assert.deepEqual(shortcutFor('ArrowLeft', { onCanvas: true, onControl: false }), { type: 'arrow', dx: -1, dy: 0, onCanvas: true });
  assert.deepEqual(shortcutFor('ArrowDown', { ...free, shiftKey: true }), { type: 'arrow', dx: 0, dy: 10, onCanvas: false });
  assert.equal(shortcutFor('q', free), null);
});

test('JSON snapshot: colours by "x,y", white elsewhere, bad entries skipped, bad sizes refused', () => {
  const s = snapshotFromJSON({ width: 2, height: 2, seq: 9, pixels: { '1,0': '#ff0000', '0,1': 'nope', '5,5': '#00FF00', 'a,b': '#0000FF' } });
  assert.equal(s.seq, 9);
  assert.deepEqual([...s.rgb], [255, 255, 255, 255, 0, 0, 255, 255, 255, 255, 255, 255]);
  assert.equal(snapshotFromJSON({ width: 1, height: 1, seq: -1 }).seq, null);
  assert.equal(snapshotFromJSON({ width: 1, height: 1, pixels: 'x' }).rgb.length, 3);
  for (const bad of [null, {}, { width: 0, height: 1 }, { width: 5000, height: 5000 }, { width: 1.5, height: 1 }]) {
    assert.throws(() => snapshotFromJSON(bad), /bad size/);
  }
});

/** A fake Response. */
const res = (status, { headers = {}, bytes = new Uint8Array(0), json = null } = {}) => /** @type {any} */ ({
  ok: status >= 200 && status < 300, status,
  headers: { get: (k) => headers[k] ?? null },
  arrayBuffer: async () => bytes.buffer,
  json: async () => json,
});

test('raw snapshot, with a JSON fallback when the headers cannot be read; a server error fails the attempt', async () => {
  const raw = res(200, { headers: { 'X-Canvas-Width': '2', 'X-Canvas-Height': '1', 'X-Canvas-Seq': '12' }, bytes: new Uint8Array(6).fill(7) });
  let urls = [];
  const s = await fetchSnapshot('http://a', async (url) => { urls.push(url); return raw; });
  assert.deepEqual(urls, ['http://a/api/canvas/raw']);
  assert.equal(s.width, 2);
  assert.equal(s.seq, 12);
  urls = [];
  const hidden = res(200, { bytes: new Uint8Array(6) });
  const json = res(200, { json: { width: 2, height: 1, seq: 3, pixels: {} } });
  const f = await fetchSnapshot('http://a', async (url) => { urls.push(url); return url.endsWith('/raw') ? hidden : json; });
  assert.deepEqual(urls, ['http://a/api/canvas/raw', 'http://a/api/canvas']);
  assert.equal(f.seq, 3);
  await assert.rejects(fetchSnapshot('http://a', async () => res(503)), /HTTP 503/);
  await assert.rejects(fetchSnapshot('http://a', async (url) => (url.endsWith('/raw') ? res(404) : res(500))), /HTTP 500/);
});

test('a snapshot carries its timeline (X-Canvas-Epoch, or epoch in the JSON); none from a server without epochs', async () => {
  const headers = { 'X-Canvas-Width': '2', 'X-Canvas-Height': '1', 'X-Canvas-Seq': '12' };
  const s = await fetchSnapshot('http://a', async () => res(200, { headers: { ...headers, 'X-Canvas-Epoch': 'e9f8' }, bytes: new Uint8Array(6) }));
  assert.equal(s.epoch, 'e9f8');
  const old = await fetchSnapshot('http://a', async () => res(200, { headers, bytes: new Uint8Array(6) }));
  assert.equal(old.epoch, null);
  assert.equal(snapshotFromJSON({ width: 1, height: 1, seq: 2, epoch: 'e1', pixels: {} }).epoch, 'e1');
  assert.equal(snapshotFromJSON({ width: 1, height: 1, seq: 2, pixels: {} }).epoch, null);
});

test('our cursor: sent while live, not twice the same, "left" only if it was seen', () => {
  const sent = [];
  let live = true;
  let clock = 0;
  const c = new OwnCursor({
    send: (t) => { sent.push(JSON.parse(t)); return true; }, live: () => live,
    timers: { now: () => clock, setTimer: () => 1, clearTimer: () => {} },
  });
  c.at(1.5, 2.5, 10, 10);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].type, 'cursor');
  clock += 100;
  c.at(1.5, 2.5, 10, 10);
  assert.equal(sent.length, 1, 'the same position is not sent again');
  c.at(null, null, 10, 10);
  assert.equal(sent.length, 2);
  assert.equal(sent[1].x, undefined, 'a cursor message without x: it left');
  c.at(20, 1, 10, 10);
  assert.equal(sent.length, 2, 'leaving again says nothing');
  live = false;
  clock += 100;
  c.at(3, 3, 10, 10);
  assert.equal(sent.length, 2, 'not while not live');
});
