// @ts-check
// The keyboard cursor on the focused canvas: arrows move it (Shift: 10),
// the view follows it, and once it rests its position and colour are said
// for screen readers ("12, 30, Red").

import { colorLabel } from '../lib/color.js';
import { ensureVisible, moveKeyCursor } from '../lib/viewport.js';

/** The position is announced once the cursor rests this long. */
const ANNOUNCE_MS = 350;

export class KeyCursor {
  /**
   * @param {object} o
   * @param {HTMLElement} o.canvas
   * @param {() => import('../lib/board.js').Board|null} o.board
   * @param {import('./view.js').ViewController} o.view
   * @param {() => {w: number, h: number}} o.stageSize
   * @param {(text: string) => void} o.announce
   * @param {() => void} o.onMove
   */
  constructor(o) {
    this.canvas = o.canvas;
    this.board = o.board;
    this.view = o.view;
    this.stageSize = o.stageSize;
    this.announce = o.announce;
    this.onMove = o.onMove;
    /** @type {{x: number, y: number}|null} */
    this.pos = null;
    this.timer = null;
  }

  /** The cursor while the canvas has the focus (it is only shown, and only counts, then). */
  get active() {
    return this.canvas.ownerDocument.activeElement === this.canvas ? this.pos : null;
  }

  /** @param {number} dx @param {number} dy */
  move(dx, dy) {
    const b = this.board();
    if (!b) return;
    const { w, h } = this.stageSize();
    const v = this.view.view;
    const c = moveKeyCursor(this.pos, dx, dy, v, w, h, b.width, b.height);
    this.pos = c;
    const seen = ensureVisible(v, c.x, c.y, w, h);
    if (seen.ox !== v.ox || seen.oy !== v.oy) this.view.set(seen);
    this.onMove();
    // The canvas is a picture: say where the cursor is and what is there,
    // once it rests (holding an arrow key would otherwise queue dozens).
    this.quiet();
    this.timer = setTimeout(() => {
      const p = this.active;
      const board = this.board();
      if (p && board) this.announce(`${p.x}, ${p.y}, ${colorLabel(board.displayedHex(p.x, p.y))}`);
    }, ANNOUNCE_MS);
  }

  /** Something else is being said about the pixel: not its position too. */
  quiet() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}
