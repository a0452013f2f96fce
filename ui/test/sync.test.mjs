// The sync state machine (lib/sync.js): first the pure core, transition by
// transition in a table; then the runner with a real Board, a loader the
// test answers by hand and a manual clock, through whole life cycles:
// first load, resume recovered and not, the reload buffer, in-doubt writes,
// going down and coming back, falling behind and catching up by snapshot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Board } from '../static/js/lib/board.js';
import { Backoff } from '../static/js/lib/backoff.js';
import { Sync, initialState, step, checkSnapshot, RESUME_WAIT_MS, OTHER_TIMELINE } from '../static/js/lib/sync.js';
import { CATCH_UP_LAG_MS, CATCH_UP_MIN_GAP_MS } from '../static/js/lib/catchup.js';
import { fakeTime, settle } from './support/faketime.mjs';

const RED = 0xff0000;
const BLUE = 0x0000ff;

// ------------------------------------------------------------ the pure core

/** @param {Partial<import('../static/js/lib/sync.js').SyncState>} o */
const st = (o) => ({ ...initialState(), ...o });
const SIZED = { size: { width: 4, height: 3 } };
const pix = /** @type {any} */ ({ type: 'pixel_updated', x: 1, y: 1, color: '#FF0000', seq: 12, id: null, username: 'a', timestamp: 1 });
const rst = /** @type {any} */ ({ type: 'canvas_reset', seq: 13, timestamp: 1 });

/** @type {{name: string, from: any, ev: any, to: any, fx: any[]}[]} */
const table = [
  { name: 'start loads the first snapshot', from: st({}), ev: { type: 'start' },
    to: { phase: 'loading', reloading: true }, fx: [{ type: 'load' }] },
  { name: 'start while loading loads nothing more', from: st({ reloading: true }), ev: { type: 'start' },
    to: { reloading: true }, fx: [] },
  { name: 'dial remembers the since sent', from: st(SIZED), ev: { type: 'dial', since: 7 }, to: { sentSince: 7 }, fx: [] },
  { name: 'open: syncing, a new generation', from: st({ ...SIZED, gen: 2 }), ev: { type: 'open' },
    to: { phase: 'syncing', gen: 3, open: true }, fx: [] },
  { name: 'connected with a seq at or after since: wait for resumed',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: 10 }), ev: { type: 'connected', seq: 12, width: 4, height: 3 },
    to: { resumeArmed: true, phase: 'syncing' }, fx: [{ type: 'armResume', gen: 1 }] },
  { name: 'connected without seq (v1 server): reload',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: 10 }), ev: { type: 'connected', seq: null },
    to: { reloading: true, liveAfterLoad: 1, phase: 'syncing' }, fx: [{ type: 'load' }] },
  { name: 'connected when we sent no since: reload',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: null }), ev: { type: 'connected', seq: 5 },
    to: { reloading: true, liveAfterLoad: 1 }, fx: [{ type: 'load' }] },
  { name: 'connected with a seq below since (the store went back): reload',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: 10 }), ev: { type: 'connected', seq: 9 },
    to: { reloading: true, liveAfterLoad: 1 }, fx: [{ type: 'load' }] },
  { name: 'connected with another size: reload',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: 10 }), ev: { type: 'connected', seq: 10, width: 8, height: 3 },
    to: { reloading: true, liveAfterLoad: 1 }, fx: [{ type: 'load' }] },
  { name: 'resumed recovered: seq advanced, live, writes settled from the replay',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, resumeArmed: true }), ev: { type: 'resumed', seq: 20, recovered: true },
    to: { phase: 'live', everLive: true, resumeArmed: false },
    fx: [{ type: 'cancelResume' }, { type: 'advanceSeq', seq: 20 }, { type: 'goLive', recovered: true }] },
  { name: 'resumed not recovered: reload the snapshot',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, resumeArmed: true }), ev: { type: 'resumed', seq: 20, recovered: false },
    to: { phase: 'syncing', reloading: true, liveAfterLoad: 1 }, fx: [{ type: 'cancelResume' }, { type: 'load' }] },
  { name: 'resumed not recovered while live (unsolicited): back to syncing, reload',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 1, everLive: true }), ev: { type: 'resumed', seq: 20, recovered: false },
    to: { phase: 'syncing', reloading: true, liveAfterLoad: 1 }, fx: [{ type: 'load' }] },
  { name: 'resumed recovered during a reload: waits for the snapshot, no second load',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, reloading: true }), ev: { type: 'resumed', seq: 20, recovered: true },
    to: { phase: 'syncing', reloading: true, liveAfterLoad: 1 }, fx: [] },
  { name: 'no resumed in time: reload',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, resumeArmed: true }), ev: { type: 'resumeTimeout', gen: 1 },
    to: { reloading: true, resumeArmed: false, liveAfterLoad: 1 }, fx: [{ type: 'load' }] },
  { name: 'a resume timer of an older socket does nothing',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 2, resumeArmed: true }), ev: { type: 'resumeTimeout', gen: 1 },
    to: { reloading: false, resumeArmed: true }, fx: [] },
  { name: 'a resume timer that fires once live does nothing',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 1 }), ev: { type: 'resumeTimeout', gen: 1 },
    to: { phase: 'live', reloading: false }, fx: [] },
  { name: 'close: down, resume timer stopped',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, resumeArmed: true }), ev: { type: 'close' },
    to: { phase: 'down', open: false, resumeArmed: false }, fx: [{ type: 'cancelResume' }] },
  { name: 'close before any snapshot: still loading',
    from: st({ phase: 'loading', reloading: true }), ev: { type: 'close' }, to: { phase: 'loading', open: false }, fx: [] },
  { name: 'load failed: the error and when it is tried again',
    from: st({ reloading: true }), ev: { type: 'loadFailed', error: 'HTTP 503', retryAt: 500 },
    to: { loadError: 'HTTP 503', loadRetryAt: 500, reloading: true }, fx: [] },
  { name: 'loaded with no socket waiting: installed only',
    from: st({ reloading: true, loadError: 'x' }), ev: { type: 'loaded', width: 4, height: 3 },
    to: { reloading: false, loadError: null, size: { width: 4, height: 3 }, phase: 'loading' }, fx: [{ type: 'install' }] },
  { name: 'loaded for the open socket that asked: installed, then live, in-doubt writes checked against it',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 3, reloading: true, liveAfterLoad: 3 }), ev: { type: 'loaded', width: 4, height: 3 },
    to: { phase: 'live', everLive: true, liveAfterLoad: null }, fx: [{ type: 'install' }, { type: 'goLive', recovered: false }] },
  { name: 'loaded after the socket that asked closed: not live',
    from: st({ ...SIZED, phase: 'down', open: false, gen: 3, reloading: true, liveAfterLoad: 3 }), ev: { type: 'loaded', width: 4, height: 3 },
    to: { phase: 'down', liveAfterLoad: null }, fx: [{ type: 'install' }] },
  { name: 'loaded after a newer socket opened: that one still has to catch up',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 4, reloading: true, liveAfterLoad: 3 }), ev: { type: 'loaded', width: 4, height: 3 },
    to: { phase: 'syncing' }, fx: [{ type: 'install' }] },
  { name: 'a pixel while a snapshot loads is buffered',
    from: st({ ...SIZED, phase: 'syncing', reloading: true }), ev: { type: 'pixel', event: pix }, to: {}, fx: [{ type: 'buffer', event: pix }] },
  { name: 'a pixel while live is applied and shown as someone else\'s',
    from: st({ ...SIZED, phase: 'live', open: true }), ev: { type: 'pixel', event: pix }, to: {}, fx: [{ type: 'apply', event: pix, quiet: false }] },
  { name: 'a replayed pixel (syncing) is applied quietly',
    from: st({ ...SIZED, phase: 'syncing', open: true }), ev: { type: 'pixel', event: pix }, to: {}, fx: [{ type: 'apply', event: pix, quiet: true }] },
  { name: 'a pixel before the first snapshot is buffered by the load in flight',
    from: st({ reloading: true }), ev: { type: 'pixel', event: pix }, to: {}, fx: [{ type: 'buffer', event: pix }] },
  { name: 'a pixel with no board and no load is dropped',
    from: st({}), ev: { type: 'pixel', event: pix }, to: {}, fx: [] },
  { name: 'a reset while a snapshot loads is buffered',
    from: st({ ...SIZED, reloading: true }), ev: { type: 'canvasReset', event: rst }, to: {}, fx: [{ type: 'buffer', event: rst }] },
  { name: 'a reset otherwise wipes the board',
    from: st({ ...SIZED, phase: 'live', open: true }), ev: { type: 'canvasReset', event: rst }, to: {}, fx: [{ type: 'reset', event: rst }] },
  // Epochs: the timeline a seq is on.
  { name: 'open forgets the old socket\'s timeline',
    from: st({ ...SIZED, gen: 1, streamEpoch: 'A', epoch: 'A' }), ev: { type: 'open' },
    to: { streamEpoch: null, epoch: 'A' }, fx: [] },
  { name: 'connected on the board\'s timeline: wait for resumed, remember the stream\'s',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: 10, epoch: 'A' }), ev: { type: 'connected', seq: 12, epoch: 'A' },
    to: { resumeArmed: true, streamEpoch: 'A', epoch: 'A' }, fx: [{ type: 'armResume', gen: 1 }] },
  { name: 'connected on another timeline than the board\'s: reload at once, the buffer dropped',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: 10, epoch: 'A' }), ev: { type: 'connected', seq: 12, epoch: 'B' },
    to: { reloading: true, liveAfterLoad: 1, streamEpoch: 'B', epoch: 'A' }, fx: [{ type: 'dropBuffer' }, { type: 'load' }] },
  { name: 'connected with an epoch, the board without (loaded from a server without epochs): resume as before',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, sentSince: 10 }), ev: { type: 'connected', seq: 12, epoch: 'B' },
    to: { resumeArmed: true, streamEpoch: 'B' }, fx: [{ type: 'armResume', gen: 1 }] },
  { name: 'resumed recovered takes the epoch it names',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, resumeArmed: true, epoch: null, streamEpoch: 'B' }),
    ev: { type: 'resumed', seq: 20, recovered: true, epoch: 'B' },
    to: { phase: 'live', epoch: 'B', streamEpoch: 'B' }, fx: [{ type: 'cancelResume' }, { type: 'advanceSeq', seq: 20 }, { type: 'goLive', recovered: true }] },
  { name: 'resumed not recovered on a new timeline (the gateway moved): reload, the buffer dropped',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 1, everLive: true, epoch: 'A', streamEpoch: 'A' }),
    ev: { type: 'resumed', seq: 4, recovered: false, epoch: 'B' },
    to: { phase: 'syncing', reloading: true, liveAfterLoad: 1, streamEpoch: 'B', epoch: 'A' }, fx: [{ type: 'dropBuffer' }, { type: 'load' }] },
  { name: 'resumed on a new timeline while a load is in flight: no second load, but the old timeline\'s buffer goes',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 1, reloading: true, liveAfterLoad: 1, epoch: 'A', streamEpoch: 'A' }),
    ev: { type: 'resumed', seq: 4, recovered: false, epoch: 'B' },
    to: { reloading: true, streamEpoch: 'B' }, fx: [{ type: 'dropBuffer' }] },
  { name: 'loaded on the socket\'s timeline: installed, the board on it',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 3, reloading: true, liveAfterLoad: 3, streamEpoch: 'B', epoch: 'A' }),
    ev: { type: 'loaded', width: 4, height: 3, epoch: 'B' },
    to: { phase: 'live', epoch: 'B', reloading: false }, fx: [{ type: 'install' }, { type: 'goLive', recovered: false }] },
  { name: 'loaded on another timeline than the open socket\'s: not installed, loaded again',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 3, reloading: true, liveAfterLoad: 3, streamEpoch: 'A', epoch: 'A' }),
    ev: { type: 'loaded', width: 4, height: 3, epoch: 'B' },
    to: { phase: 'syncing', epoch: 'A', reloading: true, liveAfterLoad: 3, loadError: OTHER_TIMELINE }, fx: [{ type: 'retryLoad' }] },
  // Falling behind (lib/catchup.js decides; the machine reloads).
  { name: 'fallen behind while live: reload, staying live (no reconcile afterwards)',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 2, everLive: true }), ev: { type: 'fallBehind' },
    to: { phase: 'live', reloading: true, liveAfterLoad: null }, fx: [{ type: 'load' }] },
  { name: 'fallen behind while a load is in flight: no second load',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 2, reloading: true }), ev: { type: 'fallBehind' },
    to: { phase: 'live', reloading: true }, fx: [] },
  { name: 'fallen behind while syncing: the replay or snapshot under way is the catch-up',
    from: st({ ...SIZED, phase: 'syncing', open: true, gen: 2 }), ev: { type: 'fallBehind' },
    to: { phase: 'syncing', reloading: false }, fx: [] },
  { name: 'fallen behind after the socket closed: nothing (the next socket resumes)',
    from: st({ ...SIZED, phase: 'down', open: false, gen: 2 }), ev: { type: 'fallBehind' },
    to: { phase: 'down', reloading: false }, fx: [] },
  { name: 'the catch-up snapshot loaded: installed, still live, no goLive',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 2, everLive: true, reloading: true, streamEpoch: 'A', epoch: 'A' }),
    ev: { type: 'loaded', width: 4, height: 3, epoch: 'A' },
    to: { phase: 'live', reloading: false, epoch: 'A' }, fx: [{ type: 'install' }] },
  { name: 'the catch-up snapshot on another timeline than the socket\'s: not installed, loaded again',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 2, everLive: true, reloading: true, streamEpoch: 'A', epoch: 'A' }),
    ev: { type: 'loaded', width: 4, height: 3, epoch: 'B' },
    to: { phase: 'live', reloading: true, loadError: OTHER_TIMELINE }, fx: [{ type: 'retryLoad' }] },
  { name: 'resumed not recovered during a catch-up: the load in flight serves, then live (reconciled) on it',
    from: st({ ...SIZED, phase: 'live', open: true, gen: 2, everLive: true, reloading: true, streamEpoch: 'A', epoch: 'A' }),
    ev: { type: 'resumed', seq: 30, recovered: false, epoch: 'B' },
    to: { phase: 'syncing', reloading: true, liveAfterLoad: 2, streamEpoch: 'B' }, fx: [{ type: 'dropBuffer' }] },
  { name: 'loaded with no socket open: installed whatever its timeline (the next socket judges)',
    from: st({ reloading: true, streamEpoch: 'A' }), ev: { type: 'loaded', width: 4, height: 3, epoch: 'B' },
    to: { epoch: 'B', reloading: false }, fx: [{ type: 'install' }] },
];

for (const row of table) {
  test(`step: ${row.name}`, () => {
    const frozen = Object.freeze({ ...row.from });
    const { state, effects } = step(frozen, row.ev);
    for (const [k, v] of Object.entries(row.to)) assert.deepEqual(state[k], v, `state.${k}`);
    assert.deepEqual(effects, row.fx);
  });
}

test('step: an unknown event is a clear error', () => {
  assert.throws(() => step(initialState(), /** @type {any} */ ({ type: 'bogus' })), /unknown event "bogus"/);
});

test('checkSnapshot refuses what a board cannot hold', () => {
  const ok = { width: 2, height: 1, seq: 3, rgb: new Uint8Array(6) };
  assert.equal(checkSnapshot(ok), ok);
  assert.throws(() => checkSnapshot(/** @type {any} */ (null)), /bad size/);
  assert.throws(() => checkSnapshot({ ...ok, width: 0 }), /bad size/);
  assert.throws(() => checkSnapshot({ ...ok, width: 1.5 }), /bad size/);
  assert.throws(() => checkSnapshot({ ...ok, rgb: new Uint8Array(5) }), /5 bytes of colour, want 6/);
  assert.throws(() => checkSnapshot({ ...ok, seq: -1 }), /bad seq/);
  assert.equal(checkSnapshot({ ...ok, seq: null }).seq, null);
  assert.throws(() => checkSnapshot(/** @type {any} */ ({ ...ok, epoch: 7 })), /bad epoch/);
  assert.equal(checkSnapshot({ ...ok, epoch: 'A' }).epoch, 'A');
});

// ------------------------------------------------------------ the runner

const W = 4;
const H = 3;
/** A white snapshot (optionally with some pixels set) at seq. */
function snapshot(seq, set = {}, w = W, h = H) {
  const rgb = new Uint8Array(w * h * 3).fill(255);
  for (const [k, c] of Object.entries(set)) {
    const [x, y] = k.split(',').map(Number);
    const o = (y * w + x) * 3;
    rgb[o] = (c >> 16) & 255; rgb[o + 1] = (c >> 8) & 255; rgb[o + 2] = c & 255;
  }
  return { width: w, height: h, seq, rgb };
}

/** @returns {any} a decoded pixel_updated */
const ev = (x, y, color, seq, id = null) => ({ type: 'pixel_updated', x, y, color, seq, id, username: 'X', timestamp: 1 });

/**
 * @param {{clock?: () => number}} [o] the lag's clock; by default a stopped
 * one, so events stamped 1 are never late whatever the test's fake time
 */
function harness(o = {}) {
  const t = fakeTime(1000);
  /** Loads the test has not answered yet. @type {{resolve: (s: any) => void, reject: (e: any) => void}[]} */
  const loads = [];
  const log = [];
  let changes = 0;
  const sync = new Sync({
    loadSnapshot: () => new Promise((resolve, reject) => loads.push({ resolve, reject })),
    createBoard: (w, h) => new Board(w, h, { idPrefix: 't' }),
    timers: t.timers,
    now: t.now,
    backoff: new Backoff({ baseMs: 500, maxMs: 5000, jitter: 0 }),
    clock: o.clock || (() => 0),
    hooks: {
      onBoard: (b, dropped) => log.push(['board', b.width, b.height, dropped]),
      onSnapshot: (b, sizeChanged) => log.push(['snapshot', b.lastSeq, sizeChanged]),
      onPixel: (m, r, quiet) => log.push(['pixel', m.seq, r.applied, quiet]),
      onReset: (m) => log.push(['reset', m.seq]),
      onLive: (r, recovered) => log.push(['live', recovered, r]),
      onChange: () => { changes++; },
    },
  });
  /** Answer the oldest load. */
  const answer = async (snap) => {
    const l = loads.shift();
    assert.ok(l, 'a snapshot load is in flight');
    l.resolve(snap);
    await settle();
  };
  const fail = async (err) => {
    const l = loads.shift();
    assert.ok(l, 'a snapshot load is in flight');
    l.reject(err);
    await settle();
  };
  /** A socket opens: dial (the URL's since), open, `connected`. */
  const connect = (seq, size = {}) => {
    const since = sync.dial();
    sync.opened();
    sync.handle({ type: 'connected', clientId: 'c_1', seq, width: null, height: null, ...size });
    return since;
  };
  return { t, sync, loads, log, answer, fail, connect, get changes() { return changes; } };
}

/** Loaded at seq 10 and live after a recovered (empty) resume. @param {{clock?: () => number}} [o] */
async function liveAt10(o) {
  const h = harness(o);
  const started = h.sync.start();
  await h.answer(snapshot(10));
  await started;
  assert.equal(h.connect(10), 10);
  h.sync.handle({ type: 'resumed', seq: 10, recovered: true });
  assert.equal(h.sync.phase, 'live');
  h.log.length = 0;
  return h;
}

test('first load: the board comes from the snapshot, then the socket resumes from its seq', async () => {
  const h = harness();
  let started = false;
  const p = h.sync.start().then(() => { started = true; });
  assert.equal(h.sync.phase, 'loading');
  assert.equal(h.sync.board, null);
  assert.equal(h.sync.dial(), null, 'no since before a snapshot');
  await settle();
  assert.equal(started, false, 'start waits for the snapshot');
  await h.answer(snapshot(10, { '1,1': RED }));
  await p;
  assert.equal(started, true);
  assert.equal(h.sync.board.displayedHex(1, 1), '#FF0000');
  assert.deepEqual(h.log, [['board', W, H, 0], ['snapshot', 10, true]]);
  assert.equal(h.connect(10), 10);
  assert.equal(h.sync.phase, 'syncing');
  assert.equal(h.sync.live, false);
  h.sync.handle(ev(2, 2, '#0000FF', 11));
  h.sync.handle({ type: 'resumed', seq: 11, recovered: true });
  assert.equal(h.sync.live, true);
  assert.equal(h.sync.everLive, true);
  assert.equal(h.sync.board.displayedHex(2, 2), '#0000FF');
  assert.deepEqual(h.log.slice(2), [['pixel', 11, true, true], ['live', true, { settled: 0, requeued: 0, rolledBack: 0 }]]);
  assert.equal(h.t.count, 0, 'no resume timer left running');
});

test('a failing snapshot load is retried with a backoff and says why meanwhile', async () => {
  const h = harness();
  const p = h.sync.start();
  await h.fail(new Error('HTTP 503'));
  assert.equal(h.sync.loadError, 'HTTP 503');
  assert.equal(h.sync.loadRetryAt, 1500);
  assert.equal(h.loads.length, 0);
  h.t.advance(499);
  assert.equal(h.loads.length, 0, 'not before the backoff');
  h.t.advance(1);
  assert.equal(h.loads.length, 1);
  await h.fail(new Error('HTTP 502'));
  assert.equal(h.sync.loadRetryAt, 2500, 'the second wait is longer');
  h.t.advance(1000);
  // A loader answering nonsense is a failed load too, not a crash.
  await h.answer({ width: 4, height: 3, seq: 1, rgb: new Uint8Array(3) });
  assert.match(h.sync.loadError, /3 bytes of colour/);
  assert.equal(h.sync.board, null);
  h.t.advance(2000);
  await h.answer(snapshot(1));
  await p;
  assert.equal(h.sync.loadError, null);
  assert.ok(h.sync.board);
  assert.ok(h.changes >= 4, 'the status was told about each change');
});

test('resume recovered: the replay settles in-doubt writes (landed, beaten, lost once)', async () => {
  const h = await liveAt10();
  const b = h.sync.board;
  const landed = b.paint(0, 0, RED, 0);
  const beaten = b.paint(1, 0, RED, 0);
  const lost = b.paint(2, 0, RED, 0);
  for (const w of [landed, beaten, lost]) b.markSent(w, 0);
  h.sync.closed();
  assert.equal(h.sync.phase, 'down');
  assert.equal(b.pendingCount, 3, 'in doubt, still shown');
  assert.equal(b.displayedHex(2, 0), '#FF0000');

  assert.equal(h.connect(10), 10);
  h.sync.handle(ev(0, 0, '#FF0000', 11)); // ours, echoed in the replay without id
  h.sync.handle(ev(1, 0, '#0000FF', 12)); // someone else's, after ours
  h.sync.handle({ type: 'resumed', seq: 12, recovered: true });
  assert.equal(h.sync.phase, 'live');
  const live = h.log.find((l) => l[0] === 'live');
  assert.deepEqual(live, ['live', true, { settled: 1, requeued: 1, rolledBack: 0 }]);
  assert.equal(b.displayedHex(0, 0), '#FF0000');
  assert.equal(b.displayedHex(1, 0), '#0000FF', 'the later write stands');
  assert.equal(b.nextQueued(), lost, 'the lost write is sent again');
  assert.equal(b.pendingCount, 1);
});

test('resume not recovered: the snapshot reloads, events buffered meanwhile are applied only if newer', async () => {
  const h = await liveAt10();
  const b = h.sync.board;
  const kept = b.paint(0, 0, RED, 0);
  const undone = b.paint(3, 2, RED, 0);
  b.markSent(kept, 0);
  b.markSent(undone, 0);
  h.sync.closed();
  h.connect(10);
  h.sync.handle({ type: 'resumed', seq: 40, recovered: false });
  assert.equal(h.sync.phase, 'syncing');
  assert.equal(h.loads.length, 1, 'one snapshot asked for');
  // Arrive while the snapshot loads:
  h.sync.handle(ev(1, 1, '#0000FF', 44)); // older than the snapshot: already in it
  h.sync.handle(ev(2, 1, '#0000FF', 45)); // as old as the snapshot
  h.sync.handle(ev(2, 2, '#0000FF', 46)); // newer: applied afterwards
  assert.equal(b.displayedHex(2, 2), '#FFFFFF', 'nothing applied while loading');
  // A second reason to reload while one is in flight does not load twice.
  h.sync.handle({ type: 'resumed', seq: 46, recovered: false });
  assert.equal(h.loads.length, 1);

  await h.answer(snapshot(45, { '0,0': RED, '1,1': 0x00ff00, '2,1': 0x00ff00 }));
  assert.equal(h.sync.phase, 'live');
  assert.equal(b.displayedHex(1, 1), '#00FF00', 'a buffered event older than the snapshot is dropped');
  assert.equal(b.displayedHex(2, 1), '#00FF00', 'so is one at the snapshot\'s seq');
  assert.equal(b.displayedHex(2, 2), '#0000FF', 'a newer one is applied');
  assert.equal(b.lastSeq, 46);
  // In doubt after a reload: kept only where the snapshot shows our colour.
  assert.equal(b.pendingCount, 0);
  assert.equal(b.displayedHex(0, 0), '#FF0000');
  assert.equal(b.displayedHex(3, 2), '#FFFFFF', 'rolled back, never resent blindly');
  const order = h.log.map((l) => l[0]);
  assert.deepEqual(order, ['pixel', 'pixel', 'pixel', 'snapshot', 'live']);
  assert.deepEqual(h.log.slice(0, 3).map((l) => [l[1], l[2], l[3]]), [[44, false, true], [45, false, true], [46, true, true]]);
  assert.deepEqual(h.log[4], ['live', false, { settled: 1, requeued: 0, rolledBack: 1 }]);
});

test('a canvas reset buffered during a reload wipes the board only if newer than the snapshot', async () => {
  for (const [resetSeq, wiped] of [[50, true], [45, false], [null, true]]) {
    const h = await liveAt10();
    h.sync.handle({ type: 'resumed', seq: 40, recovered: false });
    h.sync.handle({ type: 'canvas_reset', seq: resetSeq, timestamp: 1 });
    await h.answer(snapshot(45, { '0,0': RED }));
    assert.equal(h.sync.board.displayedHex(0, 0), wiped ? '#FFFFFF' : '#FF0000', `reset at ${resetSeq}`);
    assert.equal(h.log.some((l) => l[0] === 'reset'), false, 'a buffered reset is part of the snapshot, not news');
  }
});

test('a live reset wipes the board and is reported', async () => {
  const h = await liveAt10();
  h.sync.handle(ev(1, 1, '#FF0000', 11));
  h.sync.handle({ type: 'canvas_reset', seq: 12, timestamp: 1 });
  assert.equal(h.sync.board.displayedHex(1, 1), '#FFFFFF');
  assert.equal(h.sync.board.lastSeq, 12);
  assert.deepEqual(h.log, [['pixel', 11, true, false], ['reset', 12]]);
});

test('the reload buffer is bounded for pixels, never for resets', async () => {
  const h = harness();
  h.sync.maxBuffered = 2;
  const p = h.sync.start();
  h.sync.handle(ev(0, 0, '#FF0000', 11));
  h.sync.handle(ev(1, 0, '#FF0000', 12));
  h.sync.handle(ev(2, 0, '#FF0000', 13));
  h.sync.handle({ type: 'canvas_reset', seq: 9, timestamp: 1 });
  assert.equal(h.sync.buffer.length, 3);
  await h.answer(snapshot(10));
  await p;
  assert.equal(h.sync.board.displayedHex(1, 0), '#FF0000');
  assert.equal(h.sync.board.displayedHex(2, 0), '#FFFFFF', 'over the bound: dropped');
});

test('no `resumed` within the wait: the snapshot is reloaded', async () => {
  const h = harness();
  const p = h.sync.start();
  await h.answer(snapshot(10));
  await p;
  h.connect(10);
  h.t.advance(RESUME_WAIT_MS - 1);
  assert.equal(h.loads.length, 0);
  h.t.advance(1);
  assert.equal(h.loads.length, 1);
  await h.answer(snapshot(12));
  assert.equal(h.sync.phase, 'live');
  assert.equal(h.sync.board.lastSeq, 12);
});

test('a resume timer of a closed socket does not reload for the next one', async () => {
  const h = harness();
  const p = h.sync.start();
  await h.answer(snapshot(10));
  await p;
  h.connect(10);
  h.t.advance(RESUME_WAIT_MS / 2);
  h.sync.closed();
  assert.equal(h.t.count, 0, 'the timer was stopped');
  h.connect(10);
  h.t.advance(RESUME_WAIT_MS / 2);
  assert.equal(h.loads.length, 0, 'the new socket has its own full wait');
  h.sync.handle({ type: 'resumed', seq: 10, recovered: true });
  assert.equal(h.sync.phase, 'live');
});

test('a v1 server (no seq) and a store that went back are synced by snapshot', async () => {
  for (const seq of [null, 5]) {
    const h = await liveAt10();
    h.sync.closed();
    h.connect(seq);
    assert.equal(h.sync.phase, 'syncing');
    assert.equal(h.loads.length, 1, `connected seq ${seq}`);
    await h.answer(snapshot(seq ?? null, { '3,0': BLUE }));
    assert.equal(h.sync.phase, 'live');
    assert.equal(h.sync.board.displayedHex(3, 0), '#0000FF');
    assert.equal(h.sync.board.lastSeq, seq ?? 0, 'the snapshot wins even if older');
  }
});

test('a snapshot that lands after its socket closed is installed, but not live; the next socket resumes', async () => {
  const h = await liveAt10();
  h.sync.handle({ type: 'resumed', seq: 10, recovered: false });
  h.sync.closed();
  assert.equal(h.sync.phase, 'down');
  await h.answer(snapshot(20));
  assert.equal(h.sync.phase, 'down', 'no socket to be live on');
  assert.equal(h.log.some((l) => l[0] === 'live'), false);
  assert.equal(h.connect(20), 20, 'the next socket resumes from the snapshot');
  h.sync.handle({ type: 'resumed', seq: 20, recovered: true });
  assert.equal(h.sync.phase, 'live');
});

test('a snapshot that lands after a newer socket opened does not make that one live before its resume', async () => {
  const h = await liveAt10();
  h.sync.handle({ type: 'resumed', seq: 10, recovered: false });
  h.sync.closed();
  h.connect(10); // arms the resume wait
  await h.answer(snapshot(20));
  assert.equal(h.sync.phase, 'syncing');
  h.sync.handle({ type: 'resumed', seq: 20, recovered: true });
  assert.equal(h.sync.phase, 'live');
});

test('going down and coming back: phases, status updates, pixels while down', async () => {
  const h = await liveAt10();
  const before = h.changes;
  h.sync.closed();
  assert.equal(h.sync.phase, 'down');
  assert.equal(h.sync.live, false);
  assert.equal(h.changes, before + 1);
  h.connect(10);
  assert.equal(h.sync.phase, 'syncing');
  h.sync.handle(ev(0, 1, '#0000FF', 11));
  assert.deepEqual(h.log, [['pixel', 11, true, true]], 'a replayed pixel is quiet');
  h.sync.handle({ type: 'resumed', seq: 30, recovered: true });
  assert.equal(h.sync.phase, 'live');
  assert.equal(h.sync.board.lastSeq, 30, 'resumed seq advances lastSeq');
  assert.equal(h.changes, before + 3);
  assert.equal(h.sync.handle({ type: 'stats', activeUsers: 1, timestamp: null }), false, 'not sync\'s business');
});

test('a snapshot of another size replaces the board and drops unsent writes', async () => {
  const h = await liveAt10();
  const old = h.sync.board;
  old.paint(0, 0, RED, 0);
  old.paint(1, 0, RED, 0);
  h.sync.closed();
  h.connect(10, { width: 8, height: 8 });
  await h.answer(snapshot(11, {}, 8, 8));
  assert.notEqual(h.sync.board, old);
  assert.equal(h.sync.board.width, 8);
  assert.deepEqual(h.log.slice(0, 2), [['board', 8, 8, 2], ['snapshot', 11, true]]);
  assert.equal(h.sync.phase, 'live');
});

test('Sync refuses to be built without its loader and board factory', () => {
  assert.throws(() => new Sync(/** @type {any} */ ({})), /loadSnapshot and createBoard/);
});

// ------------------------------------------------------------ epochs, end to end

/** A white snapshot at seq on the timeline epoch. */
const snapOn = (seq, epoch, set = {}) => ({ ...snapshot(seq, set), epoch });

test('a resume carries the board\'s epoch; a gateway that moves to a new timeline makes the page reload it, also while its snapshot is behind', async () => {
  const h = harness();
  const started = h.sync.start();
  await h.answer(snapOn(10, 'A'));
  await started;
  assert.equal(h.sync.epoch, 'A', 'the snapshot\'s epoch');
  h.sync.dial();
  h.sync.opened();
  h.sync.handle({ type: 'connected', clientId: 'c', seq: 10, epoch: 'A', width: null, height: null });
  h.sync.handle({ type: 'resumed', seq: 12, recovered: true, epoch: 'A' });
  h.sync.handle(ev(2, 2, '#FF0000', 12)); // a pixel of timeline A, later lost
  assert.equal(h.sync.phase, 'live');
  // The store lost seq 12 and handed it out again: the gateway says so.
  h.sync.handle({ type: 'resumed', seq: 11, recovered: false, epoch: 'B' });
  assert.equal(h.loads.length, 1, 'a reload');
  // A pixel of the new timeline arrives while the snapshot loads, above it.
  h.sync.handle(ev(3, 0, '#0000FF', 13));
  await h.answer(snapOn(12, 'B'));
  assert.equal(h.sync.phase, 'live');
  assert.equal(h.sync.epoch, 'B');
  const b = h.sync.board;
  assert.equal(b.confirmedHex(2, 2), '#FFFFFF', 'the lost pixel is gone');
  assert.equal(b.confirmedHex(3, 0), '#0000FF', 'the buffered pixel of the new timeline is applied');
  // The next socket resumes on B.
  h.sync.closed();
  assert.equal(h.sync.dial(), 13);
  assert.equal(h.sync.epoch, 'B');
});

test('a snapshot from a timeline the socket is not on yet is loaded again until they agree', async () => {
  const h = harness();
  const started = h.sync.start();
  await h.answer(snapOn(10, 'A'));
  await started;
  h.sync.dial();
  h.sync.opened();
  h.sync.handle({ type: 'connected', clientId: 'c', seq: 10, epoch: 'A', width: null, height: null });
  h.sync.handle({ type: 'resumed', seq: 10, recovered: false, epoch: 'A' });
  // The store moved to B before this gateway noticed.
  await h.answer(snapOn(15, 'B', { '1,1': RED }));
  assert.equal(h.sync.phase, 'syncing', 'not installed');
  assert.equal(h.sync.loadError, OTHER_TIMELINE);
  assert.equal(h.sync.board.confirmedHex(1, 1), '#FFFFFF');
  assert.equal(h.loads.length, 0, 'the next attempt waits for the backoff');
  h.t.advance(500);
  assert.equal(h.loads.length, 1);
  // Meanwhile the gateway moves to B; the attempt in flight brings B.
  h.sync.handle({ type: 'resumed', seq: 15, recovered: false, epoch: 'B' });
  assert.equal(h.loads.length, 1, 'no second load while one is in flight');
  await h.answer(snapOn(15, 'B', { '1,1': RED }));
  assert.equal(h.sync.phase, 'live');
  assert.equal(h.sync.loadError, null);
  assert.equal(h.sync.board.confirmedHex(1, 1), '#FF0000');
  assert.equal(h.sync.epoch, 'B');
});

test('a socket on another timeline than the board\'s reloads before any replay', async () => {
  const h = harness();
  const started = h.sync.start();
  await h.answer(snapOn(10, 'A', { '0,0': RED }));
  await started;
  h.sync.dial();
  h.sync.opened();
  h.sync.handle({ type: 'connected', clientId: 'c', seq: 14, epoch: 'B', width: null, height: null });
  assert.equal(h.loads.length, 1);
  await h.answer(snapOn(14, 'B'));
  assert.equal(h.sync.phase, 'live');
  assert.equal(h.sync.board.confirmedHex(0, 0), '#FFFFFF');
  assert.equal(h.sync.epoch, 'B');
});

// ------------------------------------------------------------ falling behind

/** A live event stamped by the server at ts. @returns {any} */
const at = (x, y, color, seq, ts, id = null) => ({ ...ev(x, y, color, seq, id), timestamp: ts });

/** Live at seq 10 with the lag's clock on the fake time; the page's clock is 1,000 s ahead of the server's. */
async function liveWithClock() {
  /** @type {any} */
  let h = null;
  h = await liveAt10({ clock: () => h.t.now() });
  return h;
}
const AHEAD = 1_000_000;

test('a page that falls behind reloads the snapshot, buffers the backlog, applies only what is newer, never twice', async () => {
  const h = await liveWithClock();
  const b = h.sync.board;
  const serverNow = () => h.t.now() - AHEAD;
  // Prompt events: the reference.
  h.sync.handle(at(0, 0, '#FF0000', 11, serverNow()));
  h.t.advance(100);
  h.sync.handle(at(1, 0, '#FF0000', 12, serverNow() - 50));
  assert.equal(h.sync.catchUps, 0);
  assert.equal(h.loads.length, 0);
  // The main thread was busy for 3 s: the next event was stamped 3 s ago.
  const sent = serverNow();
  h.t.advance(3000);
  h.sync.handle(at(2, 0, '#0000FF', 13, sent));
  assert.equal(h.sync.catchUps, 1);
  assert.equal(h.loads.length, 1, 'the snapshot asked for');
  assert.equal(h.sync.phase, 'live', 'still live: the socket is the same');
  assert.equal(h.sync.live, true, 'writes keep flowing');
  assert.equal(b.confirmedHex(2, 0), '#FFFFFF', 'the late event is buffered, not applied');
  // The rest of the backlog, also late: buffered, no second load.
  for (let seq = 14; seq <= 30; seq++) h.sync.handle(at(seq % 4, 1, '#00FF00', seq, sent + seq));
  assert.equal(h.loads.length, 1);
  assert.equal(h.sync.catchUps, 1);
  // The snapshot is at 25: it has 13..25; 26..30 are applied from the buffer.
  await h.answer(snapshot(25, { '0,0': RED, '1,0': RED, '2,0': BLUE, '1,1': 0x00ff00 }));
  assert.equal(h.sync.phase, 'live');
  assert.equal(b.lastSeq, 30);
  assert.equal(b.confirmedHex(2, 0), '#0000FF');
  for (let x = 0; x < 4; x++) assert.equal(b.confirmedHex(x, 1), '#00FF00');
  const applied = h.log.filter((l) => l[0] === 'pixel' && l[2]).map((l) => l[1]);
  assert.deepEqual(applied, [11, 12, 26, 27, 28, 29, 30], 'each event applied once: before the load, or above the snapshot');
  assert.equal(h.log.filter((l) => l[0] === 'live').length, 0, 'no reconcile: nothing was in doubt');
});

test('catch-ups are spaced: a page still behind after one waits before the next', async () => {
  const h = await liveWithClock();
  const serverNow = () => h.t.now() - AHEAD;
  h.sync.handle(at(0, 0, '#FF0000', 11, serverNow()));
  let seq = 12;
  const late = () => h.sync.handle(at(0, 0, '#FF0000', seq++, serverNow() - CATCH_UP_LAG_MS - 500));
  late();
  assert.equal(h.sync.catchUps, 1);
  await h.answer(snapshot(seq - 1));
  // Still late afterwards (a slow page): not again until the wait is over.
  h.t.advance(CATCH_UP_MIN_GAP_MS - 1);
  late();
  assert.equal(h.sync.catchUps, 1);
  assert.equal(h.loads.length, 0);
  h.t.advance(1);
  late();
  assert.equal(h.sync.catchUps, 2);
  assert.equal(h.loads.length, 1);
});

test('history is not lag: replayed events and a new socket\'s first events set no catch-up off', async () => {
  const h = await liveWithClock();
  const serverNow = () => h.t.now() - AHEAD;
  h.sync.handle(at(0, 0, '#FF0000', 11, serverNow()));
  h.sync.closed();
  h.t.advance(60_000);
  // A replay of events an hour old, while syncing.
  h.connect(11);
  h.sync.handle(at(1, 0, '#FF0000', 12, serverNow() - 3_600_000));
  h.sync.handle({ type: 'resumed', seq: 12, recovered: true });
  assert.equal(h.sync.phase, 'live');
  // This socket's first live event: another gateway's clock, 10 s behind the old one.
  h.sync.handle(at(2, 0, '#FF0000', 13, serverNow() - 10_000));
  h.t.advance(100);
  h.sync.handle(at(3, 0, '#FF0000', 14, serverNow() - 10_000));
  assert.equal(h.sync.catchUps, 0);
  assert.equal(h.loads.length, 0);
});

test('a reset that arrives late counts too, and is applied after the snapshot only if newer', async () => {
  const h = await liveWithClock();
  const serverNow = () => h.t.now() - AHEAD;
  h.sync.handle(at(0, 0, '#FF0000', 11, serverNow()));
  const sent = serverNow();
  h.t.advance(5000);
  h.sync.handle({ type: 'canvas_reset', seq: 12, timestamp: sent });
  assert.equal(h.sync.catchUps, 1);
  h.sync.handle(at(1, 1, '#0000FF', 13, sent + 1));
  await h.answer(snapshot(12));
  assert.equal(h.sync.board.confirmedHex(0, 0), '#FFFFFF');
  assert.equal(h.sync.board.confirmedHex(1, 1), '#0000FF');
  assert.equal(h.log.filter((l) => l[0] === 'reset').length, 0, 'the reset is in the snapshot');
});
