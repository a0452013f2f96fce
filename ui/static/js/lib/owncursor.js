// @ts-check
// Our pointer as the others see it: its canvas position, sent at most ~15
// times a second (the last position of a burst is never lost), only while
// live, never the same twice, not onto a socket that is backed up; and a
// "left" message when it leaves the canvas, if they had seen it. The
// connection and the throttle's timers are injected: unit-tested under node.

import { throttle } from './cursors.js';
import { encodeCursor, encodeCursorLeave } from './protocol.js';

export const CURSOR_INTERVAL_MS = 66;
/** Cursor moves are not worth queueing behind this many bytes. */
const MAX_SOCKET_BUFFER = 64 * 1024;

export class OwnCursor {
  /**
   * @param {object} o
   * @param {(text: string) => boolean} o.send
   * @param {() => boolean} o.live
   * @param {() => number} [o.bufferedAmount]
   * @param {{now?: () => number, setTimer?: Function, clearTimer?: Function}} [o.timers] for the throttle
   * @param {number} [o.intervalMs]
   */
  constructor(o) {
    this.sendText = o.send;
    this.live = o.live;
    this.bufferedAmount = o.bufferedAmount || (() => 0);
    this.shown = false;
    this.lastSent = '';
    this.send = throttle((/** @type {number} */ cx, /** @type {number} */ cy) => {
      if (!this.live()) return;
      const msg = encodeCursor(cx, cy);
      if (msg === this.lastSent || this.bufferedAmount() > MAX_SOCKET_BUFFER) return;
      if (this.sendText(msg)) {
        this.lastSent = msg;
        this.shown = true;
      }
    }, o.intervalMs ?? CURSOR_INTERVAL_MS, /** @type {any} */ (o.timers || {}));
  }

  /**
   * The pointer is at canvas point (cx, cy) of a width × height canvas; null: it left.
   * @param {number|null} cx
   * @param {number|null} cy
   * @param {number} width
   * @param {number} height
   */
  at(cx, cy, width, height) {
    if (cx === null || cy === null || cx < 0 || cy < 0 || cx > width || cy > height) {
      this.send.cancel();
      if (this.shown && this.live()) this.sendText(encodeCursorLeave());
      this.shown = false;
      this.lastSent = '';
      return;
    }
    this.send(cx, cy);
  }

  /** A new socket: nothing has been sent on it yet. */
  reset() {
    this.lastSent = '';
  }

  /** The socket closed: nobody sees our cursor any more. */
  gone() {
    this.shown = false;
  }
}
