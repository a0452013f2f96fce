// @ts-check
// Drawing the canvas. The picture lives in one ImageData on an offscreen
// canvas (one byte write per changed pixel, one putImageData per frame for
// the changed rectangle); the visible <canvas> is redrawn from it with image
// smoothing off, so pixels stay crisp at any zoom, and only when something
// changed.

import { intToRgb, readableOn } from '../lib/color.js';
import { visibleRange } from '../lib/viewport.js';
import { drawPendingMarks } from './pendingmarks.js';

/** Grid lines fade in between these on-screen pixel sizes (CSS px). */
const GRID_FROM = 8;
const GRID_FULL = 16;
/** How long the ring around someone else's new pixel lasts. */
const PULSE_MS = 900;
const MAX_PULSES = 80;

export class Renderer {
  /** @param {HTMLCanvasElement} canvas the visible element */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { alpha: true });
    this.off = document.createElement('canvas');
    this.offCtx = this.off.getContext('2d', { willReadFrequently: false });
    this.image = null;
    this.width = 0;
    this.height = 0;
    this.dirty = null;
    this.cssW = 0;
    this.cssH = 0;
    this.dpr = 1;
    this.pulses = [];
  }

  /** Size the picture buffer for a canvas of width × height pixels. */
  setSize(width, height) {
    this.width = width;
    this.height = height;
    this.off.width = width;
    this.off.height = height;
    this.image = this.offCtx.createImageData(width, height);
    this.dirty = null;
    this.pulses = [];
  }

  /** Redraw the whole picture from the board (snapshot load, reset). */
  loadFrom(board) {
    if (board.width !== this.width || board.height !== this.height) this.setSize(board.width, board.height);
    board.fillRGBA(this.image.data);
    this.offCtx.putImageData(this.image, 0, 0);
    this.dirty = null;
  }

  /** One pixel's displayed colour changed. */
  setPixel(x, y, rgb) {
    if (!this.image || x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const p = (y * this.width + x) * 4;
    const d = this.image.data;
    d[p] = (rgb >> 16) & 255;
    d[p + 1] = (rgb >> 8) & 255;
    d[p + 2] = rgb & 255;
    d[p + 3] = 255;
    const r = this.dirty;
    if (!r) this.dirty = { x0: x, y0: y, x1: x + 1, y1: y + 1 };
    else {
      if (x < r.x0) r.x0 = x;
      if (y < r.y0) r.y0 = y;
      if (x + 1 > r.x1) r.x1 = x + 1;
      if (y + 1 > r.y1) r.y1 = y + 1;
    }
  }

  /** Copy the changed rectangle of the ImageData to the offscreen canvas. */
  flush() {
    const r = this.dirty;
    if (!r) return;
    this.offCtx.putImageData(this.image, 0, 0, r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0);
    this.dirty = null;
  }

  /** Ring around a pixel someone else just drew. */
  pulse(x, y, rgb, nowMs) {
    if (this.pulses.length >= MAX_PULSES) this.pulses.shift();
    this.pulses.push({ x, y, rgb, at: nowMs });
  }

  get animating() {
    return this.pulses.length > 0;
  }

  /** Match the backing store to the element's size and the device pixel ratio. */
  fitToElement() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const w = Math.max(1, Math.round(rect.width * dpr));
    const h = Math.max(1, Math.round(rect.height * dpr));
    this.cssW = rect.width;
    this.cssH = rect.height;
    this.dpr = dpr;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      return true;
    }
    return false;
  }

  /**
   * Draw one frame.
   * @param {{scale:number, ox:number, oy:number}} view
   * @param {object} o
   * @param {boolean} o.grid
   * @param {{x:number,y:number}|null} o.hover pixel under the pointer
   * @param {number|null} o.preview colour previewed at hover (brush), or null
   * @param {{x:number,y:number}|null} o.keyCursor keyboard cursor
   * @param {number} o.now
   * @param {(x: number, y: number) => number} [o.colorAt] the colour shown at a pixel, for an outline that stands out on it
   * @param {Iterable<number>} [o.pending] our unconfirmed pixels (y * width + x): drawn hatched
   */
  draw(view, o) {
    if (!this.image) return;
    this.flush();
    const ctx = this.ctx;
    const dpr = this.dpr;
    const s = view.scale;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);

    // The canvas floats on the stage with a soft shadow.
    const X = view.ox * dpr;
    const Y = view.oy * dpr;
    const W = this.width * s * dpr;
    const H = this.height * s * dpr;
    ctx.save();
    ctx.shadowColor = 'rgba(16, 24, 40, 0.22)';
    ctx.shadowBlur = 18 * dpr;
    ctx.shadowOffsetY = 4 * dpr;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(X, Y, W, H);
    ctx.restore();

    ctx.imageSmoothingEnabled = false;
    ctx.setTransform(dpr * s, 0, 0, dpr * s, X, Y);
    ctx.drawImage(this.off, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);

    if (o.grid && s >= GRID_FROM) this.drawGrid(view);

    if (o.pending) {
      drawPendingMarks(ctx, { view, dpr, width: this.width, indices: o.pending, colorAt: o.colorAt || (() => 0xffffff),
        deviceW: this.canvas.width, deviceH: this.canvas.height });
    }

    const px = (x) => Math.round(X + x * s * dpr);
    const py = (y) => Math.round(Y + y * s * dpr);

    // Other people's fresh pixels: a ring that grows and fades.
    if (this.pulses.length) {
      this.pulses = this.pulses.filter((p) => o.now - p.at < PULSE_MS);
      for (const p of this.pulses) {
        const t = (o.now - p.at) / PULSE_MS;
        const cx = X + (p.x + 0.5) * s * dpr;
        const cy = Y + (p.y + 0.5) * s * dpr;
        const r = Math.max(3 * dpr, s * dpr * 0.5) + t * 14 * dpr;
        ctx.beginPath();
        ctx.arc(cx, cy, r, 0, Math.PI * 2);
        const [cr, cg, cb] = intToRgb(p.rgb === 0xffffff ? 0x888888 : p.rgb);
        ctx.strokeStyle = `rgba(${cr}, ${cg}, ${cb}, ${(1 - t) * 0.9})`;
        ctx.lineWidth = 2 * dpr;
        ctx.stroke();
      }
    }

    /** @type {[{x: number, y: number}|null, boolean][]} */
    const cells = [[o.hover, false], [o.keyCursor, true]];
    for (const [cell, isKey] of cells) {
      if (!cell) continue;
      const x0 = px(cell.x);
      const y0 = py(cell.y);
      const x1 = px(cell.x + 1);
      const y1 = py(cell.y + 1);
      if (!isKey && o.preview !== null && o.preview !== undefined) {
        const [r, g, b] = intToRgb(o.preview);
        ctx.fillStyle = `rgba(${r}, ${g}, ${b}, 0.65)`;
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
      }
      const under = o.colorAt ? o.colorAt(cell.x, cell.y) : 0xffffff;
      const edge = readableOn(under) === 0 ? '0, 0, 0' : '255, 255, 255';
      const lw = Math.max(1, Math.round((isKey ? 2.5 : 1.5) * dpr));
      // A pixel smaller than the outline still gets a visible box.
      const pad = x1 - x0 < 6 * dpr ? 3 * dpr : 0;
      ctx.lineWidth = lw;
      ctx.strokeStyle = `rgba(${edge}, 0.9)`;
      ctx.strokeRect(x0 - pad + lw / 2, y0 - pad + lw / 2, x1 - x0 + 2 * pad - lw, y1 - y0 + 2 * pad - lw);
      if (isKey) {
        ctx.setLineDash([3 * dpr, 3 * dpr]);
        ctx.strokeStyle = 'rgba(37, 99, 235, 0.95)';
        ctx.strokeRect(x0 - pad - lw / 2, y0 - pad - lw / 2, x1 - x0 + 2 * pad + lw, y1 - y0 + 2 * pad + lw);
        ctx.setLineDash([]);
      }
    }
  }

  drawGrid(view) {
    const ctx = this.ctx;
    const dpr = this.dpr;
    const s = view.scale;
    const r = visibleRange(view, this.cssW, this.cssH, this.width, this.height);
    const alpha = Math.min(1, (s - GRID_FROM) / (GRID_FULL - GRID_FROM)) * 0.22 + 0.06;
    ctx.beginPath();
    const top = Math.round((view.oy + r.y0 * s) * dpr);
    const bottom = Math.round((view.oy + r.y1 * s) * dpr);
    const left = Math.round((view.ox + r.x0 * s) * dpr);
    const right = Math.round((view.ox + r.x1 * s) * dpr);
    for (let x = r.x0; x <= r.x1; x++) {
      const X = Math.round((view.ox + x * s) * dpr) + 0.5;
      ctx.moveTo(X, top);
      ctx.lineTo(X, bottom);
    }
    for (let y = r.y0; y <= r.y1; y++) {
      const Y = Math.round((view.oy + y * s) * dpr) + 0.5;
      ctx.moveTo(left, Y);
      ctx.lineTo(right, Y);
    }
    ctx.lineWidth = 1;
    // Mid-grey reads on both white and dark pixels.
    ctx.strokeStyle = `rgba(110, 118, 135, ${alpha})`;
    ctx.stroke();
  }

  /** A PNG of the picture at an integer scale. */
  toBlob(scale) {
    const c = document.createElement('canvas');
    c.width = this.width * scale;
    c.height = this.height * scale;
    const ctx = c.getContext('2d');
    this.flush();
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.off, 0, 0, c.width, c.height);
    return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  }
}
