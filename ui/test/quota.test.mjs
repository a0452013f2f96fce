import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quotaView } from '../static/js/lib/quota.js';
import { TokenBucket } from '../static/js/lib/backoff.js';

test('a full budget is ready and says nothing beside the brush', () => {
  const q = quotaView({ tokens: 36, at: 0, rate: 18, burst: 36, queued: 0 }, 0);
  assert.equal(q.state, 'full');
  assert.equal(q.fill, 1);
  assert.equal(q.text, '');
  assert.match(q.label, /up to 36 pixels/);
});

test('the budget refills with time, as the pacer\'s bucket does', () => {
  const b = new TokenBucket(2, 4, 0);
  for (let i = 0; i < 4; i++) assert.ok(b.take(0));
  const at = (now) => quotaView({ tokens: b.tokens, at: b.at, rate: b.rate, burst: b.burst, queued: 0 }, now);
  assert.equal(at(0).state, 'wait');
  assert.equal(at(0).waitSec, 1);
  assert.equal(at(0).text, 'Wait 1 s');
  assert.equal(at(0).fill, 0);
  assert.equal(at(1000).state, 'refilling');
  assert.equal(at(1000).fill, 0.5);
  assert.equal(at(1000).text, '2');
  assert.match(at(1000).label, /2 pixels ready now, refilling 2 a second/);
  assert.equal(at(2000).state, 'full');
  assert.equal(at(60000).fill, 1);
});

test('pixels held back for the budget: wait until they are all sent', () => {
  // 10 drawn, 0.5 token, 2 a second: 9.5 / 2 -> 5 s.
  const q = quotaView({ tokens: 0.5, at: 0, rate: 2, burst: 4, queued: 10 }, 0);
  assert.equal(q.state, 'wait');
  assert.equal(q.waitSec, 5);
  assert.equal(q.text, 'Wait 5 s');
  assert.match(q.label, /10 pixels waiting to be sent; about 5 s/);
  // Enough budget for what waits: it is going out now, no waiting.
  assert.equal(quotaView({ tokens: 3, at: 0, rate: 2, burst: 4, queued: 2 }, 0).state, 'refilling');
});

test('odd numbers do not break it', () => {
  const q = quotaView({ tokens: -3, at: 0, rate: 0, burst: 0, queued: -1 }, 0);
  assert.equal(q.state, 'wait');
  assert.ok(q.waitSec >= 1);
  assert.ok(q.fill >= 0 && q.fill <= 1);
});
