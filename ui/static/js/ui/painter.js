// @ts-check
// Painting and picking on the board: strokes of the brush (each a
// lib/writes.js StrokeSession, sent by the pacer), the eyedropper, and Enter
// on the canvas, which paints at the keyboard cursor and says what happened.

import { colorLabel, hexToInt, intToHex } from '../lib/color.js';
import { StrokeSession } from '../lib/writes.js';

export class Painter {
  /**
   * @param {object} o
   * @param {() => import('../lib/board.js').Board|null} o.board
   * @param {import('./tools.js').Tools} o.tools
   * @param {() => void} o.pump send what was painted
   * @param {(text: string) => void} o.warn a toast
   * @param {(text: string) => void} o.announce for screen readers
   */
  constructor(o) {
    this.board = o.board;
    this.tools = o.tools;
    this.pump = o.pump;
    this.warn = o.warn;
    this.announce = o.announce;
    /** @type {StrokeSession|null} */
    this.stroke = null;
  }

  begin() {
    const b = this.board();
    if (b) this.stroke = new StrokeSession(b, hexToInt(this.tools.color));
  }

  /** @param {number} cx @param {number} cy canvas coordinates */
  to(cx, cy) {
    if (!this.stroke) return;
    if (this.stroke.to(cx, cy, Date.now())) this.warn('Too many pixels waiting to be sent; slow down a moment');
    this.pump();
  }

  end() {
    if (this.stroke && this.stroke.count > 0) this.tools.used(intToHex(this.stroke.color));
    this.stroke = null;
  }

  /** The eyedropper at canvas point (cx, cy). @param {number} cx @param {number} cy */
  pickAt(cx, cy) {
    const b = this.board();
    const hex = b && b.displayedHex(Math.floor(cx), Math.floor(cy));
    if (!hex) return;
    this.tools.setColor(hex);
    this.announce(`Picked colour ${hex}`);
    if (this.tools.tool === 'picker') this.tools.setTool('brush');
  }

  /** Enter on the canvas: paint pixel (x, y) and say what happened. @param {number} x @param {number} y */
  paintAt(x, y) {
    const b = this.board();
    if (!b) return;
    const color = this.tools.color;
    const before = b.displayedHex(x, y);
    this.begin();
    this.to(x + 0.5, y + 0.5);
    this.end();
    const label = colorLabel(color);
    if (before === color) this.announce(`${x}, ${y} is already ${label}`);
    else if (b.displayedHex(x, y) === color) this.announce(`Painted ${x}, ${y}, ${label}`);
    else this.announce('Not painted: too many pixels are waiting to be sent');
  }
}
