// @ts-check
// Reconnect delays. Doubling keeps a dead server from being hammered; the cap
// keeps a user waiting at most a couple of seconds after it comes back; jitter
// keeps a thousand browsers that lost the same server from reconnecting in
// the same millisecond.

export class Backoff {
  /**
   * @param {object} [o]
   * @param {number} [o.baseMs=100] first delay before jitter
   * @param {number} [o.maxMs=2000] no delay exceeds this
   * @param {number} [o.factor=2]
   * @param {number} [o.jitter=0.25] each delay is scaled by a random factor in [1-jitter, 1+jitter]
   * @param {() => number} [o.random=Math.random]
   */
  constructor({ baseMs = 100, maxMs = 2000, factor = 2, jitter = 0.25, random = Math.random } = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = Math.min(Math.max(jitter, 0), 1);
    this.random = random;
    this.attempt = 0;
  }

  /** The delay before the next attempt, in ms; each call moves one step up. */
  next() {
    const raw = Math.min(this.maxMs, this.baseMs * this.factor ** Math.min(this.attempt, 30));
    this.attempt++;
    const scale = 1 - this.jitter + 2 * this.jitter * this.random();
    return Math.max(0, Math.min(this.maxMs, Math.round(raw * scale)));
  }

  /** Back to the first step, after a connection that worked. */
  reset() {
    this.attempt = 0;
  }
}

/**
 * A token bucket on an injected clock. The client paces its own pixel writes
 * with one so that a long fast stroke is sent at the rate the server accepts
 * instead of being refused halfway.
 */
export class TokenBucket {
  /** @param {number} ratePerSec refill rate @param {number} burst capacity @param {number} nowMs */
  constructor(ratePerSec, burst, nowMs) {
    this.rate = ratePerSec;
    this.burst = burst;
    this.tokens = burst;
    this.at = nowMs;
  }

  refill(nowMs) {
    if (nowMs > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.at) / 1000) * this.rate);
      this.at = nowMs;
    }
  }

  /** Take one token if there is one. */
  take(nowMs) {
    this.refill(nowMs);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token is available (0 when one is). */
  waitMs(nowMs) {
    this.refill(nowMs);
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** Change the rate, e.g. slow down after the server said rate_limited. */
  setRate(ratePerSec, nowMs) {
    this.refill(nowMs);
    this.rate = ratePerSec;
  }
}
