// @ts-check
// The first-visit guide: what to say to a new visitor (mouse or touch), and
// whether they have already seen it (kept in localStorage, so it shows once
// per browser). No DOM; the page's part is ui/guide.js.

export const GUIDE_KEY = 'pixelPlayground.guideSeen';

/**
 * The guide's lines for this kind of pointer.
 * @param {boolean} touch the main pointer is a finger (media `(pointer: coarse)`)
 * @returns {string[]}
 */
export function guideLines(touch) {
  return touch
    ? ['Tap to paint a pixel.', 'Drag with one finger to move around; pinch to zoom.', 'To draw lines: hold a finger still a moment, then drag.', 'Pick a colour from the palette.']
    : ['Click to paint a pixel; drag to draw a line.', 'Scroll to zoom; hold Space or the middle button and drag to move around.', 'Pick a colour from the palette. Press ? for all shortcuts.'];
}

/** @param {{getItem(k: string): string|null}|null} storage */
export function guideSeen(storage) {
  try {
    return !!storage && storage.getItem(GUIDE_KEY) === '1';
  } catch {
    return false;
  }
}

/** @param {{setItem(k: string, v: string): void}|null} storage */
export function markGuideSeen(storage) {
  try {
    if (storage) storage.setItem(GUIDE_KEY, '1');
  } catch {
    // storage refused: the guide shows again next time, which is harmless
  }
}
