// @ts-check
// What the brush's ring says about the pixel budget: how full the write
// pacer's token bucket is (lib/writes.js, which paces to what the server
// allows), and how long a person waits before what they drew is all sent,
// or before the next pixel may go. Read from the pacer's bucket as it is;
// nothing here changes it. No DOM.

/**
 * @typedef {object} Budget
 * @property {number} tokens the bucket's tokens at `at`
 * @property {number} at ms, when tokens was last brought up to date
 * @property {number} rate tokens per second
 * @property {number} burst capacity
 * @property {number} queued our writes painted but not yet sent
 */

/**
 * @typedef {object} QuotaView
 * @property {number} fill 0..1, how full the budget is
 * @property {'full'|'refilling'|'wait'} state
 * @property {number} waitSec whole seconds to wait ('wait' only), at least 1
 * @property {number} ready whole pixels that could go now
 * @property {string} text short words for beside the brush ("Wait 3 s", "12 ready")
 * @property {string} label the full sentence, for a tooltip and screen readers
 */

/** @param {number} n */
const pixels = (n) => (n === 1 ? '1 pixel' : `${n} pixels`);

/**
 * @param {Budget} b
 * @param {number} now ms
 * @returns {QuotaView}
 */
export function quotaView(b, now) {
  const rate = b.rate > 0 ? b.rate : 1;
  const burst = Math.max(1, b.burst);
  const tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * rate);
  const fill = Math.max(0, Math.min(1, tokens / burst));
  const ready = Math.max(0, Math.floor(tokens));
  const queued = Math.max(0, b.queued);
  // Waiting: drawn pixels are held back for the budget, or none could go now.
  const short = queued > 0 ? queued - tokens : 1 - tokens;
  if (short > 0 && (queued > 0 || tokens < 1)) {
    const waitSec = Math.max(1, Math.ceil(short / rate));
    const label = queued > 0
      ? `${pixels(queued)} waiting to be sent; about ${waitSec} s`
      : `Pixel budget used up; the next pixel in ${waitSec} s`;
    return { fill, state: 'wait', waitSec, ready, text: `Wait ${waitSec} s`, label };
  }
  if (tokens >= burst - 1e-9) {
    return { fill: 1, state: 'full', waitSec: 0, ready, text: '', label: `Ready: up to ${pixels(ready)} at once` };
  }
  return {
    fill, state: 'refilling', waitSec: 0, ready, text: `${ready}`,
    label: `${pixels(ready)} ready now, refilling ${Math.round(rate * 10) / 10} a second`,
  };
}
