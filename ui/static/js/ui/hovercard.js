// @ts-check
// Details of one pixel: the one under the pointer, else the keyboard
// cursor's on the focused canvas. The status bar shows its coordinates and
// "colour · who painted it"; a card follows the pointer. Who painted it
// comes from lib/pixelinfo.js (cached, asked once, retried after a failure).

import { pixelAt } from '../lib/viewport.js';
import { renderHoverCard } from './panels.js';

/** @typedef {{x: number, y: number}} Cell */

export class HoverCard {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {import('../lib/pixelinfo.js').PixelInfo} o.info
   * @param {boolean} o.coarsePointer a phone: the idle text says how to paint
   * @param {() => import('../lib/board.js').Board|null} o.board
   * @param {() => {scale: number, ox: number, oy: number}} o.view
   * @param {() => {w: number, h: number}} o.stageSize
   * @param {() => Cell|null} o.keyCursor the keyboard cursor while the canvas has the focus
   * @param {() => boolean} o.live
   * @param {() => boolean} o.stroking a stroke is under way: no card over it
   * @param {() => void} o.onChange the hovered pixel changed (redraw its outline)
   */
  constructor(doc, o) {
    /** @param {string} id */
    const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.coordsEl = $('sb-coords');
    this.whoEl = $('sb-who');
    this.card = $('hover-card');
    this.chip = $('hc-chip');
    this.cardCoords = $('hc-coords');
    this.cardWho = $('hc-who');
    this.info = o.info;
    this.coarsePointer = o.coarsePointer;
    /** What the card shows; null when there is no pixel. @type {{hex: string, coordsText: string, whoText: string}|null} */
    this.parts = null;
    this.board = o.board;
    this.view = o.view;
    this.stageSize = o.stageSize;
    this.keyCursor = o.keyCursor;
    this.live = o.live;
    this.stroking = o.stroking;
    this.onChange = o.onChange;
    /** @type {Cell|null} the pixel under the pointer */
    this.hover = null;
    /** @type {{x: number, y: number}|null} the pointer on the stage */
    this.pos = null;
  }

  /** The pointer moved to stage point (sx, sy); null: it left. @param {number|null} sx @param {number|null} sy */
  pointerAt(sx, sy) {
    const b = this.board();
    if (sx === null || sy === null || !b) {
      this.hover = null;
      this.pos = null;
      this.update();
      this.onChange();
      return;
    }
    this.pos = { x: sx, y: sy };
    const p = pixelAt(this.view(), sx, sy, b.width, b.height);
    if (p && this.hover && p.x === this.hover.x && p.y === this.hover.y) {
      this.placeCard();
      return;
    }
    this.hover = p;
    this.update();
    this.onChange();
  }

  /** The keyboard took over: the pointer's pixel is no longer the one shown. */
  leave() {
    this.hover = null;
  }

  /** The pixel whose details are shown: under the pointer, else the keyboard cursor. */
  target() {
    return this.hover || this.keyCursor();
  }

  /** Show the target's details again (it may have changed). @param {boolean} [ask] the server may be asked */
  update(ask = true) {
    this.show(this.target(), this.board(), this.live(), ask);
    this.placeCard();
  }

  placeCard() {
    const { w, h } = this.stageSize();
    this.place(this.hover ? this.pos : null, this.stroking(), w, h);
  }

  /**
   * Show the details of pixel p (null: none).
   * @param {Cell|null} p
   * @param {import('../lib/board.js').Board|null} board
   * @param {boolean} live our pending writes are being sent (not waiting for a connection)
   * @param {boolean} ask the server may be asked who painted it
   */
  show(p, board, live, ask) {
    if (!p || !board) {
      this.coordsEl.textContent = this.coarsePointer ? 'Tap to paint · drag to move · hold, then drag to draw' : '–';
      this.whoEl.textContent = '';
      this.card.hidden = true;
      this.parts = null;
      this.info.cancel();
      return;
    }
    const hex = board.displayedHex(p.x, p.y);
    const pending = board.byPixel.get(board.index(p.x, p.y));
    const who = pending && pending.length
      ? (live ? 'Your pixel · sending…' : 'Your pixel · waiting for connection')
      : this.info.describe(p.x, p.y, ask);
    this.coordsEl.textContent = `${p.x}, ${p.y}`;
    this.whoEl.textContent = `${hex} · ${who}`;
    this.parts = { hex, coordsText: `(${p.x}, ${p.y})  ${hex}`, whoText: who };
  }

  /**
   * Put the card next to the pointer, or hide it (no pointer over a pixel, or a stroke under way).
   * @param {{x: number, y: number}|null} pos the pointer on the stage; null when it is not over a pixel
   * @param {boolean} stroking
   * @param {number} stageW
   * @param {number} stageH
   */
  place(pos, stroking, stageW, stageH) {
    if (!pos || !this.parts || stroking) {
      this.card.hidden = true;
      return;
    }
    renderHoverCard(this.card, { chip: this.chip, coords: this.cardCoords, who: this.cardWho, ...this.parts }, pos, stageW, stageH);
  }
}
