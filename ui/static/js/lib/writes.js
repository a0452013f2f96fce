// @ts-check
// The user's writes on their way out. A drag paints through a StrokeSession
// (each pixel once per drag, a pixel refused because too many writes wait is
// offered again when the drag comes back); the WritePacer sends queued
// writes as fast as a token bucket a little under the server's rate allows
// (the rate `connected` announces, our default until it does), so long
// strokes are not refused halfway. A write the server refuses anyway
// (`rate_limited`: another tab shares the budget, clocks drift) is queued
// again by the outbox; the pacer waits the `retryAfter` the server named,
// goes slower for a while, and speeds up again later.
// Timers, clock and socket are injected: unit-tested under node.

import { TokenBucket } from './backoff.js';
import { Stroke } from './line.js';

/** Our pacing: a little under the server's default 20/s, burst 40; never faster (the message budget). */
export const PIXEL_RATE = 18;
export const PIXEL_BURST = 36;
/** The share of the server's announced limit we use: the two clocks never tick quite together. */
export const SERVER_SHARE = 0.9;
/** After rate_limited the pacer slows, to no less than this share of its normal rate. */
export const SLOWEST_SHARE = 0.25;
/** Bytes waiting in the socket above which nothing more is queued on it. */
export const MAX_SOCKET_BUFFER = 256 * 1024;
/** After this long without a `rate_limited`, the rate creeps back up. */
export const RECOVER_AFTER_MS = 8000;

/** @typedef {import('./board.js').Board} Board */

/** One drag (or one click, or Enter on the canvas) of the brush. */
export class StrokeSession {
  /**
   * @param {Board} board
   * @param {number} color 0xRRGGBB
   */
  constructor(board, color) {
    this.board = board;
    this.color = color;
    this.stroke = new Stroke(board.width, board.height);
    /** Writes this stroke created (a stroke that created none is no "recent colour"). */
    this.count = 0;
  }

  /**
   * Paint the pixels from the last point to canvas point (cx, cy).
   * @param {number} cx
   * @param {number} cy
   * @param {number} nowMs
   * @returns {boolean} true when a pixel was refused because too many writes wait
   */
  to(cx, cy, nowMs) {
    const board = this.board;
    let refused = false;
    // A pixel counts as done for this stroke only once it shows the colour.
    this.stroke.moveTo(cx, cy, (x, y) => {
      if (board.paint(x, y, this.color, nowMs)) {
        this.count++;
        return true;
      }
      if (board.displayedRGB(board.index(x, y)) === this.color) return true;
      refused = true;
      return false;
    });
    return refused;
  }
}

export class WritePacer {
  /**
   * @param {object} o
   * @param {(w: {x: number, y: number, hex: string, id: string}) => boolean} o.send put one write on the socket; false when it cannot
   * @param {() => Board|null} o.board the board whose queued writes go out (it is replaced when the canvas changes size)
   * @param {() => boolean} o.ready live (caught up, socket open): writes may go
   * @param {() => void} [o.onPump] after every pump, sent or not (the pending counter)
   * @param {() => number} [o.bufferedAmount] bytes waiting in the socket
   * @param {{setTimeout: (f: () => void, ms: number) => any, clearTimeout: (t: any) => void}} [o.timers]
   * @param {() => number} [o.now]
   * @param {number} [o.rate]
   * @param {number} [o.burst]
   */
  constructor(o) {
    this.send = o.send;
    this.board = o.board;
    this.onPump = o.onPump || (() => {});
    this.ready = o.ready;
    this.bufferedAmount = o.bufferedAmount || (() => 0);
    this.timers = o.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.now = o.now || (() => Date.now());
    this.rate = o.rate ?? PIXEL_RATE;
    this.bucket = new TokenBucket(this.rate, o.burst ?? PIXEL_BURST, this.now());
    this.lastRateLimited = 0;
    /** Nothing is sent before this (the server's retryAfter). */
    this.pausedUntil = 0;
    this.timer = null;
  }

  /**
   * The server's limit for this connection (from `connected`): pace to a
   * little under it, never above our own default. null: the server did not
   * say (an older one): keep the default.
   * @param {number|null} rate per second
   * @param {number|null} burst
   */
  serverLimit(rate, burst) {
    const now = this.now();
    this.rate = rate ? Math.min(PIXEL_RATE, rate * SERVER_SHARE) : PIXEL_RATE;
    const b = burst ? Math.min(PIXEL_BURST, Math.max(1, Math.floor(burst * SERVER_SHARE))) : PIXEL_BURST;
    this.bucket.setRate(this.rate, now);
    this.bucket.burst = b;
    this.bucket.tokens = Math.min(this.bucket.tokens, b);
  }

  /**
   * Send the board's queued writes as fast as the bucket allows; when it is
   * empty (or the socket is backed up), come back when it may not be.
   */
  pump() {
    if (this.timer !== null) {
      this.timers.clearTimeout(this.timer);
      this.timer = null;
    }
    const board = this.board();
    if (board && this.ready()) this.sendQueued(board);
    this.onPump();
  }

  /** @param {Board} board */
  sendQueued(board) {
    for (;;) {
      const w = board.nextQueued();
      if (!w) break;
      const now = this.now();
      if (this.bufferedAmount() > MAX_SOCKET_BUFFER) {
        this.timer = this.timers.setTimeout(() => this.pump(), 50);
        break;
      }
      if (now < this.pausedUntil) {
        this.timer = this.timers.setTimeout(() => this.pump(), this.pausedUntil - now);
        break;
      }
      if (!this.bucket.take(now)) {
        this.timer = this.timers.setTimeout(() => this.pump(), Math.max(10, this.bucket.waitMs(now)));
        break;
      }
      if (!this.send(w)) break;
      board.markSent(w, now);
    }
  }

  /**
   * The server refused us for speed: send nothing before it said a write
   * would be taken, then slower for a while.
   * @param {number|null} [retryAfterMs] the server's retryAfter, if it gave one
   */
  slowDown(retryAfterMs = null) {
    const now = this.now();
    this.lastRateLimited = now;
    this.bucket.setRate(Math.max(this.rate * SLOWEST_SHARE, this.bucket.rate * 0.6), now);
    this.bucket.tokens = Math.min(this.bucket.tokens, 0);
    if (retryAfterMs) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
  }

  /** Called about once a second: after a quiet while, speed up again (to the normal rate at most). */
  recover() {
    const now = this.now();
    if (this.bucket.rate < this.rate && now - this.lastRateLimited > RECOVER_AFTER_MS) {
      this.bucket.setRate(Math.min(this.rate, this.bucket.rate * 1.5), now);
      this.lastRateLimited = now;
    }
  }
}
