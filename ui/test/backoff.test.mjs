import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, TokenBucket } from '../static/js/lib/backoff.js';

test('without jitter: 100ms doubling, capped at 2s', () => {
  const b = new Backoff({ jitter: 0 });
  assert.deepEqual(Array.from({ length: 8 }, () => b.next()), [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  b.reset();
  assert.equal(b.next(), 100);
});

test('jitter stays within ±25% and never above the cap', () => {
  for (const r of [0, 0.5, 0.999]) {
    const b = new Backoff({ random: () => r });
    const d = Array.from({ length: 10 }, () => b.next());
    assert.ok(d[0] >= 75 && d[0] <= 125, `first ${d[0]}`);
    for (const x of d) assert.ok(x <= 2000 && x >= 0);
    assert.ok(d[9] >= 1500, `capped ${d[9]}`);
  }
  const lo = new Backoff({ random: () => 0 }).next();
  const hi = new Backoff({ random: () => 0.999 }).next();
  assert.ok(lo < hi, 'jitter actually varies the delay');
});

test('token bucket: burst, refill, wait', () => {
  const t = new TokenBucket(10, 3, 0);
  assert.equal(t.take(0), true);
  assert.equal(t.take(0), true);
  assert.equal(t.take(0), true);
  assert.equal(t.take(0), false);
  assert.equal(t.waitMs(0), 100);
  assert.equal(t.take(50), false);
  assert.equal(t.take(100), true);
  assert.equal(t.take(10_000), true);
  assert.ok(t.tokens <= 3);
  t.setRate(1, 10_000);
  assert.equal(t.take(10_000), true);
  assert.equal(t.take(10_000), true);
  assert.equal(t.take(10_000), false);
  assert.equal(t.waitMs(10_000), 1000);
});
