// @ts-check
// Line rasteriser. A pointer reports samples, not every pixel it crosses; a
// fast stroke would leave gaps without joining consecutive samples.

/**
 * Every integer point on the line from (x0,y0) to (x1,y1), both ends
 * included, in order from the start (Bresenham, all octants). Inputs are
 * truncated to integers. Each point is an [x, y] pair.
 */
export function linePixels(x0, y0, x1, y1) {
  x0 = Math.trunc(x0); y0 = Math.trunc(y0); x1 = Math.trunc(x1); y1 = Math.trunc(y1);
  const out = [];
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  let x = x0;
  let y = y0;
  // The bound only protects against a caller passing absurd coordinates.
  for (let guard = 0; guard <= dx - dy + 1; guard++) {
    out.push([x, y]);
    if (x === x1 && y === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) { err += dy; x += sx; }
    if (e2 <= dx) { err += dx; y += sy; }
  }
  return out;
}

/**
 * A stroke remembers which pixels it already produced so that one drag
 * never sends the same pixel twice, even when the pointer crosses its own
 * path or lingers inside one pixel.
 */
export class Stroke {
  /** @param {number} width @param {number} height canvas bounds; points outside are dropped. */
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.seen = new Set();
    this.last = null;
  }

  /**
   * New pixels reached by moving to canvas point (x, y) (fractional allowed).
   *
   * With `paint`, each new pixel is handed to it in order and counts as done
   * only when it returns true; on false the pixel stays new (a later pass
   * over it in this stroke offers it again) and the rest of this segment is
   * skipped the same way, e.g. while too many writes are waiting to be sent.
   * @param {number} x
   * @param {number} y
   * @param {(x: number, y: number) => boolean} [paint]
   * @returns {Array<[number, number]>} the pixels now done
   */
  moveTo(x, y, paint) {
    const px = Math.floor(x);
    const py = Math.floor(y);
    const pts = this.last ? linePixels(this.last[0], this.last[1], px, py) : [[px, py]];
    this.last = [px, py];
    const fresh = [];
    for (const [qx, qy] of pts) {
      if (qx < 0 || qy < 0 || qx >= this.width || qy >= this.height) continue;
      const key = qy * this.width + qx;
      if (this.seen.has(key)) continue;
      if (paint && !paint(qx, qy)) break;
      this.seen.add(key);
      fresh.push([qx, qy]);
    }
    return fresh;
  }

  get size() { return this.seen.size; }
}
