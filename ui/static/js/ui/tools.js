// @ts-check
// The tool and colour state and its controls: brush / eyedropper / pan
// buttons, the current colour (chip, hex, system picker, palette), the
// previous colour (X), recent colours, the pixel grid switch. Choices that
// last are saved in localStorage (lib/prefs.js).

import { normalizeHex, PALETTE } from '../lib/color.js';
import { pushRecent, saveColor, saveGrid, saveRecent } from '../lib/prefs.js';
import { buildPalette } from './panels.js';

/** @typedef {'brush' | 'picker' | 'pan'} Tool */

export class Tools {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {Storage|null} o.storage
   * @param {{color: string, recent: string[], grid: boolean}} o.prefs
   * @param {HTMLElement} o.canvas its data-tool attribute sets the mouse pointer
   * @param {() => void} o.onChange redraw (the brush preview, the grid)
   */
  constructor(doc, o) {
    /** @param {string} id */
    const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.$ = $;
    this.storage = o.storage;
    this.canvas = o.canvas;
    this.onChange = o.onChange;
    this.color = o.prefs.color;
    /** @type {string|null} the colour X goes back to */
    this.prevColor = null;
    /** @type {string|null} the colour before the system colour picker started changing it */
    this.pickerFrom = null;
    this.recent = o.prefs.recent;
    this.grid = o.prefs.grid;
    /** @type {Tool} */
    this.tool = 'brush';
    this.spaceHeld = false;
    this.palette = buildPalette($('palette'), $('recent'), (hex) => this.setColor(hex));
    this.palette.setRecent(this.recent);
    this.setColor(this.color);

    $('tool-brush').addEventListener('click', () => this.setTool('brush'));
    $('tool-picker').addEventListener('click', () => this.setTool('picker'));
    $('tool-pan').addEventListener('click', () => this.togglePan());
    $('toggle-grid').addEventListener('click', () => this.toggleGrid());
    $('toggle-grid').setAttribute('aria-pressed', String(this.grid));
    $('swap-color').addEventListener('click', () => this.swapColor());
    // The system picker sends `input` for every step of a drag and `change`
    // once it is done: only the colour from before it is "previous".
    const input = /** @type {HTMLInputElement} */ ($('color-input'));
    input.addEventListener('input', () => {
      if (this.pickerFrom === null) this.pickerFrom = this.color;
      this.setColor(input.value, { remember: false });
    });
    input.addEventListener('change', () => {
      const from = this.pickerFrom ?? this.color;
      this.pickerFrom = null;
      this.setColor(input.value, { remember: false });
      if (from !== this.color) this.prevColor = from;
    });
  }

  /**
   * @param {string} hex
   * @param {{remember?: boolean}} [o] remember: the colour left becomes the
   *   "previous colour" (X); false for the picker's steps while it is dragged
   */
  setColor(hex, { remember = true } = {}) {
    const c = normalizeHex(hex);
    if (!c) return;
    // A colour chosen any other way ends a picker session that sent no `change`.
    if (remember) this.pickerFrom = null;
    if (c !== this.color) {
      if (remember) this.prevColor = this.color;
      this.color = c;
      saveColor(this.storage, c);
    }
    this.$('current-chip').style.backgroundColor = c;
    this.$('current-hex').textContent = c;
    /** @type {HTMLInputElement} */ (this.$('color-input')).value = c.toLowerCase();
    this.palette.setCurrent(c);
    this.onChange();
  }

  /** @param {Tool} t */
  setTool(t) {
    this.tool = t;
    for (const [id, name] of [['tool-brush', 'brush'], ['tool-picker', 'picker'], ['tool-pan', 'pan']]) {
      this.$(id).setAttribute('aria-pressed', String(t === name));
    }
    this.updateCursor();
    this.onChange();
  }

  togglePan() {
    this.setTool(this.tool === 'pan' ? 'brush' : 'pan');
  }

  /** The tool in effect: holding Space pans whatever is selected. */
  effective() {
    return this.spaceHeld ? 'pan' : this.tool;
  }

  /** @param {boolean} held */
  holdSpace(held) {
    this.spaceHeld = held;
    this.updateCursor();
  }

  updateCursor() {
    this.canvas.dataset.tool = this.effective();
  }

  toggleGrid() {
    this.grid = !this.grid;
    saveGrid(this.storage, this.grid);
    this.$('toggle-grid').setAttribute('aria-pressed', String(this.grid));
    this.onChange();
  }

  swapColor() {
    if (this.prevColor) this.setColor(this.prevColor);
  }

  /** @param {number} dir -1: previous palette colour, 1: next */
  cyclePalette(dir) {
    const i = PALETTE.findIndex((p) => p.hex === this.color);
    const next = i < 0 ? 0 : (i + dir + PALETTE.length) % PALETTE.length;
    this.setColor(PALETTE[next].hex);
  }

  /** A stroke painted something in this colour: it joins the recent colours. @param {string} hex */
  used(hex) {
    this.recent = pushRecent(this.recent, hex);
    saveRecent(this.storage, this.recent);
    this.palette.setRecent(this.recent);
  }
}
