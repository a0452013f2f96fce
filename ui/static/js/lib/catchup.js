// @ts-check
// Is the page falling behind the live stream, and should it catch up by
// snapshot? A page whose main thread applies events slower than they arrive
// (a slow phone, a throttled background tab, a reset followed by thousands
// of pixels) would otherwise work through a queue that only grows: the
// browser keeps every WebSocket message until the page takes it.
//
// The lag is read from the events themselves: every live event carries the
// server's `timestamp`. Clocks differ, so the page never compares the two
// directly; it keeps the smallest (local time − server timestamp) seen on
// this socket, which is the skew plus the quickest delivery, and an
// event's lag is how much later than that it was taken from the queue. The
// local clock is a monotonic one (performance.timeOrigin + performance.now()),
// so a wall-clock step on the device reads as no lag at all.
//
// Past LAG_MS the page reloads the snapshot instead of applying the backlog
// one by one (lib/sync.js: the events still queued are buffered, and only
// those above the snapshot's seq are applied). A page that stays slow
// would reload again and again, each reload a whole canvas: catch-ups are
// spaced, the wait doubling from MIN_GAP_MS to MAX_GAP_MS while they keep
// coming, and back to MIN_GAP_MS once none was needed for MAX_GAP_MS after
// the last wait ended.
//
// Pure: the state goes in and comes out; the clock is an argument.

/** Behind the stream by more than this: catch up by snapshot. */
export const CATCH_UP_LAG_MS = 2000;
/** The shortest wait between two catch-ups. */
export const CATCH_UP_MIN_GAP_MS = 5000;
/** The longest wait between two catch-ups (also: this long without one starts the waits over). */
export const CATCH_UP_MAX_GAP_MS = 60000;

/**
 * @typedef {object} LagState
 * @property {number|null} skew the smallest (local − server) seen on this socket, ms; null: none yet
 * @property {number|null} lastAt when the last catch-up began (local ms); null: never
 * @property {number} gap the wait after lastAt before another catch-up may begin, ms
 */

/**
 * @typedef {object} LagLimits
 * @property {number} lagMs
 * @property {number} minGapMs
 * @property {number} maxGapMs
 */

/** @type {LagLimits} */
export const DEFAULT_LIMITS = { lagMs: CATCH_UP_LAG_MS, minGapMs: CATCH_UP_MIN_GAP_MS, maxGapMs: CATCH_UP_MAX_GAP_MS };

/** @returns {LagState} */
export function initialLag() {
  return { skew: null, lastAt: null, gap: 0 };
}

/**
 * A new socket: its first events set the reference again (another gateway,
 * perhaps another clock). The spacing of catch-ups is kept.
 * @param {LagState} s
 * @returns {LagState}
 */
export function newSocket(s) {
  return { ...s, skew: null };
}

/**
 * One live event taken from the queue at local time `now`.
 * @param {LagState} s
 * @param {number} now local monotonic time, ms
 * @param {number|null} timestamp the event's server time, ms (null: the server sent none)
 * @param {LagLimits} [limits]
 * @returns {{state: LagState, lagMs: number|null, catchUp: boolean}}
 */
export function observeLag(s, now, timestamp, limits = DEFAULT_LIMITS) {
  if (timestamp === null || !Number.isFinite(timestamp) || !Number.isFinite(now)) return { state: s, lagMs: null, catchUp: false };
  const offset = now - timestamp;
  if (s.skew === null || offset < s.skew) return { state: { ...s, skew: offset }, lagMs: 0, catchUp: false };
  const lagMs = offset - s.skew;
  if (lagMs <= limits.lagMs) return { state: s, lagMs, catchUp: false };
  if (s.lastAt !== null && now - s.lastAt < s.gap) return { state: s, lagMs, catchUp: false };
  // The waits double while catch-ups keep coming; MAX_GAP_MS past the end
  // of the last wait without one starts them over.
  const again = s.lastAt !== null && now - s.lastAt < s.gap + limits.maxGapMs;
  const gap = again ? Math.min(limits.maxGapMs, Math.max(limits.minGapMs, s.gap * 2)) : limits.minGapMs;
  return { state: { ...s, lastAt: now, gap }, lagMs, catchUp: true };
}
