// Falling behind (lib/catchup.js): the lag read from the events' server
// timestamps against the page's own clock, and the spacing of catch-ups,
// in a table; then a stream played through it end to end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  observeLag, initialLag, newSocket, DEFAULT_LIMITS, CATCH_UP_LAG_MS, CATCH_UP_MIN_GAP_MS, CATCH_UP_MAX_GAP_MS,
} from '../static/js/lib/catchup.js';

/** @param {Partial<import('../static/js/lib/catchup.js').LagState>} o */
const lag = (o) => ({ ...initialLag(), ...o });
// The page's clock runs 500 s ahead of the server's, 30 ms of delivery.
const SKEW = 500_000 + 30;

/** @type {{name: string, from: any, now: number, ts: number|null, to: any, lagMs: number|null, catchUp: boolean}[]} */
const table = [
  { name: 'the first event sets the reference, whatever the clocks say',
    from: lag({}), now: 1_000_000, ts: 1_000_000 - SKEW, to: { skew: SKEW }, lagMs: 0, catchUp: false },
  { name: 'a quicker event lowers the reference',
    from: lag({ skew: SKEW }), now: 1_000_000, ts: 1_000_000 - SKEW + 20, to: { skew: SKEW - 20 }, lagMs: 0, catchUp: false },
  { name: 'an event without a timestamp (an old server) measures nothing',
    from: lag({ skew: SKEW }), now: 1_000_000, ts: null, to: { skew: SKEW }, lagMs: null, catchUp: false },
  { name: 'a little behind: applied as usual',
    from: lag({ skew: SKEW }), now: 1_000_000, ts: 1_000_000 - SKEW - 400, to: { skew: SKEW, lastAt: null }, lagMs: 400, catchUp: false },
  { name: 'exactly at the threshold: not yet',
    from: lag({ skew: SKEW }), now: 1_000_000, ts: 1_000_000 - SKEW - CATCH_UP_LAG_MS, to: { lastAt: null }, lagMs: CATCH_UP_LAG_MS, catchUp: false },
  { name: 'past the threshold, first time: catch up, the next one no sooner than the shortest wait',
    from: lag({ skew: SKEW }), now: 1_000_000, ts: 1_000_000 - SKEW - 2500,
    to: { skew: SKEW, lastAt: 1_000_000, gap: CATCH_UP_MIN_GAP_MS }, lagMs: 2500, catchUp: true },
  { name: 'past the threshold within the wait after the last catch-up: not again',
    from: lag({ skew: SKEW, lastAt: 1_000_000, gap: 5000 }), now: 1_004_999, ts: 1_004_999 - SKEW - 3000,
    to: { lastAt: 1_000_000, gap: 5000 }, lagMs: 3000, catchUp: false },
  { name: 'past the threshold right after the wait: again, and the next wait doubles',
    from: lag({ skew: SKEW, lastAt: 1_000_000, gap: 5000 }), now: 1_005_000, ts: 1_005_000 - SKEW - 3000,
    to: { lastAt: 1_005_000, gap: 10_000 }, lagMs: 3000, catchUp: true },
  { name: 'the wait doubles up to the longest',
    from: lag({ skew: SKEW, lastAt: 1_000_000, gap: 40_000 }), now: 1_040_000, ts: 1_040_000 - SKEW - 3000,
    to: { lastAt: 1_040_000, gap: CATCH_UP_MAX_GAP_MS }, lagMs: 3000, catchUp: true },
  { name: 'and stays there while the page keeps falling behind',
    from: lag({ skew: SKEW, lastAt: 1_000_000, gap: 60_000 }), now: 1_070_000, ts: 1_070_000 - SKEW - 3000,
    to: { lastAt: 1_070_000, gap: CATCH_UP_MAX_GAP_MS }, lagMs: 3000, catchUp: true },
  { name: 'a long stretch without a catch-up after the wait ended starts the waits over',
    from: lag({ skew: SKEW, lastAt: 1_000_000, gap: 40_000 }), now: 1_000_000 + 40_000 + CATCH_UP_MAX_GAP_MS, ts: 1_100_000 - SKEW - 3000,
    to: { lastAt: 1_100_000, gap: CATCH_UP_MIN_GAP_MS }, lagMs: 3000, catchUp: true },
  { name: 'a server clock that stepped back reads as a quicker event, not as lag',
    from: lag({ skew: SKEW }), now: 1_000_000, ts: 1_000_000 - SKEW + 60_000, to: { skew: SKEW - 60_000 }, lagMs: 0, catchUp: false },
];

for (const row of table) {
  test(`observeLag: ${row.name}`, () => {
    const from = Object.freeze({ ...row.from });
    const r = observeLag(from, row.now, row.ts);
    for (const [k, v] of Object.entries(row.to)) assert.equal(r.state[k], v, `state.${k}`);
    assert.equal(r.lagMs, row.lagMs, 'lagMs');
    assert.equal(r.catchUp, row.catchUp, 'catchUp');
  });
}

test('newSocket forgets the reference, keeps the spacing', () => {
  const s = newSocket(lag({ skew: 5, lastAt: 100, gap: 10_000 }));
  assert.deepEqual(s, { skew: null, lastAt: 100, gap: 10_000 });
});

test('limits are taken from the caller', () => {
  const limits = { lagMs: 100, minGapMs: 1000, maxGapMs: 4000 };
  const r = observeLag(lag({ skew: 0 }), 150, 0, limits);
  assert.equal(r.catchUp, true);
  assert.equal(r.state.gap, 1000);
  assert.equal(observeLag(r.state, 900, 0, limits).catchUp, false, 'within the wait');
  assert.equal(DEFAULT_LIMITS.lagMs, CATCH_UP_LAG_MS);
});

test('a stream: prompt, then the page stalls 3 s, then slowly drains', () => {
  // The server sends one event every 10 ms. The page takes them promptly
  // for a second, then its main thread is blocked for 3 s, then it takes
  // one every 12 ms: it never catches up by itself.
  let s = initialLag();
  const skew = 123_456;
  const catchUps = [];
  let now = 0;
  for (let i = 0; i < 3000; i++) {
    const ts = i * 10;
    if (i < 100) now = ts + skew + 5;
    else if (i === 100) now = ts + skew + 3000;
    else now += 12;
    const r = observeLag(s, now, ts);
    s = r.state;
    if (r.catchUp) catchUps.push({ i, lag: Math.round(r.lagMs) });
  }
  // The first event after the stall, then after each wait (5 s, then 10 s)
  // while the page is still behind.
  const second = 100 + Math.ceil(5000 / 12);
  assert.deepEqual(catchUps.map((c) => c.i), [100, second, second + Math.ceil(10_000 / 12)]);
  assert.ok(catchUps.every((c) => c.lag > CATCH_UP_LAG_MS), JSON.stringify(catchUps));
});
