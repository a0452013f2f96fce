// Stroke sessions and write pacing (lib/writes.js) and the outbox of write
// outcomes (lib/outbox.js), on a manual clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Board } from '../static/js/lib/board.js';
import { Outbox } from '../static/js/lib/outbox.js';
import { MAX_SOCKET_BUFFER, RECOVER_AFTER_MS, StrokeSession, WritePacer } from '../static/js/lib/writes.js';
import { fakeTime } from './support/faketime.mjs';

const RED = 0xff0000;

function board(w = 40, h = 4, o = {}) {
  const b = new Board(w, h, { idPrefix: 't', ...o });
  b.loadSnapshot(new Uint8Array(w * h * 3).fill(255), 10);
  return b;
}

function pacer(b, extra = {}) {
  const t = fakeTime(0);
  const sent = [];
  let ready = true;
  let buffered = 0;
  let pumps = 0;
  const p = new WritePacer({
    board: () => b, ready: () => ready, send: (w) => { sent.push(w.id); return true; }, bufferedAmount: () => buffered,
    onPump: () => { pumps++; }, timers: t.timers, now: t.now, rate: 10, burst: 3, ...extra,
  });
  return { t, p, sent, setReady: (r) => { ready = r; }, setBuffered: (n) => { buffered = n; }, get pumps() { return pumps; } };
}

test('a stroke paints each pixel once and counts what it created', () => {
  const b = board();
  const s = new StrokeSession(b, RED);
  assert.equal(s.to(0.5, 0.5, 1), false);
  assert.equal(s.to(3.5, 0.5, 2), false);
  s.to(0.5, 0.5, 3); // back over painted pixels: nothing new
  assert.equal(s.count, 4);
  assert.equal(b.pendingCount, 4);
  assert.equal(b.displayedHex(3, 0), '#FF0000');
});

test('a stroke reports pixels refused because too many writes wait, and paints them when it comes back', () => {
  const b = board(40, 4, { maxPending: 2 });
  const s = new StrokeSession(b, RED);
  assert.equal(s.to(2.5, 0.5, 0), false);
  assert.equal(b.pendingCount, 1);
  assert.equal(s.to(5.5, 0.5, 0), true, 'over the limit');
  assert.equal(b.displayedHex(4, 0), '#FFFFFF');
  for (const id of [...b.writes.keys()]) b.applyPixel({ ...b.writes.get(id), color: '#FF0000', seq: 20, id });
  assert.equal(b.pendingCount, 0);
  s.to(2.5, 0.5, 0);
  s.to(5.5, 0.5, 0);
  assert.equal(b.displayedHex(4, 0), '#FF0000', 'offered again on the way back');
});

test('the pacer sends a burst, then one write per token as time passes', () => {
  const b = board();
  const s = new StrokeSession(b, RED);
  s.to(0.5, 0.5, 0);
  s.to(9.5, 0.5, 0);
  const h = pacer(b);
  h.p.pump();
  assert.equal(h.sent.length, 3, 'the burst');
  assert.equal(b.queuedCount, 7);
  assert.equal(h.t.count, 1, 'comes back when a token is due');
  h.t.advance(99);
  assert.equal(h.sent.length, 3);
  h.t.advance(1);
  assert.equal(h.sent.length, 4, 'one more after 100 ms at 10/s');
  h.t.advance(1000);
  assert.equal(h.sent.length, 10);
  assert.equal(b.queuedCount, 0);
  assert.ok(h.pumps >= 8, 'every pump reports (the counter)');
});

test('the pacer sends nothing while not live, and waits while the socket is backed up', () => {
  const b = board();
  b.paint(0, 0, RED, 0);
  const h = pacer(b);
  h.setReady(false);
  h.p.pump();
  assert.equal(h.sent.length, 0);
  assert.equal(h.t.count, 0, 'nothing scheduled: going live pumps');
  h.setReady(true);
  h.setBuffered(MAX_SOCKET_BUFFER + 1);
  h.p.pump();
  assert.equal(h.sent.length, 0);
  h.setBuffered(0);
  h.t.advance(50);
  assert.equal(h.sent.length, 1);
});

test('the pacer stops at a write the socket refuses and keeps it queued', () => {
  const b = board();
  b.paint(0, 0, RED, 0);
  const h = pacer(b, { send: () => false });
  h.p.pump();
  assert.equal(b.queuedCount, 1);
});

test('rate_limited slows the pacer down; a quiet while speeds it up again, to the normal rate at most', () => {
  const h = pacer(board());
  h.p.slowDown();
  assert.equal(h.p.bucket.rate, 6);
  assert.equal(h.p.bucket.tokens, 0);
  h.t.advance(RECOVER_AFTER_MS);
  h.p.recover();
  assert.equal(h.p.bucket.rate, 6, 'not yet');
  h.t.advance(1);
  h.p.recover();
  assert.equal(h.p.bucket.rate, 9);
  h.t.advance(RECOVER_AFTER_MS + 1);
  h.p.recover();
  assert.equal(h.p.bucket.rate, 10, 'capped at the normal rate');
  for (let i = 0; i < 20; i++) h.p.slowDown();
  assert.equal(h.p.bucket.rate, 2.5, 'never below a quarter of the normal rate (no fixed floor above a slow server)');
});

test('the pacer paces to the rate the server announced, below our default, never above it', () => {
  const b = board();
  const s = new StrokeSession(b, RED);
  s.to(0.5, 0.5, 0);
  s.to(39.5, 0.5, 0);
  const h = pacer(b, { rate: undefined, burst: undefined });
  h.p.serverLimit(2, 4);
  assert.equal(h.p.rate, 1.8);
  assert.equal(h.p.bucket.burst, 3);
  h.p.pump();
  assert.equal(h.sent.length, 3, 'the server\'s burst, a little under');
  h.t.advance(10000);
  assert.equal(h.sent.length, 3 + 18, '1.8 a second');
  h.p.serverLimit(1000, 5000);
  assert.equal(h.p.rate, 18, 'never above our own default (the message budget)');
  assert.equal(h.p.bucket.burst, 36);
  h.p.serverLimit(null, null);
  assert.equal(h.p.rate, 18, 'an older server that says nothing: the default');
  h.p.serverLimit(0.5, 1);
  assert.equal(h.p.bucket.burst, 1, 'a burst of at least one');
});

test('after rate_limited with a retry time the pacer sends nothing before it', () => {
  const b = board();
  const s = new StrokeSession(b, RED);
  s.to(0.5, 0.5, 0);
  s.to(9.5, 0.5, 0);
  const h = pacer(b);
  h.p.pump();
  assert.equal(h.sent.length, 3);
  h.p.slowDown(700);
  h.p.pump();
  h.t.advance(699);
  assert.equal(h.sent.length, 3, 'paused');
  h.t.advance(200);
  assert.ok(h.sent.length > 3, 'resumes once the server said it would take one');
});

function outbox() {
  const b = board();
  const warned = [];
  const calls = [];
  let changes = 0;
  const o = new Outbox({
    board: () => b, warn: (t) => warned.push(t), onChange: () => { changes++; },
    pacer: { pump: () => calls.push('pump'), slowDown: (ms) => calls.push(`slowDown ${ms}`), recover: () => calls.push('recover') },
  });
  return { b, o, warned, calls, get changes() { return changes; } };
}

test('an error about our write rolls it back and says why', () => {
  const h = outbox();
  const w = h.b.paint(1, 1, RED, 0);
  h.b.markSent(w, 0);
  assert.equal(h.o.error({ type: 'error', code: 'archived', message: 'x', id: w.id, retryAfter: null }), true);
  assert.equal(h.b.displayedHex(1, 1), '#FFFFFF');
  assert.equal(h.warned.length, 1);
  assert.equal(h.changes, 1);
  assert.equal(h.o.error({ type: 'error', code: 'bad_pixel', message: 'x', id: w.id, retryAfter: null }), false, 'an unknown id: nothing to undo');
  assert.equal(h.o.error({ type: 'error', code: 'unavailable', message: 'x', id: null, retryAfter: null }), true, 'worth a toast');
  assert.equal(h.o.error({ type: 'error', code: 'bad_json', message: 'x', id: null, retryAfter: null }), false, 'for the console');
  assert.equal(h.warned.length, 2);
});

test('a write refused for speed is queued again, not undone, and the pacer waits the retry time', () => {
  const h = outbox();
  const w = h.b.paint(1, 1, RED, 0);
  h.b.markSent(w, 0);
  assert.equal(h.o.error({ type: 'error', code: 'rate_limited', message: 'x', id: w.id, retryAfter: 480 }), true);
  assert.equal(h.b.displayedHex(1, 1), '#FF0000', 'still shown');
  assert.equal(h.b.nextQueued(), w, 'to be sent again');
  assert.equal(h.b.pendingCount, 1);
  assert.deepEqual(h.warned, [], 'nothing to tell: it only lands later');
  assert.deepEqual(h.calls, ['slowDown 480', 'pump']);
  assert.equal(h.o.error({ type: 'error', code: 'rate_limited', message: 'x', id: w.id, retryAfter: 1 }), false, 'queued, not in flight: not ours to answer');
});

test('a refused write a newer one of ours stands over is dropped; one refused too often is given up', () => {
  const h = outbox();
  const old = h.b.paint(1, 1, RED, 0);
  h.b.markSent(old, 0);
  const newer = h.b.paint(1, 1, 0x0000ff, 1);
  h.b.markSent(newer, 1);
  h.o.error({ type: 'error', code: 'rate_limited', message: 'x', id: old.id, retryAfter: 10 });
  assert.equal(h.b.writes.has(old.id), false, 'resending it would put the older colour over the newer');
  assert.equal(h.b.displayedHex(1, 1), '#0000FF');
  for (let i = 0; i < 19; i++) {
    assert.equal(h.o.error({ type: 'error', code: 'rate_limited', message: 'x', id: newer.id, retryAfter: 10 }), true);
    h.b.markSent(newer, 2);
  }
  assert.equal(h.warned.length, 0);
  h.o.error({ type: 'error', code: 'rate_limited', message: 'x', id: newer.id, retryAfter: 10 });
  assert.equal(h.b.writes.has(newer.id), false, 'given up after 20 refusals');
  assert.equal(h.warned.length, 1);
});

test('writes nobody answered are undone only while live; settling reports rollbacks and pumps', () => {
  const h = outbox();
  const w = h.b.paint(1, 1, RED, 0);
  h.b.markSent(w, 0);
  h.o.tick(20000, false);
  assert.equal(h.b.pendingCount, 1, 'not while down: in doubt, not lost');
  h.o.tick(9999, true);
  assert.equal(h.b.pendingCount, 1);
  h.o.tick(10000, true);
  assert.equal(h.b.pendingCount, 0);
  assert.match(h.warned[0], /^1 pixel was not confirmed/);
  h.o.settled(0);
  h.o.settled(2);
  assert.match(h.warned[1], /^2 pixels could not be confirmed after reconnecting and were undone/);
  assert.deepEqual(h.calls, ['recover', 'recover', 'recover', 'pump', 'pump']);
});
