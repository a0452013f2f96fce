// "Who painted it" lookups (lib/pixelinfo.js): asked once after a pause,
// cached until the pixel changes, a failure retried later, an answer older
// than a live event dropped, nothing cached across a board change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Board } from '../static/js/lib/board.js';
import { ASK_DELAY_MS, PixelInfo, RETRY_MS, TEXT } from '../static/js/lib/pixelinfo.js';
import { fakeTime, settle } from './support/faketime.mjs';

function harness() {
  const t = fakeTime(1_000_000);
  let b = new Board(4, 4);
  b.loadSnapshot(new Uint8Array(48).fill(255), 100);
  /** @type {{url: string, signal: AbortSignal, answer: (status: number, body?: any) => void}[]} */
  const asked = [];
  const answers = [];
  const info = new PixelInfo({
    apiBase: 'http://api',
    board: () => b,
    timers: t.timers,
    now: t.now,
    onAnswer: (x, y) => answers.push([x, y]),
    fetch: (url, init) => new Promise((resolve, reject) => {
      init.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
      asked.push({
        url, signal: init.signal,
        answer: (status, body) => resolve(/** @type {any} */ ({ ok: status < 300, status, json: async () => body })),
      });
    }),
  });
  return { t, info, asked, answers, get board() { return b; }, setBoard: (nb) => { b = nb; } };
}

test('asks after a pause, once, and shows the answer until the pixel changes', async () => {
  const h = harness();
  assert.equal(h.info.describe(1, 2), TEXT.asking);
  assert.equal(h.info.describe(1, 2), TEXT.asking);
  h.t.advance(ASK_DELAY_MS - 1);
  assert.equal(h.asked.length, 0, 'not before the pause');
  h.t.advance(1);
  assert.equal(h.asked.length, 1);
  assert.equal(h.asked[0].url, 'http://api/api/pixel/1/2');
  h.info.describe(1, 2);
  h.t.advance(ASK_DELAY_MS);
  assert.equal(h.asked.length, 1, 'not again while in flight');
  h.asked[0].answer(200, { x: 1, y: 2, color: '#FF0000', seq: 40, username: 'ann', timestamp: 1_000_000 - 180_000 });
  await settle();
  assert.deepEqual(h.answers, [[1, 2]]);
  assert.equal(h.info.describe(1, 2), 'ann · 3 min ago');
  // A live event changes the pixel: what it says replaces the answer.
  h.board.applyPixel({ x: 1, y: 2, color: '#0000FF', seq: 101, id: null });
  assert.equal(h.info.describe(1, 2, false), TEXT.asking, 'the old answer no longer holds');
  h.info.record(h.board.index(1, 2), { username: 'bo', timestamp: null });
  assert.equal(h.info.describe(1, 2), 'bo · earlier');
});

test('unpainted and anonymous pixels', async () => {
  const h = harness();
  h.info.describe(0, 0);
  h.t.advance(ASK_DELAY_MS);
  h.asked[0].answer(200, { color: '#FFFFFF', seq: 0 });
  await settle();
  assert.equal(h.info.describe(0, 0), TEXT.unpainted);
  h.info.describe(1, 0);
  h.t.advance(ASK_DELAY_MS);
  h.asked[1].answer(200, { color: '#FF0000', seq: 5 });
  await settle();
  assert.equal(h.info.describe(1, 0), 'Anonymous · earlier');
  h.info.describe(2, 0);
  h.t.advance(ASK_DELAY_MS);
  h.asked[2].answer(200, { color: '#FF0000' }); // an old server: no seq
  await settle();
  assert.equal(h.info.describe(2, 0), 'someone · earlier');
});

test('a failed question says so, and is asked again after a while', async () => {
  const h = harness();
  h.info.describe(3, 3);
  h.t.advance(ASK_DELAY_MS);
  h.asked[0].answer(503);
  await settle();
  assert.equal(h.info.describe(3, 3), TEXT.failed);
  h.t.advance(RETRY_MS);
  assert.equal(h.info.describe(3, 3), TEXT.failed, 'not yet');
  h.t.advance(1);
  assert.equal(h.info.describe(3, 3), TEXT.asking);
  h.t.advance(ASK_DELAY_MS);
  assert.equal(h.asked.length, 2);
  h.asked[1].answer(200, { seq: 7, username: 'cy', color: '#00FF00' });
  await settle();
  assert.equal(h.info.describe(3, 3), 'cy · earlier');
});

test('an answer older than a live event that arrived meanwhile is dropped', async () => {
  const h = harness();
  h.info.describe(1, 1);
  h.t.advance(ASK_DELAY_MS);
  h.board.applyPixel({ x: 1, y: 1, color: '#0000FF', seq: 105, id: null });
  h.asked[0].answer(200, { seq: 104, username: 'old', color: '#FF0000' });
  await settle();
  assert.deepEqual(h.answers, []);
  assert.notEqual(h.info.describe(1, 1, false), 'old · earlier');
});

test('asking about another pixel aborts the question in flight; forget() drops everything', async () => {
  const h = harness();
  h.info.describe(0, 1);
  h.t.advance(ASK_DELAY_MS);
  h.info.describe(0, 2);
  assert.equal(h.asked[0].signal.aborted, false, 'still in flight until the next is sent');
  h.t.advance(ASK_DELAY_MS);
  assert.equal(h.asked[0].signal.aborted, true);
  h.asked[1].answer(200, { seq: 3, username: 'di', color: '#FF0000' });
  await settle();
  assert.equal(h.info.describe(0, 2), 'di · earlier');
  h.info.describe(0, 3);
  h.t.advance(ASK_DELAY_MS);
  h.info.forget();
  assert.equal(h.asked[2].signal.aborted, true, 'an answer about the old canvas is not kept');
  assert.equal(h.info.describe(0, 2, false), TEXT.asking);
  assert.equal(h.t.count, 0);
});

test('an answer for a board that was replaced meanwhile is dropped; outside the canvas says nothing', async () => {
  const h = harness();
  h.info.describe(1, 1);
  h.t.advance(ASK_DELAY_MS);
  const nb = new Board(4, 4);
  nb.loadSnapshot(new Uint8Array(48).fill(255), 200);
  h.setBoard(nb);
  h.asked[0].answer(200, { seq: 3, username: 'ed', color: '#FF0000' });
  await settle();
  assert.deepEqual(h.answers, []);
  assert.equal(h.info.describe(9, 9), '');
});

test('the cache is bounded: the oldest answer goes first', () => {
  const h = harness();
  h.info.max = 2;
  h.info.record(0, { username: 'a', timestamp: null });
  h.info.record(1, { username: 'b', timestamp: null });
  h.info.record(2, { username: 'c', timestamp: null });
  assert.deepEqual([...h.info.cache.keys()], [1, 2]);
});
