// @ts-check
// "Who painted it": the hover card's answer for one pixel. Live events say
// who painted what as they arrive; for a pixel painted before the page
// loaded the server is asked (GET /api/pixel/{x}/{y}) after a short pause on
// the pixel, once, with a deadline. An answer stays valid until the board
// learns of a newer write to that pixel; a failed question is asked again
// after a while, not never. The fetch, the timers and the clock are
// injected: unit-tested under node.

import { normalizeHex } from './color.js';
import { timeAgo } from './format.js';

/** Resting on a pixel this long asks the server who painted it. */
export const ASK_DELAY_MS = 250;
/** A failed question is asked again after this long. */
export const RETRY_MS = 5000;
/** Most pixels remembered (the oldest answer is forgotten first). */
export const CACHE_SIZE = 20000;

export const TEXT = Object.freeze({
  asking: 'Looking up who painted it…',
  failed: 'Artist unknown (could not ask the server)',
  unpainted: 'Not painted yet',
});

/** @typedef {import('./board.js').Board} Board */
/**
 * @typedef {object} Entry
 * @property {string|null} username null: not painted (or the question failed)
 * @property {number|null} timestamp ms
 * @property {number} known the board's seq for the pixel when this was learnt
 * @property {boolean} [error] asking failed
 * @property {number} [at] when it failed
 */

export class PixelInfo {
  /**
   * @param {object} o
   * @param {string} o.apiBase
   * @param {(x: number, y: number) => string} [o.url] the lookup's URL (another canvas's); default main's /api/pixel/x/y
   * @param {(url: string, init: RequestInit) => Promise<Response>} o.fetch e.g. a fetch with a deadline
   * @param {() => Board|null} o.board the current board (replaced when the canvas changes size)
   * @param {(x: number, y: number) => void} [o.onAnswer] an answer for (x, y) arrived and was kept
   * @param {{setTimeout: (f: () => void, ms: number) => any, clearTimeout: (t: any) => void}} [o.timers]
   * @param {() => number} [o.now]
   * @param {number} [o.delayMs]
   * @param {number} [o.retryMs]
   * @param {number} [o.max]
   */
  constructor(o) {
    this.apiBase = o.apiBase;
    this.url = o.url || ((x, y) => `${this.apiBase}/api/pixel/${x}/${y}`);
    this.fetch = o.fetch;
    this.board = o.board;
    this.onAnswer = o.onAnswer || (() => {});
    this.timers = o.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.now = o.now || (() => Date.now());
    this.delayMs = o.delayMs ?? ASK_DELAY_MS;
    this.retryMs = o.retryMs ?? RETRY_MS;
    this.max = o.max ?? CACHE_SIZE;
    /** @type {Map<number, Entry>} */
    this.cache = new Map();
    /** @type {AbortController|null} */
    this.inFlight = null;
    this.timer = null;
    // The pixel (board index) being asked about, scheduled or in flight:
    // describing it again while it is pending must not ask again.
    /** @type {number|null} */
    this.asking = null;
  }

  /**
   * A live event painted pixel i: that is who painted it now.
   * @param {number} i board index
   * @param {{username: string, timestamp: number|null}} m
   */
  record(i, m) {
    const b = this.board();
    if (!b) return;
    if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value);
    this.set(i, { username: m.username, timestamp: m.timestamp, known: b.knownSeq(i) });
  }

  /**
   * The words for who painted (x, y): known, or "looking up" (and, with ask,
   * the server is asked after a pause unless that is already under way).
   * @param {number} x
   * @param {number} y
   * @param {boolean} [ask]
   */
  describe(x, y, ask = true) {
    const b = this.board();
    if (!b || !b.inBounds(x, y)) return '';
    const i = b.index(x, y);
    const info = this.cache.get(i);
    const now = this.now();
    if (info && info.known === b.knownSeq(i) && !(info.error && now - info.at > this.retryMs)) {
      if (info.error) return TEXT.failed;
      if (!info.username) return TEXT.unpainted;
      return `${info.username} · ${info.timestamp ? timeAgo(info.timestamp, now) : 'earlier'}`;
    }
    if (ask && this.asking !== i) {
      // A question about another pixel still in flight may finish and be
      // cached; it is aborted only when this one is sent.
      this.timers.clearTimeout(this.timer);
      this.asking = i;
      this.timer = this.timers.setTimeout(() => {
        this.timer = null;
        this.ask(x, y);
      }, this.delayMs);
    }
    return TEXT.asking;
  }

  /** The board was replaced or wiped: who painted what is to be asked again. */
  forget() {
    this.cache.clear();
    // An answer in flight describes the canvas before; it must not be cached.
    this.cancel();
  }

  /** Stop asking: the question is scheduled or in flight. */
  cancel() {
    this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) this.inFlight.abort();
    this.inFlight = null;
    this.asking = null;
  }

  /**
   * Ask the server now. Resolves when the answer is in (or dropped).
   * @param {number} x
   * @param {number} y
   */
  async ask(x, y) {
    const board = this.board();
    if (!board || !board.inBounds(x, y)) return;
    if (this.inFlight) this.inFlight.abort();
    const ctl = new AbortController();
    this.inFlight = ctl;
    const i = board.index(x, y);
    const knownBefore = board.knownSeq(i);
    /** @type {Entry} */
    let entry;
    try {
      const res = await this.fetch(this.url(x, y), { signal: ctl.signal, cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const j = await res.json();
      if (!j || typeof j !== 'object') throw new Error('the server sent no pixel');
      // The answer's seq is the pixel's own last write, usually far below the
      // snapshot's seq: that is fine. It is only out of date when a live event
      // changed the pixel to something newer while we asked (that event
      // already recorded who painted it).
      const seq = Number.isSafeInteger(j.seq) && j.seq >= 0 ? j.seq : null;
      if (seq !== null ? board.isOlderThanLive(i, seq) : board.knownSeq(i) !== knownBefore) return;
      let username = typeof j.username === 'string' && j.username ? j.username : null;
      const painted = seq !== null ? seq > 0 : normalizeHex(j.color) !== '#FFFFFF';
      if (painted && !username) username = seq !== null ? 'Anonymous' : 'someone';
      // Valid for as long as the board knows of no newer write to the pixel.
      entry = { username, timestamp: Number.isFinite(j.timestamp) ? j.timestamp : null, known: board.knownSeq(i) };
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      entry = { username: null, timestamp: null, known: board.knownSeq(i), error: true, at: this.now() };
    } finally {
      if (this.inFlight === ctl) {
        this.inFlight = null;
        if (this.asking === i) this.asking = null;
      }
    }
    if (board !== this.board()) return;
    this.set(i, entry);
    this.onAnswer(x, y);
  }

  /** @param {number} i @param {Entry} entry */
  set(i, entry) {
    // Re-inserted so the map's order is "least recently learnt first".
    this.cache.delete(i);
    this.cache.set(i, entry);
  }
}
