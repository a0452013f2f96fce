// @ts-check
// Our pixels the server has not confirmed yet are drawn hatched (diagonal
// stripes in a colour that reads on the pixel), so a pixel still on its way
// never looks like one the canvas holds: during an outage, or on a server
// that takes two pixels a second, the difference is what the user needs to
// see. Where a canvas pixel is too small on screen for stripes, a dot in its
// middle says the same.

import { readableOn } from '../lib/color.js';

/** Below this many device pixels per canvas pixel there is no room for stripes. */
const STRIPES_FROM = 6;

/**
 * Draw the marks over the pending pixels that are on screen.
 * @param {CanvasRenderingContext2D} ctx the visible canvas, identity transform
 * @param {object} o
 * @param {{scale: number, ox: number, oy: number}} o.view
 * @param {number} o.dpr device pixels per CSS pixel
 * @param {number} o.width canvas width in pixels (to turn an index into x, y)
 * @param {Iterable<number>} o.indices the pending pixels, as y * width + x
 * @param {(x: number, y: number) => number} o.colorAt the colour shown there
 * @param {number} o.deviceW the visible canvas's size in device pixels
 * @param {number} o.deviceH
 */
export function drawPendingMarks(ctx, o) {
  const cell = o.view.scale * o.dpr;
  const X = o.view.ox * o.dpr;
  const Y = o.view.oy * o.dpr;
  ctx.save();
  for (const i of o.indices) {
    const x = i % o.width;
    const y = (i - x) / o.width;
    const x0 = Math.round(X + x * cell);
    const y0 = Math.round(Y + y * cell);
    const x1 = Math.round(X + (x + 1) * cell);
    const y1 = Math.round(Y + (y + 1) * cell);
    if (x1 <= 0 || y1 <= 0 || x0 >= o.deviceW || y0 >= o.deviceH) continue;
    const ink = readableOn(o.colorAt(x, y)) === 0 ? 'rgba(0, 0, 0, 0.6)' : 'rgba(255, 255, 255, 0.75)';
    if (x1 - x0 < STRIPES_FROM) {
      const d = Math.max(1, Math.round((x1 - x0) / 3));
      ctx.fillStyle = ink;
      ctx.fillRect(Math.round((x0 + x1 - d) / 2), Math.round((y0 + y1 - d) / 2), d, d);
      continue;
    }
    const size = x1 - x0;
    const gap = Math.max(4, Math.round(size / 3));
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y0, size, y1 - y0);
    ctx.clip();
    ctx.beginPath();
    for (let k = -size; k < size; k += gap) {
      ctx.moveTo(x0 + k, y1);
      ctx.lineTo(x0 + k + size, y0);
    }
    ctx.strokeStyle = ink;
    ctx.lineWidth = Math.max(1, Math.round(gap / 3));
    ctx.stroke();
    ctx.restore();
  }
  ctx.restore();
}
