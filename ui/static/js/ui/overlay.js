// @ts-check
// A layer over the canvas for what only this page shows: the template (an
// image laid over the canvas as a guide, faded; ui/template.js) and a
// marker on one pixel (the one an activity entry or "next wrong pixel"
// went to). It takes no pointer events; the canvas under it does.

/** How long the marker stays after a jump. */
const MARK_MS = 4000;

export class OverlayLayer {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {HTMLCanvasElement} o.canvas the pixel canvas; the layer goes right above it
   * @param {() => {w: number, h: number}} o.stageSize
   * @param {() => void} o.redraw ask for a frame (the marker fades)
   */
  constructor(doc, o) {
    this.o = o;
    const el = doc.createElement('canvas');
    el.className = 'overlay-layer';
    el.id = 'overlay-layer';
    el.setAttribute('aria-hidden', 'true');
    o.canvas.after(el);
    this.el = el;
    this.ctx = /** @type {CanvasRenderingContext2D} */ (el.getContext('2d'));
    /** @type {{image: CanvasImageSource, width: number, height: number, x: number, y: number, scale: number, opacity: number}|null} */
    this.template = null;
    /** @type {{x: number, y: number, until: number}|null} */
    this.mark = null;
    /** What the layer shows now; a frame with nothing new leaves it as it is. */
    this.drawn = '';
  }

  /** @param {{image: CanvasImageSource, width: number, height: number, x: number, y: number, scale: number, opacity: number}|null} t */
  setTemplate(t) {
    this.template = t;
    this.drawn = '';
    this.el.dataset.template = t ? `${t.x},${t.y},${t.scale},${t.opacity}` : '';
    this.o.redraw();
  }

  /** Mark pixel (x, y) for a few seconds. @param {number} x @param {number} y */
  markPixel(x, y) {
    this.mark = { x, y, until: performance.now() + MARK_MS };
    this.el.dataset.mark = `${x},${y}`;
    this.o.redraw();
  }

  /**
   * Draw for this view; true while the marker still needs frames.
   * @param {{scale: number, ox: number, oy: number}} v
   * @param {number} now performance.now()
   */
  draw(v, now) {
    const { el, ctx } = this;
    const { w, h } = this.o.stageSize();
    const dpr = Math.min(globalThis.devicePixelRatio || 1, 3);
    // Other people's cursors ask for frames all the time: redraw only for
    // a new view, size or template, or while the marker pulses.
    const key = `${v.scale},${v.ox},${v.oy},${w},${h},${dpr}`;
    if (!this.mark && key === this.drawn) return false;
    this.drawn = this.mark ? '' : key;
    const bw = Math.max(1, Math.round(w * dpr));
    const bh = Math.max(1, Math.round(h * dpr));
    if (el.width !== bw || el.height !== bh) {
      el.width = bw;
      el.height = bh;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, bw, bh);
    const t = this.template;
    if (t) {
      ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.ox, dpr * v.oy);
      ctx.imageSmoothingEnabled = false;
      ctx.globalAlpha = t.opacity;
      ctx.drawImage(t.image, t.x, t.y, t.width * t.scale, t.height * t.scale);
      ctx.globalAlpha = 1;
    }
    const m = this.mark;
    if (m && now >= m.until) {
      this.mark = null;
      delete this.el.dataset.mark;
    } else if (m) {
      // A square around the pixel and a ring around that, so the pixel is
      // found at any zoom, with its own colour left visible.
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const s = Math.max(v.scale, 4);
      const cx = v.ox + (m.x + 0.5) * v.scale;
      const cy = v.oy + (m.y + 0.5) * v.scale;
      const phase = ((m.until - now) % 1000) / 1000;
      ctx.lineWidth = 3;
      ctx.strokeStyle = '#ffffff';
      ctx.strokeRect(cx - s / 2 - 2, cy - s / 2 - 2, s + 4, s + 4);
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#e50000';
      ctx.strokeRect(cx - s / 2 - 2, cy - s / 2 - 2, s + 4, s + 4);
      ctx.beginPath();
      ctx.arc(cx, cy, s / 2 + 10 + 10 * phase, 0, Math.PI * 2);
      ctx.globalAlpha = 1 - phase;
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    return !!this.mark;
  }
}
