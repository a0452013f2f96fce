// The session (lib/session.js) end to end under node: a fake WebSocket and a
// snapshot loader answered by the test, through load, resume, live writes,
// an error, a drop and a reconnect.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../static/js/lib/session.js';
import { settle } from './support/faketime.mjs';

/** @param {{clock?: () => number, loadSnapshot?: () => Promise<any>}} [o] */
function harness(o = {}) {
  /** @type {any[]} */
  const sockets = [];
  class FakeWS {
    constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
    send(t) { this.sent.push(JSON.parse(t)); }
    close() { this.readyState = 3; }
    open() { this.readyState = 1; this.onopen?.({}); }
    recv(m) { this.onmessage?.({ data: JSON.stringify(m) }); }
    drop(code = 1012) { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
  }
  const events = [];
  const s = new Session({
    wsUrl: 'ws://x/ws',
    WebSocketImpl: /** @type {any} */ (FakeWS),
    random: () => 0, // no jitter after a 1012: the reconnect is a zero timeout
    loadSnapshot: o.loadSnapshot || (async () => ({ width: 4, height: 4, seq: 10, rgb: new Uint8Array(48).fill(255) })),
    clock: o.clock,
    idPrefix: 't-',
    onPixelShown: () => {},
    username: () => 'ann',
    hooks: {
      onBoard: () => events.push('board'), onSnapshot: () => events.push('snapshot'),
      onPixel: (m, theirs) => events.push(['pixel', m.seq, theirs]), onReset: () => events.push('reset'),
      onStatus: () => {}, onCounters: () => {}, onClosed: () => events.push('closed'),
      onOther: (m) => events.push(['other', m.type]), warn: (t) => events.push(['warn', t]),
    },
  });
  return { s, sockets, events };
}

test('load, resume, live: writes go out, others\' pixels are theirs, errors roll back, a drop resumes', async (t) => {
  const { s, sockets, events } = harness();
  t.after(() => s.conn.stop()); // its heartbeat and reconnect timers are real ones
  s.start();
  await settle();
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url, 'ws://x/ws?since=10');
  const ws = sockets[0];
  ws.open();
  assert.deepEqual(ws.sent[0], { type: 'set_username', username: 'ann' });
  ws.recv({ type: 'connected', clientId: 'c_1', seq: 10, width: 4, height: 4 });
  assert.equal(s.clientId, 'c_1');
  ws.recv({ type: 'resumed', seq: 10, recovered: true });
  assert.equal(s.live, true);

  const w = s.board.paint(1, 1, 0xff0000, 0);
  s.pacer.pump();
  assert.deepEqual(ws.sent[1], { type: 'pixel_update', x: 1, y: 1, color: '#FF0000', id: w.id });
  ws.recv({ type: 'batch', events: [
    { type: 'pixel_updated', x: 1, y: 1, color: '#FF0000', username: 'ann', timestamp: 1, seq: 11, id: w.id },
    { type: 'pixel_updated', x: 2, y: 2, color: '#00FF00', username: 'bo', timestamp: 2, seq: 12 },
    { type: 'stats', activeUsers: 2, timestamp: 3 },
  ] });
  assert.equal(s.board.pendingCount, 0, 'confirmed by the echo');
  assert.deepEqual(events.slice(2), [['pixel', 11, false], ['pixel', 12, true], ['other', 'stats']]);

  const w2 = s.board.paint(3, 3, 0x0000ff, 0);
  s.pacer.pump();
  ws.recv({ type: 'error', code: 'bad_pixel', message: 'Invalid pixel data', id: w2.id });
  assert.equal(s.board.displayedHex(3, 3), '#FFFFFF');
  assert.deepEqual(events.at(-1), ['warn', 'That pixel was refused as invalid']);

  ws.drop(1012);
  assert.equal(s.live, false);
  assert.equal(s.sync.phase, 'down');
  assert.equal(s.clientId, null);
  assert.ok(events.includes('closed'));
  // The reconnect "at once" is a zero timeout: wait for it, not for a time.
  for (let i = 0; i < 100 && sockets.length < 2; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(sockets.length, 2, '1012: reconnects at once');
  assert.equal(sockets[1].url, 'ws://x/ws?since=12', 'resumes from the last seq seen');
});

test('the pacer takes the limit `connected` announces; a refused write is sent again, not rolled back', async (t) => {
  const { s, sockets, events } = harness();
  t.after(() => { s.conn.stop(); s.pacer.timers.clearTimeout(s.pacer.timer); });
  s.start();
  await settle();
  const ws = sockets[0];
  ws.open();
  ws.recv({ type: 'connected', clientId: 'c_1', seq: 10, width: 4, height: 4, pixelRate: 2, pixelBurst: 4 });
  assert.equal(s.pacer.rate, 1.8);
  assert.equal(s.pacer.bucket.burst, 3);
  ws.recv({ type: 'resumed', seq: 10, recovered: true });

  const w = s.board.paint(1, 1, 0xff0000, 0);
  s.pacer.pump();
  assert.equal(ws.sent.filter((m) => m.type === 'pixel_update').length, 1);
  ws.recv({ type: 'error', code: 'rate_limited', message: 'Rate limit exceeded', id: w.id, retryAfter: 500 });
  assert.equal(s.board.displayedHex(1, 1), '#FF0000', 'still shown');
  assert.equal(s.board.nextQueued(), w, 'queued to go again');
  assert.ok(s.pacer.pausedUntil > Date.now(), 'not before the retry time');
  assert.equal(events.filter((e) => e[0] === 'warn').length, 0, 'no toast: it only lands later');
});

test('catching up by snapshot: our write in flight is not undone while the snapshot loads; its echo from the buffer confirms it', async (t) => {
  let clock = 5000;
  /** Loads after the first, answered by the test. @type {((snap: any) => void)[]} */
  const later = [];
  let first = true;
  const snap = (seq) => ({ width: 4, height: 4, seq, rgb: new Uint8Array(48).fill(255) });
  const { s, sockets, events } = harness({
    clock: () => clock,
    loadSnapshot: () => {
      if (!first) return new Promise((r) => later.push(r));
      first = false;
      return Promise.resolve(snap(10));
    },
  });
  t.after(() => s.conn.stop());
  s.start();
  await settle();
  const ws = sockets[0];
  ws.open();
  ws.recv({ type: 'connected', clientId: 'c_1', seq: 10, width: 4, height: 4 });
  ws.recv({ type: 'resumed', seq: 10, recovered: true });
  // Prompt: stamped when taken (the page's clock 5 s ahead of the server's).
  ws.recv({ type: 'pixel_updated', x: 0, y: 0, color: '#00FF00', username: 'bo', timestamp: clock - 5000, seq: 11 });
  const w = s.board.paint(1, 1, 0xff0000, 0);
  s.pacer.pump();
  assert.equal(s.board.pendingCount, 1);
  // The page stalls 3 s; what waited for it is late.
  const stamped = clock - 5000;
  clock += 3000;
  ws.recv({ type: 'pixel_updated', x: 2, y: 2, color: '#0000FF', username: 'bo', timestamp: stamped, seq: 12 });
  assert.equal(s.sync.catchUps, 1);
  assert.equal(later.length, 1, 'the catch-up snapshot asked for');
  assert.equal(s.live, true, 'still live');
  ws.recv({ type: 'pixel_updated', x: 1, y: 1, color: '#FF0000', username: 'ann', timestamp: stamped + 1, seq: 13, id: w.id });
  assert.equal(s.board.pendingCount, 1, 'the echo waits in the buffer');
  // Long after the confirm timeout, the snapshot still loading: nothing undone.
  s.tick(Date.now() + 60_000);
  assert.equal(s.board.pendingCount, 1);
  assert.equal(events.filter((e) => e[0] === 'warn').length, 0);
  later[0](snap(12));
  await settle();
  assert.equal(s.board.pendingCount, 0, 'confirmed by the buffered echo');
  assert.equal(s.board.confirmedHex(1, 1), '#FF0000');
  assert.equal(s.board.confirmedHex(2, 2), '#FFFFFF', 'seq 12 is in the snapshot');
  assert.equal(s.board.lastSeq, 13);
  assert.equal(events.filter((e) => e[0] === 'warn').length, 0);
});
