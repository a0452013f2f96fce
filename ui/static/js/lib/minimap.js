// @ts-check
// The minimap's geometry: when it is worth showing (the canvas does not fit
// the view), its size, where the view is on it, and the view that centres
// on a point of it. No DOM; the page's part is ui/minimap.js.

/** @typedef {{scale: number, ox: number, oy: number}} View */

/**
 * The canvas is not all in view: some of it is off the stage.
 * @param {View} v @param {{w: number, h: number}} stage @param {{width: number, height: number}} canvas
 */
export function canvasOutOfView(v, stage, canvas) {
  const slack = 0.5; // sub-pixel rounding of a fitted view
  return v.ox < -slack || v.oy < -slack ||
    v.ox + canvas.width * v.scale > stage.w + slack || v.oy + canvas.height * v.scale > stage.h + slack;
}

/**
 * The minimap's size in CSS pixels: the canvas's shape, its longer side
 * `maxSide`.
 * @param {{width: number, height: number}} canvas @param {number} maxSide
 */
export function minimapSize(canvas, maxSide) {
  const scale = maxSide / Math.max(canvas.width, canvas.height, 1);
  return { w: Math.max(1, Math.round(canvas.width * scale)), h: Math.max(1, Math.round(canvas.height * scale)), scale };
}

/**
 * The part of the canvas in view, as a rectangle on the minimap (minimap
 * pixels, clipped to it).
 * @param {View} v @param {{w: number, h: number}} stage @param {{width: number, height: number}} canvas @param {number} mapScale minimap pixels per canvas pixel
 */
export function viewportOnMinimap(v, stage, canvas, mapScale) {
  const x0 = Math.max(0, -v.ox / v.scale);
  const y0 = Math.max(0, -v.oy / v.scale);
  const x1 = Math.min(canvas.width, (stage.w - v.ox) / v.scale);
  const y1 = Math.min(canvas.height, (stage.h - v.oy) / v.scale);
  return {
    x: x0 * mapScale, y: y0 * mapScale,
    w: Math.max(0, x1 - x0) * mapScale, h: Math.max(0, y1 - y0) * mapScale,
  };
}

/**
 * The view at the same zoom centred on canvas point (cx, cy).
 * @param {View} v @param {{w: number, h: number}} stage @param {number} cx @param {number} cy
 * @returns {View}
 */
export function viewCentredOn(v, stage, cx, cy) {
  return { scale: v.scale, ox: stage.w / 2 - cx * v.scale, oy: stage.h / 2 - cy * v.scale };
}
