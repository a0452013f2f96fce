// @ts-check
// Our writes after they are painted: sent by the pacer (lib/writes.js),
// answered by the server (echo: confirmed; `rate_limited` with the write's
// id: queued again and the pacer waits, so a stroke lands whole; any other
// `error` with the write's id: rolled back), undone when nobody answers
// in time while connected, and settled after a reconnect. Each outcome the
// user should know of becomes one short message. No DOM: the messages go
// to an injected `warn`; unit-tested under node.

import { describeError } from './protocol.js';

/** A write the server has not answered in this long (while connected) is undone. */
export const CONFIRM_TIMEOUT_MS = 10000;
/** A write refused for speed this many times is given up (the server's limits keep changing under it). */
export const MAX_REFUSALS = 20;

/** @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => (n === 1 ? one : many);

export class Outbox {
  /**
   * @param {object} o
   * @param {() => import('./board.js').Board|null} o.board
   * @param {{pump(): void, slowDown(retryAfterMs?: number|null): void, recover(): void}} o.pacer
   * @param {(text: string) => void} o.warn
   * @param {() => void} o.onChange the pending count changed
   * @param {number} [o.confirmTimeoutMs]
   */
  constructor(o) {
    this.board = o.board;
    this.pacer = o.pacer;
    this.warn = o.warn;
    this.onChange = o.onChange;
    this.confirmTimeoutMs = o.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS;
  }

  /**
   * An `error` from the server. Returns true when it was about one of our
   * writes (rolled back) or worth telling the user; false otherwise.
   * @param {import('./protocol.js').ErrorMessage} m
   */
  error(m) {
    const b = this.board();
    if (m.id && b && m.code === 'rate_limited') {
      const r = b.requeue(m.id, MAX_REFUSALS);
      if (!r) return false;
      this.pacer.slowDown(m.retryAfter);
      if (r === 'given up') this.warn(describeError(m.code, m.message));
      this.onChange();
      this.pacer.pump();
      return true;
    }
    if (m.id && b) {
      if (!b.fail(m.id)) return false;
      this.warn(describeError(m.code, m.message));
      this.onChange();
      return true;
    }
    if (m.code === 'rate_limited' || m.code === 'unavailable' || m.code === 'too_large') {
      this.warn(describeError(m.code, m.message));
      return true;
    }
    return false;
  }

  /** Caught up after a (re)connect: in-doubt writes were settled; send what waits. @param {number} rolledBack */
  settled(rolledBack) {
    if (rolledBack) {
      this.warn(`${rolledBack} ${plural(rolledBack, 'pixel', 'pixels')} could not be confirmed after reconnecting and ${plural(rolledBack, 'was', 'were')} undone`);
    }
    this.pacer.pump();
  }

  /** About once a second: undo what nobody answered (only while live), speed back up. @param {number} now @param {boolean} live */
  tick(now, live) {
    const b = this.board();
    if (b && live) {
      const n = b.expire(now, this.confirmTimeoutMs).length;
      if (n) {
        this.warn(`${n} ${plural(n, 'pixel was', 'pixels were')} not confirmed by the server and undone`);
        this.onChange();
      }
    }
    this.pacer.recover();
  }
}
