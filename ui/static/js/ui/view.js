// @ts-check
// The view of the canvas on the stage: pan and zoom (clamped so the canvas
// cannot be lost), fit to the stage, zoom steps, 100%, jump to a pixel, and
// staying fitted when the stage resizes until the user moves the view.
// The maths is lib/viewport.js; this keeps the current view and the zoom
// readout.

import { zoomLabel } from '../lib/format.js';
import { clampView, fitView, nextZoomStep, zoomAt, zoomLimits, zoomTo } from '../lib/viewport.js';

/** @typedef {{scale: number, ox: number, oy: number}} View */

/** Jumping to a pixel zooms in at least this far, so it can be seen. */
const JUMP_SCALE = 12;

export class ViewController {
  /**
   * @param {object} o
   * @param {() => {w: number, h: number}} o.stageSize CSS pixels
   * @param {() => {width: number, height: number}|null} o.canvasSize null before the first snapshot
   * @param {HTMLElement} o.readout shows the zoom in %
   * @param {() => void} o.onChange the view changed (redraw, move the hover card)
   */
  constructor(o) {
    this.stageSize = o.stageSize;
    this.canvasSize = o.canvasSize;
    this.readout = o.readout;
    this.onChange = o.onChange;
    /** @type {View} */
    this.view = { scale: 1, ox: 0, oy: 0 };
    /** The user panned or zoomed: a resize keeps their view instead of fitting again. */
    this.userMoved = false;
  }

  limits() {
    const c = this.canvasSize();
    const { w, h } = this.stageSize();
    return c ? zoomLimits(w, h, c.width, c.height) : { min: 0.05, max: 80 };
  }

  /**
   * @param {View} v
   * @param {boolean} [userMoved]
   */
  set(v, userMoved = true) {
    const c = this.canvasSize();
    if (!c) return;
    const { w, h } = this.stageSize();
    this.view = clampView(v, w, h, c.width, c.height);
    if (userMoved) this.userMoved = true;
    this.readout.textContent = zoomLabel(this.view.scale);
    this.onChange();
  }

  fit() {
    const c = this.canvasSize();
    if (!c) return;
    const { w, h } = this.stageSize();
    this.set(fitView(w, h, c.width, c.height), false);
    this.userMoved = false;
  }

  /** @param {number} factor @param {number} sx @param {number} sy around this stage point */
  zoomBy(factor, sx, sy) {
    this.set(zoomAt(this.view, factor, sx, sy, this.limits()));
  }

  /** One zoom step in (dir > 0) or out, around the stage's centre. @param {number} dir */
  zoomStep(dir) {
    const { w, h } = this.stageSize();
    this.set(zoomTo(this.view, nextZoomStep(this.view.scale, dir), w / 2, h / 2, this.limits()));
  }

  /** 100%: one canvas pixel per CSS pixel, around the stage's centre. */
  zoom100() {
    const { w, h } = this.stageSize();
    this.set(zoomTo(this.view, 1, w / 2, h / 2, this.limits()));
  }

  /** Centre the view on a pixel, zooming in if it is too small to see. @param {number} x @param {number} y */
  jumpTo(x, y) {
    const { w, h } = this.stageSize();
    const scale = Math.max(this.view.scale, JUMP_SCALE);
    this.set({ scale, ox: w / 2 - (x + 0.5) * scale, oy: h / 2 - (y + 0.5) * scale });
  }

  /** The stage changed size: stay fitted, or keep the user's view clamped. */
  resized() {
    if (!this.canvasSize()) return;
    if (!this.userMoved) this.fit();
    else this.set(this.view);
  }
}
