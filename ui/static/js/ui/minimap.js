// @ts-check
// The minimap: the whole canvas in a corner of the stage, with the part in
// view outlined, shown while the canvas does not all fit the view. A click
// (or a drag) on it moves the view there. The geometry is lib/minimap.js;
// the picture is the renderer's own offscreen copy of the canvas, scaled.

import { canvasOutOfView, minimapSize, viewportOnMinimap, viewCentredOn } from '../lib/minimap.js';

/** The minimap's longer side, CSS pixels, and at most this share of the stage's shorter side (phones). */
const MAX_SIDE = 160;
const MAX_SHARE = 0.3;

export class Minimap {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {HTMLElement} o.stage
   * @param {() => {width: number, height: number}|null} o.canvasSize
   * @param {() => {w: number, h: number}} o.stageSize
   * @param {() => {scale: number, ox: number, oy: number}} o.view
   * @param {(v: {scale: number, ox: number, oy: number}) => void} o.setView
   * @param {() => CanvasImageSource|null} o.picture the canvas at one pixel per pixel
   */
  constructor(doc, o) {
    this.o = o;
    const el = doc.createElement('canvas');
    el.className = 'minimap';
    el.id = 'minimap';
    el.hidden = true;
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', 'Map of the whole canvas; the outlined part is in view. Click to go there.');
    o.stage.append(el);
    this.el = el;
    this.ctx = /** @type {CanvasRenderingContext2D} */ (el.getContext('2d'));
    this.size = { w: 0, h: 0, scale: 1 };
    let dragging = false;
    const go = (/** @type {PointerEvent} */ e) => {
      const c = o.canvasSize();
      if (!c) return;
      const r = el.getBoundingClientRect();
      const cx = ((e.clientX - r.left) / r.width) * c.width;
      const cy = ((e.clientY - r.top) / r.height) * c.height;
      o.setView(viewCentredOn(o.view(), o.stageSize(), cx, cy));
    };
    el.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      e.stopPropagation();
      dragging = true;
      el.setPointerCapture(e.pointerId);
      go(e);
    });
    el.addEventListener('pointermove', (e) => { if (dragging) go(e); });
    const stop = () => { dragging = false; };
    el.addEventListener('pointerup', stop);
    el.addEventListener('pointercancel', stop);
  }

  /** Redraw: after any change to the view or the pixels. */
  draw() {
    const { o, el, ctx } = this;
    const c = o.canvasSize();
    const pic = o.picture();
    const stage = o.stageSize();
    const v = o.view();
    const show = !!c && !!pic && canvasOutOfView(v, stage, c);
    if (el.hidden !== !show) el.hidden = !show;
    if (!show) return;
    const size = minimapSize(c, Math.min(MAX_SIDE, Math.round(Math.min(stage.w, stage.h) * MAX_SHARE)));
    const dpr = globalThis.devicePixelRatio || 1;
    if (size.w !== this.size.w || size.h !== this.size.h) {
      this.size = size;
      el.style.width = `${size.w}px`;
      el.style.height = `${size.h}px`;
    }
    const bw = Math.round(size.w * dpr);
    const bh = Math.round(size.h * dpr);
    if (el.width !== bw || el.height !== bh) {
      el.width = bw;
      el.height = bh;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.clearRect(0, 0, bw, bh);
    ctx.drawImage(pic, 0, 0, bw, bh);
    const r = viewportOnMinimap(v, stage, c, size.scale);
    el.dataset.viewport = [r.x, r.y, r.w, r.h].map((n) => Math.round(n * 10) / 10).join(',');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffffff';
    ctx.strokeRect(r.x, r.y, Math.max(2, r.w), Math.max(2, r.h));
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#e50000';
    ctx.strokeRect(r.x, r.y, Math.max(2, r.w), Math.max(2, r.h));
  }
}
