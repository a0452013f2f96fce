// @ts-check
// The client's model of the canvas: what the server has confirmed (colour and
// seq per pixel, last-write-wins by seq) and, on top, the user's own writes
// that are not confirmed yet (optimistic painting). What the screen shows for
// a pixel is the newest unconfirmed write there, else the confirmed colour.
//
// A write goes queued -> sent -> (echo: confirmed | error: rolled back;
// rate_limited: queued again, the stroke lands whole, only slower).
// When the socket closes, sent writes are in doubt: the server may or may not
// have accepted them. After a resume the replay is complete, so the answer is
// in the canvas itself: if anything changed the pixel after the write was
// sent, the server's state stands (ours was applied, or a later write beat
// it); if nothing did, ours was lost and is sent again, once.
//
// No DOM access: unit-tested under node.

import { hexToInt, intToHex } from './color.js';

export class Board {
  /**
   * @param {number} width
   * @param {number} height
   * @param {object} [o]
   * @param {string} [o.idPrefix] makes write ids unique across page loads and tabs
   * @param {(x:number, y:number, rgb:number) => void} [o.onPixel] the displayed colour of one pixel changed
   * @param {number} [o.maxPending] most unconfirmed writes held at once
   */
  constructor(width, height, { idPrefix = 'w', onPixel = () => {}, maxPending = 5000 } = {}) {
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0) {
      throw new RangeError(`bad canvas size ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.idPrefix = idPrefix;
    this.onPixel = onPixel;
    this.maxPending = maxPending;
    this.confirmed = new Uint8Array(width * height * 3).fill(255);
    /** Seqs of pixels changed since the snapshot; the rest are at baseSeq. */
    this.seqs = new Map();
    this.baseSeq = 0;
    /** Highest seq applied (or the snapshot's); null until a snapshot is loaded. */
    this.lastSeq = null;
    this.writes = new Map();
    this.byPixel = new Map();
    this.queue = [];
    this.counter = 0;
  }

  inBounds(x, y) {
    return Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < this.width && y < this.height;
  }

  index(x, y) {
    return y * this.width + x;
  }

  knownSeq(i) {
    const s = this.seqs.get(i);
    return s === undefined ? this.baseSeq : s;
  }

  /**
   * Whether what the server said about pixel i at seq (its last write, e.g.
   * from GET /api/pixel) is older than a live event already applied here.
   * A seq below the snapshot's is normal (the pixel's own write happened
   * before the snapshot) and not outdated.
   */
  isOlderThanLive(i, seq) {
    const live = this.seqs.get(i);
    return live !== undefined && seq < live;
  }

  confirmedRGB(i) {
    const o = i * 3;
    return (this.confirmed[o] << 16) | (this.confirmed[o + 1] << 8) | this.confirmed[o + 2];
  }

  displayedRGB(i) {
    const stack = this.byPixel.get(i);
    return stack && stack.length ? stack[stack.length - 1].color : this.confirmedRGB(i);
  }

  /** '#RRGGBB' shown at (x, y), or null outside the canvas. */
  displayedHex(x, y) {
    return this.inBounds(x, y) ? intToHex(this.displayedRGB(this.index(x, y))) : null;
  }

  /** '#RRGGBB' the server confirmed at (x, y), or null outside the canvas. */
  confirmedHex(x, y) {
    return this.inBounds(x, y) ? intToHex(this.confirmedRGB(this.index(x, y))) : null;
  }

  get pendingCount() { return this.writes.size; }

  get queuedCount() {
    let n = 0;
    for (const w of this.writes.values()) if (w.state === 'queued') n++;
    return n;
  }

  get isFull() { return this.writes.size >= this.maxPending; }

  /**
   * Replace the confirmed canvas with a snapshot taken at seq. Unconfirmed
   * writes stay on top. The caller redraws everything (fillRGBA).
   * @param {ArrayLike<number>} rgb packed RGB, 3 bytes per pixel, row-major
   * @param {number|null} seq
   */
  loadSnapshot(rgb, seq) {
    if (!rgb || rgb.length !== this.width * this.height * 3) {
      throw new RangeError(`snapshot has ${rgb ? rgb.length : 0} bytes, want ${this.width * this.height * 3}`);
    }
    this.confirmed.set(rgb);
    this.seqs.clear();
    // The snapshot may be older than what we had (the server's store went
    // back): it still wins, it is the truth now.
    this.baseSeq = seq ?? 0;
    this.lastSeq = seq ?? 0;
  }

  /** An operator wiped the canvas at seq. */
  reset(seq) {
    this.confirmed.fill(255);
    this.seqs.clear();
    if (seq !== null && seq !== undefined) {
      this.baseSeq = seq;
      this.lastSeq = Math.max(this.lastSeq ?? 0, seq);
    }
  }

  /**
   * Apply a pixel_updated event (last write wins: only a seq above the
   * pixel's known one changes it; an event without seq, from a v1 server,
   * is applied in arrival order). Resolves the matching unconfirmed write.
   * @returns {{applied: boolean, write: object|null}} write: our write this event confirmed
   */
  applyPixel(ev) {
    if (!this.inBounds(ev.x, ev.y)) return { applied: false, write: null };
    const i = this.index(ev.x, ev.y);
    const before = this.displayedRGB(i);
    const color = typeof ev.color === 'number' ? ev.color : hexToInt(ev.color);
    const seq = ev.seq ?? null;
    let applied = false;
    if (seq === null || seq > this.knownSeq(i)) {
      const o = i * 3;
      this.confirmed[o] = (color >> 16) & 255;
      this.confirmed[o + 1] = (color >> 8) & 255;
      this.confirmed[o + 2] = color & 255;
      if (seq !== null) this.seqs.set(i, seq);
      applied = true;
    }
    if (seq !== null) this.lastSeq = Math.max(this.lastSeq ?? 0, seq);
    let write = null;
    if (ev.id) {
      const w = this.writes.get(ev.id);
      if (w && w.index === i) write = w;
    } else {
      // No id: a replay after resume, or a v1 server. A sent write of ours
      // with this colour, sent before this seq existed, is settled by it:
      // either it is ours, or it shows exactly what we wanted anyway.
      const stack = this.byPixel.get(i);
      if (stack) {
        write = stack.find((w) => w.state === 'sent' && w.color === color &&
          (seq === null || w.sentAfterSeq === null || seq > w.sentAfterSeq)) || null;
      }
    }
    if (write) this.remove(write);
    this.emitIfChanged(i, before);
    return { applied, write };
  }

  /**
   * The user paints (x, y). Returns the new write, or null when nothing
   * needs sending (outside, already that colour, or too many unconfirmed).
   * A still-queued earlier write to the same pixel is replaced: it would be
   * overwritten at once anyway, and it would cost rate budget.
   */
  paint(x, y, color, nowMs = 0) {
    if (!this.inBounds(x, y)) return null;
    const i = this.index(x, y);
    const before = this.displayedRGB(i);
    if (before === color) return null;
    const prev = this.byPixel.get(i);
    const top = prev && prev[prev.length - 1];
    if (top && top.state === 'queued') {
      this.remove(top);
      if (this.displayedRGB(i) === color) {
        this.emitIfChanged(i, before);
        return null;
      }
    } else if (this.isFull) {
      return null;
    }
    const write = {
      id: `${this.idPrefix}${(++this.counter).toString(36)}`,
      x, y, index: i, color, hex: intToHex(color),
      state: 'queued', createdAt: nowMs, sentAt: null, sentAfterSeq: null, retries: 0, refusals: 0,
    };
    this.writes.set(write.id, write);
    const stack = this.byPixel.get(i);
    if (stack) stack.push(write);
    else this.byPixel.set(i, [write]);
    this.queue.push(write.id);
    this.emitIfChanged(i, before);
    return write;
  }

  /** The oldest write waiting to be sent, or undefined. */
  nextQueued() {
    while (this.queue.length) {
      const w = this.writes.get(this.queue[0]);
      if (w && w.state === 'queued') return w;
      this.queue.shift();
    }
    return undefined;
  }

  /** The write went out on the socket. */
  markSent(write, nowMs = 0) {
    if (this.writes.get(write.id) !== write || write.state !== 'queued') return;
    write.state = 'sent';
    write.sentAt = nowMs;
    write.sentAfterSeq = this.lastSeq;
    if (this.queue[0] === write.id) this.queue.shift();
  }

  /** The server refused the write: roll back. Returns it, or null if unknown. */
  fail(id) {
    const w = this.writes.get(id);
    if (!w) return null;
    const before = this.displayedRGB(w.index);
    this.remove(w);
    this.emitIfChanged(w.index, before);
    return w;
  }

  /**
   * The server refused the write for now (rate_limited): queue it again, to
   * be sent once the limit allows. A write a newer one of ours to the same
   * pixel stands over is dropped instead (sending it again would put the
   * older colour over the newer), and so is one refused maxRefusals times.
   * @param {string} id
   * @param {number} maxRefusals
   * @returns {'requeued'|'superseded'|'given up'|null} null: not one of ours (already settled)
   */
  requeue(id, maxRefusals) {
    const w = this.writes.get(id);
    if (!w || w.state !== 'sent') return null;
    const stack = this.byPixel.get(w.index);
    w.refusals = (w.refusals || 0) + 1;
    if (stack[stack.length - 1] !== w || w.refusals >= maxRefusals) {
      this.fail(id);
      return w.refusals >= maxRefusals ? 'given up' : 'superseded';
    }
    w.state = 'queued';
    w.sentAt = null;
    w.sentAfterSeq = null;
    this.queue.push(w.id);
    return 'requeued';
  }

  /** Roll back sent writes with no answer after timeoutMs (call only while connected). */
  expire(nowMs, timeoutMs) {
    const out = [];
    for (const w of [...this.writes.values()]) {
      if (w.state === 'sent' && nowMs - w.sentAt >= timeoutMs) out.push(this.fail(w.id));
    }
    return out;
  }

  /**
   * Settle the writes that were in flight when the connection dropped, once
   * the new connection has caught up.
   * @param {boolean} recovered true after a complete replay; false after a snapshot reload
   * @returns {{settled: number, requeued: number, rolledBack: number}}
   */
  reconcile(recovered) {
    const result = { settled: 0, requeued: 0, rolledBack: 0 };
    for (const w of [...this.writes.values()]) {
      if (w.state !== 'sent') continue;
      const before = this.displayedRGB(w.index);
      const stack = this.byPixel.get(w.index);
      const newest = stack[stack.length - 1] === w;
      if (recovered) {
        if (this.knownSeq(w.index) > (w.sentAfterSeq ?? -1)) {
          this.remove(w);
          result.settled++;
        } else if (newest && w.retries < 1) {
          // Nothing touched the pixel since we sent: the write never landed.
          w.state = 'queued';
          w.retries++;
          w.sentAt = null;
          w.sentAfterSeq = null;
          this.queue.push(w.id);
          result.requeued++;
        } else {
          this.remove(w);
          result.rolledBack++;
        }
      } else if (this.confirmedRGB(w.index) === w.color) {
        this.remove(w);
        result.settled++;
      } else {
        // Without a replay we cannot tell "lost" from "overwritten later";
        // resending could clobber someone else's newer pixel.
        this.remove(w);
        result.rolledBack++;
      }
      this.emitIfChanged(w.index, before);
    }
    return result;
  }

  /** Forget every unconfirmed write (e.g. the canvas changed size). */
  dropAll() {
    const dropped = this.writes.size;
    for (const w of [...this.writes.values()]) this.fail(w.id);
    this.queue = [];
    return dropped;
  }

  /** Write the displayed canvas into an RGBA buffer (ImageData.data). */
  fillRGBA(data) {
    const n = this.width * this.height;
    if (data.length !== n * 4) throw new RangeError('RGBA buffer has the wrong size');
    const c = this.confirmed;
    for (let i = 0, o = 0, p = 0; i < n; i++, o += 3, p += 4) {
      data[p] = c[o];
      data[p + 1] = c[o + 1];
      data[p + 2] = c[o + 2];
      data[p + 3] = 255;
    }
    for (const [i, stack] of this.byPixel) {
      const col = stack[stack.length - 1].color;
      const p = i * 4;
      data[p] = (col >> 16) & 255;
      data[p + 1] = (col >> 8) & 255;
      data[p + 2] = col & 255;
    }
  }

  remove(w) {
    this.writes.delete(w.id);
    const stack = this.byPixel.get(w.index);
    if (!stack) return;
    const k = stack.indexOf(w);
    if (k >= 0) stack.splice(k, 1);
    if (!stack.length) this.byPixel.delete(w.index);
  }

  emitIfChanged(i, before) {
    const after = this.displayedRGB(i);
    if (after !== before) this.onPixel(i % this.width, Math.floor(i / this.width), after);
  }
}

