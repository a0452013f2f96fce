import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Board } from '../static/js/lib/board.js';

const RED = 0xff0000;
const BLUE = 0x0000ff;
const GREEN = 0x00ff00;

function setup(w = 4, h = 3, seq = 10) {
  const changes = [];
  const b = new Board(w, h, { idPrefix: 't', onPixel: (x, y, rgb) => changes.push([x, y, rgb]) });
  b.loadSnapshot(new Uint8Array(w * h * 3).fill(255), seq);
  return { b, changes };
}

const ev = (x, y, color, seq, id = null) => ({ type: 'pixel_updated', x, y, color, seq, id, username: 'X' });

test('snapshot loads colours and seq', () => {
  const b = new Board(2, 1);
  assert.equal(b.lastSeq, null);
  b.loadSnapshot(Uint8Array.from([1, 2, 3, 4, 5, 6]), 7);
  assert.equal(b.displayedHex(0, 0), '#010203');
  assert.equal(b.displayedHex(1, 0), '#040506');
  assert.equal(b.lastSeq, 7);
  assert.throws(() => b.loadSnapshot(new Uint8Array(5), 1), RangeError);
  assert.equal(b.displayedHex(2, 0), null);
});

test('last write wins by seq, not by arrival order', () => {
  const { b, changes } = setup();
  assert.equal(b.applyPixel(ev(1, 1, '#FF0000', 12)).applied, true);
  assert.equal(b.applyPixel(ev(1, 1, '#0000FF', 11)).applied, false);
  assert.equal(b.displayedHex(1, 1), '#FF0000');
  assert.equal(b.applyPixel(ev(1, 1, '#00FF00', 12)).applied, false, 'equal seq is a duplicate');
  assert.equal(b.applyPixel(ev(2, 2, '#0000FF', 10)).applied, false, 'not above the snapshot seq');
  assert.equal(b.lastSeq, 12);
  assert.deepEqual(changes, [[1, 1, RED]]);
});

test('events without seq (v1 server) apply in arrival order', () => {
  const { b } = setup();
  b.applyPixel(ev(0, 0, '#FF0000', null));
  b.applyPixel(ev(0, 0, '#0000FF', null));
  assert.equal(b.displayedHex(0, 0), '#0000FF');
  assert.equal(b.lastSeq, 10);
});

test('out-of-bounds events are ignored', () => {
  const { b, changes } = setup();
  assert.equal(b.applyPixel(ev(4, 0, '#FF0000', 11)).applied, false);
  assert.equal(changes.length, 0);
});

test('optimistic paint shows at once and the echo confirms it', () => {
  const { b, changes } = setup();
  const w = b.paint(1, 2, RED, 1000);
  assert.ok(w.id.startsWith('t'));
  assert.equal(b.displayedHex(1, 2), '#FF0000');
  assert.equal(b.confirmedHex(1, 2), '#FFFFFF');
  assert.equal(b.pendingCount, 1);
  assert.equal(b.nextQueued(), w);
  b.markSent(w, 1001);
  assert.equal(b.nextQueued(), undefined);
  assert.equal(w.sentAfterSeq, 10);
  const r = b.applyPixel(ev(1, 2, '#FF0000', 11, w.id));
  assert.equal(r.write, w);
  assert.equal(b.pendingCount, 0);
  assert.equal(b.confirmedHex(1, 2), '#FF0000');
  assert.deepEqual(changes, [[1, 2, RED]], 'the confirmation does not flicker the pixel');
});

test('painting the colour already shown sends nothing', () => {
  const { b } = setup();
  assert.equal(b.paint(0, 0, 0xffffff), null);
  assert.equal(b.paint(9, 9, RED), null);
  assert.equal(b.pendingCount, 0);
});

test('error rolls back to the last confirmed colour', () => {
  const { b, changes } = setup();
  b.applyPixel(ev(0, 0, '#0000FF', 11));
  const w = b.paint(0, 0, RED);
  b.markSent(w);
  assert.equal(b.fail(w.id), w);
  assert.equal(b.displayedHex(0, 0), '#0000FF');
  assert.equal(b.fail(w.id), null);
  assert.deepEqual(changes, [[0, 0, BLUE], [0, 0, RED], [0, 0, BLUE]]);
});

test('two writes in flight on one pixel: rollback of the newer shows the older', () => {
  const { b } = setup();
  const a = b.paint(0, 0, RED);
  b.markSent(a);
  const c = b.paint(0, 0, BLUE);
  b.markSent(c);
  assert.equal(b.displayedHex(0, 0), '#0000FF');
  b.fail(c.id);
  assert.equal(b.displayedHex(0, 0), '#FF0000', 'the older write is still pending');
  b.applyPixel(ev(0, 0, '#FF0000', 11, a.id));
  assert.equal(b.pendingCount, 0);
  assert.equal(b.displayedHex(0, 0), '#FF0000');
});

test('someone else overwrites while ours is pending: ours stays on top until confirmed', () => {
  const { b } = setup();
  const w = b.paint(0, 0, RED);
  b.markSent(w);
  b.applyPixel(ev(0, 0, '#00FF00', 11));
  assert.equal(b.displayedHex(0, 0), '#FF0000');
  b.applyPixel(ev(0, 0, '#FF0000', 12, w.id));
  assert.equal(b.displayedHex(0, 0), '#FF0000');
  // A later write by someone else then wins.
  b.applyPixel(ev(0, 0, '#00FF00', 13));
  assert.equal(b.displayedHex(0, 0), '#00FF00');
});

test('an echo older than what we know settles the write without changing the pixel', () => {
  const { b } = setup();
  const w = b.paint(0, 0, RED);
  b.markSent(w);
  b.applyPixel(ev(0, 0, '#00FF00', 15));
  const r = b.applyPixel(ev(0, 0, '#FF0000', 14, w.id));
  assert.equal(r.applied, false);
  assert.equal(r.write, w);
  assert.equal(b.displayedHex(0, 0), '#00FF00');
});

test('a queued write is replaced by a newer paint of the same pixel', () => {
  const { b } = setup();
  const a = b.paint(2, 0, RED);
  const c = b.paint(2, 0, BLUE);
  assert.equal(b.pendingCount, 1);
  assert.equal(b.nextQueued(), c);
  assert.notEqual(a.id, c.id);
  // Painting back to the confirmed colour cancels the queued write entirely.
  assert.equal(b.paint(2, 0, 0xffffff), null);
  assert.equal(b.pendingCount, 0);
  assert.equal(b.displayedHex(2, 0), '#FFFFFF');
});

test('queue order is paint order', () => {
  const { b } = setup();
  const ids = [b.paint(0, 0, RED), b.paint(1, 0, RED), b.paint(2, 0, RED)].map((w) => w.id);
  const sent = [];
  for (let w = b.nextQueued(); w; w = b.nextQueued()) {
    sent.push(w.id);
    b.markSent(w);
  }
  assert.deepEqual(sent, ids);
  assert.equal(b.queuedCount, 0);
  assert.equal(b.pendingCount, 3);
});

test('maxPending bounds unconfirmed writes', () => {
  const b = new Board(10, 1, { maxPending: 2 });
  b.loadSnapshot(new Uint8Array(30).fill(255), 0);
  assert.ok(b.paint(0, 0, RED));
  assert.ok(b.paint(1, 0, RED));
  assert.equal(b.isFull, true);
  assert.equal(b.paint(2, 0, RED), null);
});

test('expire rolls back only sent writes older than the timeout', () => {
  const { b } = setup();
  const a = b.paint(0, 0, RED, 0);
  b.markSent(a, 0);
  const c = b.paint(1, 0, RED, 0);
  b.markSent(c, 9000);
  b.paint(2, 0, RED, 0);
  assert.deepEqual(b.expire(10000, 5000).map((w) => w.id), [a.id]);
  assert.equal(b.pendingCount, 2);
  assert.equal(b.displayedHex(0, 0), '#FFFFFF');
});

test('resume (recovered): replay shows our write landed -> settled without id', () => {
  const { b } = setup();
  const w = b.paint(0, 0, RED);
  b.markSent(w);
  // Socket closed before the echo; the replay has our write with no id.
  b.applyPixel(ev(0, 0, '#FF0000', 11));
  assert.equal(b.pendingCount, 0, 'content match settles it during the replay');
  assert.deepEqual(b.reconcile(true), { settled: 0, requeued: 0, rolledBack: 0 });
  assert.equal(b.displayedHex(0, 0), '#FF0000');
});

test('resume (recovered): our write landed then someone overwrote it -> server state stands', () => {
  const { b, changes } = setup();
  const w = b.paint(0, 0, RED);
  b.markSent(w);
  b.applyPixel(ev(0, 0, '#00FF00', 12)); // replay: someone else's later write
  assert.equal(b.displayedHex(0, 0), '#FF0000', 'still pending until the resume is complete');
  assert.deepEqual(b.reconcile(true), { settled: 1, requeued: 0, rolledBack: 0 });
  assert.equal(b.displayedHex(0, 0), '#00FF00');
  assert.deepEqual(changes.at(-1), [0, 0, GREEN]);
});

test('resume (recovered): nothing touched the pixel -> the write was lost and is sent again, once', () => {
  const { b } = setup();
  const w = b.paint(3, 2, RED);
  b.markSent(w);
  b.applyPixel(ev(0, 0, '#00FF00', 11)); // unrelated replay
  assert.deepEqual(b.reconcile(true), { settled: 0, requeued: 1, rolledBack: 0 });
  assert.equal(b.displayedHex(3, 2), '#FF0000');
  assert.equal(b.nextQueued(), w);
  b.markSent(w);
  assert.equal(w.sentAfterSeq, 11);
  // Lost again: this time it is rolled back rather than retried forever.
  assert.deepEqual(b.reconcile(true), { settled: 0, requeued: 0, rolledBack: 1 });
  assert.equal(b.displayedHex(3, 2), '#FFFFFF');
  assert.equal(b.pendingCount, 0);
});

test('resume: a lost write that a newer local write superseded is dropped, not resent', () => {
  const { b } = setup();
  const a = b.paint(0, 0, RED);
  b.markSent(a);
  const c = b.paint(0, 0, BLUE);
  b.markSent(c);
  const r = b.reconcile(true);
  // The newest (BLUE) is resent; the older (RED) must not be, or it would land after BLUE.
  assert.deepEqual(r, { settled: 0, requeued: 1, rolledBack: 1 });
  assert.equal(b.nextQueued(), c);
  assert.equal(b.displayedHex(0, 0), '#0000FF');
});

test('resume (not recovered): snapshot decides; unprovable writes roll back', () => {
  const { b } = setup(2, 1, 10);
  const a = b.paint(0, 0, RED);
  b.markSent(a);
  const c = b.paint(1, 0, BLUE);
  b.markSent(c);
  const queued = b.paint(1, 0, GREEN);
  // The new snapshot shows RED at (0,0): ours (or identical) -> settled.
  b.loadSnapshot(Uint8Array.from([255, 0, 0, 255, 255, 255]), 20);
  assert.deepEqual(b.reconcile(false), { settled: 1, requeued: 0, rolledBack: 1 });
  assert.equal(b.displayedHex(0, 0), '#FF0000');
  // Never-sent writes are untouched and still go out.
  assert.equal(b.displayedHex(1, 0), '#00FF00');
  assert.equal(b.nextQueued(), queued);
});

test('snapshot may move seq backwards (store lost data): it is the truth', () => {
  const { b } = setup(1, 1, 50);
  b.loadSnapshot(Uint8Array.from([0, 0, 0]), 20);
  assert.equal(b.lastSeq, 20);
  assert.equal(b.applyPixel(ev(0, 0, '#FF0000', 21)).applied, true);
});

test('canvas_reset whites out and only newer events apply afterwards', () => {
  const { b } = setup(2, 1, 10);
  b.applyPixel(ev(0, 0, '#FF0000', 11));
  b.applyPixel(ev(1, 0, '#FF0000', 12));
  b.reset(13);
  assert.equal(b.displayedHex(0, 0), '#FFFFFF');
  assert.equal(b.applyPixel(ev(0, 0, '#0000FF', 12)).applied, false);
  assert.equal(b.applyPixel(ev(0, 0, '#0000FF', 14)).applied, true);
  assert.equal(b.lastSeq, 14);
});

test('fillRGBA draws confirmed pixels with pending ones on top', () => {
  const { b } = setup(2, 1, 0);
  b.applyPixel(ev(0, 0, '#102030', 1));
  b.paint(1, 0, RED);
  const data = new Uint8ClampedArray(8);
  b.fillRGBA(data);
  assert.deepEqual([...data], [0x10, 0x20, 0x30, 255, 255, 0, 0, 255]);
  assert.throws(() => b.fillRGBA(new Uint8ClampedArray(4)), RangeError);
});

test('dropAll clears every unconfirmed write', () => {
  const { b } = setup();
  b.paint(0, 0, RED);
  b.markSent(b.paint(1, 0, RED));
  assert.equal(b.dropAll(), 2);
  assert.equal(b.pendingCount, 0);
  assert.equal(b.nextQueued(), undefined);
  assert.equal(b.displayedHex(0, 0), '#FFFFFF');
});

test('a bad size is refused', () => {
  assert.throws(() => new Board(0, 5), RangeError);
  assert.throws(() => new Board(5.5, 5), RangeError);
});

test('who painted a pixel: an answer about a write before the snapshot is not outdated', () => {
  // GET /api/pixel answers with the pixel's own last write, usually far
  // below the snapshot's seq; only a newer live event makes it outdated.
  const { b } = setup(4, 3, 100);
  const i = b.index(1, 1);
  assert.equal(b.isOlderThanLive(i, 40), false, 'written before the snapshot');
  assert.equal(b.isOlderThanLive(i, 100), false);
  assert.equal(b.isOlderThanLive(i, 0), false, 'never painted');
  b.applyPixel(ev(1, 1, '#FF0000', 120));
  assert.equal(b.isOlderThanLive(i, 110), true, 'a live event changed it while we asked');
  assert.equal(b.isOlderThanLive(i, 120), false, 'the answer is about that same event');
  assert.equal(b.isOlderThanLive(i, 130), false, 'the answer is ahead of the stream');
  assert.equal(b.isOlderThanLive(b.index(2, 2), 40), false, 'other pixels are unaffected');
  b.loadSnapshot(new Uint8Array(4 * 3 * 3).fill(255), 150);
  assert.equal(b.isOlderThanLive(i, 110), false, 'a new snapshot forgets live seqs');
});

test('a pixel refused because too many writes wait stays paintable in the same stroke', async () => {
  const { Stroke } = await import('../static/js/lib/line.js');
  const b = new Board(10, 1, { maxPending: 3 });
  b.loadSnapshot(new Uint8Array(10 * 3).fill(255), 1);
  const s = new Stroke(10, 1);
  // The app's painter: done when the pixel shows the colour, else refused.
  const paint = (x, y) => !!b.paint(x, y, RED) || b.displayedRGB(b.index(x, y)) === RED;
  assert.deepEqual(s.moveTo(0.5, 0.5, paint), [[0, 0]]);
  assert.deepEqual(s.moveTo(5.5, 0.5, paint), [[1, 0], [2, 0]], 'the board is full after three');
  assert.equal(b.pendingCount, 3);
  // The server confirms them; the drag comes back over the refused pixels.
  for (const w of [...b.writes.values()]) b.applyPixel({ ...ev(w.x, w.y, w.hex, 2 + w.x), id: w.id });
  assert.equal(b.pendingCount, 0);
  assert.deepEqual(s.moveTo(2.5, 0.5, paint), [[5, 0], [4, 0], [3, 0]]);
  for (let x = 0; x <= 5; x++) assert.equal(b.displayedRGB(x), RED, `pixel ${x}`);
});
