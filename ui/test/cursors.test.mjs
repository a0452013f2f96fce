import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteCursors, throttle } from '../static/js/lib/cursors.js';

test('cursors appear, glide towards their target, and leave', () => {
  const rc = new RemoteCursors({ smoothingMs: 100 });
  rc.setSelf('me');
  rc.update({ cursors: [{ clientId: 'b', username: 'Bob', x: 0, y: 0 }, { clientId: 'me', username: 'Me', x: 1, y: 1 }], gone: [] }, 0);
  assert.deepEqual(rc.list().map((c) => c.clientId), ['b'], 'never our own cursor');
  rc.step(0);
  rc.update({ cursors: [{ clientId: 'b', username: 'Bobby', x: 10, y: 20 }], gone: [] }, 0);
  assert.equal(rc.step(100), true);
  const [b] = rc.list();
  assert.ok(Math.abs(b.x - 10 * (1 - Math.exp(-1))) < 1e-9, `x=${b.x}`);
  assert.ok(b.x > 0 && b.x < 10 && b.y > 0 && b.y < 20);
  assert.equal(b.username, 'Bobby');
  assert.equal(rc.step(5000), false, 'arrives and stops');
  assert.equal(rc.list()[0].x, 10);
  rc.update({ cursors: [], gone: ['b'] }, 5000);
  assert.equal(rc.size, 0);
});

test('setSelf removes a cursor already known as ours; clear forgets everyone', () => {
  const rc = new RemoteCursors();
  rc.update({ cursors: [{ clientId: 'x', username: 'X', x: 1, y: 1 }, { clientId: 'y', username: 'Y', x: 1, y: 1 }] }, 0);
  rc.setSelf('x');
  assert.deepEqual(rc.list().map((c) => c.clientId), ['y']);
  rc.clear();
  assert.equal(rc.size, 0);
});

test('throttle: leading call, at most one per interval, trailing call keeps the last value', () => {
  let now = 0;
  const timers = [];
  const calls = [];
  const t = throttle((v) => calls.push([now, v]), 66, {
    now: () => now,
    setTimer: (f, ms) => { timers.push({ f, at: now + ms }); return timers.length; },
    clearTimer: () => {},
  });
  t(1);
  now = 10; t(2);
  now = 20; t(3);
  assert.deepEqual(calls, [[0, 1]]);
  assert.equal(timers.length, 1);
  now = timers[0].at; timers[0].f();
  assert.deepEqual(calls, [[0, 1], [66, 3]]);
  now = 200; t(4);
  assert.deepEqual(calls.at(-1), [200, 4]);
  t.cancel();
});
