// @ts-check
// What one finger on the canvas means. On phones people move a map with one
// finger (every map app, r/place): a finger that slides pans the view and
// never paints. A tap paints one pixel. Drawing a line is explicit: hold the
// finger still for a moment, then drag. Two fingers pinch (input.js). No
// DOM: unit-tested under node.

/** A finger that moves further than this (CSS px) before the hold is up is a pan. */
export const TOUCH_SLOP_PX = 10;
/** A finger held still this long starts a drawn line. */
export const LONG_PRESS_MS = 400;

/**
 * What a single finger is doing so far.
 * @param {{x: number, y: number}} down where it touched
 * @param {{x: number, y: number}} now where it is
 * @param {number} heldMs how long it has been down
 * @returns {'pan'|'draw'|'undecided'} undecided: a tap if lifted now
 */
export function classifyTouch(down, now, heldMs) {
  if (Math.hypot(now.x - down.x, now.y - down.y) > TOUCH_SLOP_PX) return 'pan';
  if (heldMs >= LONG_PRESS_MS) return 'draw';
  return 'undecided';
}
