import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, CLOSE_SERVICE_RESTART, RESTART_JITTER_MS } from '../static/js/lib/connection.js';
import { Backoff } from '../static/js/lib/backoff.js';
import { fakeTime } from './support/faketime.mjs';

function fakeSockets() {
  const all = [];
  class FakeWS {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      all.push(this);
    }
    send(t) { this.sent.push(t); }
    close(code, reason) { this.closedWith = [code, reason]; this.readyState = 3; }
    // Test helpers: what the browser would do.
    open() { this.readyState = 1; this.onopen?.({}); }
    message(data) { this.onmessage?.({ data }); }
    drop(code = 1006) { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
  }
  return { FakeWS, all };
}

function make(extra = {}) {
  const t = fakeTime();
  const { FakeWS, all } = fakeSockets();
  const states = [];
  const msgs = [];
  const closes = [];
  let since = 0;
  const conn = new Connection({
    url: () => `ws://x/ws?since=${since}`,
    WebSocketImpl: FakeWS,
    backoff: new Backoff({ jitter: 0 }),
    timers: t.timers,
    now: t.now,
    heartbeatMs: 1000,
    heartbeatTimeoutMs: 500,
    connectTimeoutMs: 3000,
    onState: (s) => states.push(s),
    onMessage: (m) => msgs.push(m),
    onClose: (c) => closes.push(c),
    ...extra,
  });
  return { t, all, states, msgs, closes, conn, setSince: (s) => { since = s; } };
}

test('connects with the v2 subprotocol and delivers text frames only', () => {
  const { all, conn, states, msgs } = make();
  conn.start();
  assert.equal(all.length, 1);
  assert.deepEqual(all[0].protocols, ['pixel.v2']);
  assert.equal(conn.send('x'), false, 'nothing is sent before open');
  all[0].open();
  assert.deepEqual(states, ['connecting', 'open']);
  assert.equal(conn.send('hello'), true);
  assert.deepEqual(all[0].sent, ['hello']);
  all[0].message('{"type":"stats","activeUsers":1}');
  all[0].message(new Uint8Array(3));
  assert.deepEqual(msgs, ['{"type":"stats","activeUsers":1}']);
});

test('reconnects with doubling delays capped at 2 s, and the URL is rebuilt each time', () => {
  const { t, all, conn, states, setSince } = make();
  conn.start();
  const delays = [];
  for (let i = 0; i < 7; i++) {
    const before = t.now();
    all.at(-1).drop();
    assert.equal(conn.state, 'waiting');
    delays.push(conn.retryAt - before);
    setSince(100 + i);
    t.advance(conn.retryAt - before);
    assert.equal(conn.state, 'connecting');
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
  assert.equal(all.at(-1).url, 'ws://x/ws?since=106');
  assert.ok(states.includes('waiting'));
});

test('1012 service restart reconnects soon, after a random wait of up to 2 s, not at once', () => {
  for (const [random, wait] of [[0, 0], [0.5, 1000], [0.9999, 1999]]) {
    const { t, all, conn } = make({ random: () => random });
    conn.start();
    all[0].open();
    all[0].drop(CLOSE_SERVICE_RESTART);
    assert.equal(conn.retryAt - t.now(), wait, `random ${random}`);
    if (wait > 0) {
      t.advance(wait - 1);
      assert.equal(all.length, 1, 'reconnected before its jitter ran out');
    }
    t.advance(wait > 0 ? 1 : 0);
    assert.equal(all.length, 2);
  }
  assert.equal(RESTART_JITTER_MS, 2000);
});

test('a connection that stayed up resets the backoff; a flapping one does not', () => {
  const { t, all, conn } = make({ heartbeatMs: 0 });
  conn.start();
  for (let i = 0; i < 3; i++) { all.at(-1).drop(); t.advance(conn.retryAt - t.now()); }
  all.at(-1).open();
  all.at(-1).drop();
  assert.equal(conn.retryAt - t.now(), 800, 'opened and closed at once: keep backing off');
  t.advance(800);
  all.at(-1).open();
  t.advance(5000);
  all.at(-1).drop();
  assert.equal(conn.retryAt - t.now(), 100, 'healthy for a while: start again from 100 ms');
});

test('a handshake that hangs is abandoned and retried', () => {
  const { t, all, conn, closes } = make();
  conn.start();
  t.advance(3000);
  assert.ok(all[0].closedWith, 'the hung socket was closed');
  assert.equal(conn.state, 'waiting');
  assert.equal(closes.length, 1);
  assert.equal(closes[0].wasOpen, false);
  t.advance(100);
  assert.equal(all.length, 2);
});

test('heartbeat: ping after silence, declare the link dead after more silence', () => {
  const { t, all, conn, closes } = make();
  conn.start();
  all[0].open();
  t.advance(1000);
  assert.deepEqual(all[0].sent, ['{"type":"ping"}']);
  all[0].message('{"type":"pong"}');
  t.advance(1000);
  assert.equal(all[0].sent.length, 2, 'pinged again after the next silence');
  t.advance(499);
  assert.equal(closes.length, 0, 'not yet: the answer may still come');
  t.advance(1);
  assert.equal(closes.length, 1);
  assert.equal(closes[0].wasOpen, true);
  assert.equal(conn.state, 'waiting');
  assert.ok(all[0].closedWith);
});

test('offline pauses reconnecting; online connects at once', () => {
  const { t, all, conn, states } = make();
  conn.start();
  all[0].open();
  conn.setOnline(false);
  assert.equal(conn.state, 'offline');
  assert.ok(all[0].closedWith);
  t.advance(60_000);
  assert.equal(all.length, 1, 'no attempts while offline');
  conn.setOnline(true);
  assert.equal(all.length, 2);
  assert.equal(states.at(-1), 'connecting');
});

test('retryNow skips the wait; stop ends everything', () => {
  const { t, all, conn } = make();
  conn.start();
  all[0].drop();
  assert.equal(conn.state, 'waiting');
  conn.retryNow();
  assert.equal(all.length, 2);
  conn.stop();
  assert.equal(conn.state, 'stopped');
  t.advance(10_000);
  assert.equal(all.length, 2);
  assert.equal(t.count, 0, 'no timers left behind');
});

test('a constructor that throws counts as a failed attempt', () => {
  let n = 0;
  class Throwing { constructor() { n++; throw new SyntaxError('bad url'); } }
  const { t, conn } = make({ WebSocketImpl: Throwing });
  conn.start();
  assert.equal(conn.state, 'waiting');
  t.advance(100);
  assert.equal(n, 2);
  conn.stop();
});
