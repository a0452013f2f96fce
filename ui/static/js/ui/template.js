// @ts-check
// The template panel: load an image (a file, or an address on this site),
// place, size and fade it over the canvas, and go to the next pixel that
// differs from it. The image stays in this browser: it is drawn on the
// overlay layer (ui/overlay.js) and kept in localStorage per canvas
// (lib/template.js); nothing of it is ever sent to the server.
// Images are decoded with createImageBitmap from bytes, never through a
// data: or blob: URL, which the page's policy refuses.

import { colorLabel, intToHex } from '../lib/color.js';
import {
  SCALES, loadPlacement, nextWrongPixel, normalizePlacement, progress, sameOriginPath, savePlacement,
} from '../lib/template.js';

/** Larger images are refused: a template is a guide, not a photo. */
const MAX_SIDE = 2048;

/** @param {string} url a data:image/...;base64 URL */
function dataUrlBlob(url) {
  const comma = url.indexOf(',');
  const head = url.slice(5, comma);
  const bin = atob(url.slice(comma + 1));
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: head.split(';')[0] });
}

/** @typedef {import('../lib/template.js').Placement} Placement */

export class TemplatePanel {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {Storage|null} o.storage
   * @param {HTMLElement} o.stage where the "next pixel to fix" button floats while the panel is closed
   * @param {() => string} o.slug the canvas (templates are kept per canvas)
   * @param {import('./overlay.js').OverlayLayer} o.overlay
   * @param {() => import('../lib/board.js').Board|null} o.board
   * @param {() => {scale: number, ox: number, oy: number}} o.view
   * @param {() => {w: number, h: number}} o.stageSize
   * @param {(x: number, y: number) => void} o.jumpTo show that pixel and mark it
   * @param {(hex: string) => void} o.setColor
   * @param {(f: RequestInfo, init?: RequestInit) => Promise<Response>} o.fetch
   */
  constructor(doc, o) {
    this.doc = doc;
    this.o = o;
    const $ = (/** @type {string} */ id) => /** @type {any} */ (doc.getElementById(id));
    this.menu = /** @type {HTMLDetailsElement} */ ($('template-menu'));
    this.controls = $('template-controls');
    this.error = $('template-error');
    this.status = $('template-status');
    this.nameEl = $('template-name');
    this.x = /** @type {HTMLInputElement} */ ($('template-x'));
    this.y = /** @type {HTMLInputElement} */ ($('template-y'));
    this.scale = /** @type {HTMLSelectElement} */ ($('template-scale'));
    this.opacity = /** @type {HTMLInputElement} */ ($('template-opacity'));
    this.visible = /** @type {HTMLInputElement} */ ($('template-visible'));
    for (const s of SCALES) {
      const opt = doc.createElement('option');
      opt.value = String(s);
      opt.textContent = s === 1 ? '1× (one image pixel, one canvas pixel)' : s > 1 ? `${s}× bigger` : `1/${1 / s} size`;
      this.scale.append(opt);
    }
    /** @type {Placement|null} */
    this.placement = null;
    /** @type {{width: number, height: number, data: Uint8ClampedArray, bitmap: ImageBitmap}|null} */
    this.image = null;
    /** @type {{x: number, y: number}|null} */
    this.lastWrong = null;

    const file = /** @type {HTMLInputElement} */ ($('template-file'));
    file.addEventListener('change', () => {
      const f = file.files && file.files[0];
      if (f) this.fromBlob(f, null, f.name);
      file.value = '';
    });
    $('template-url-form').addEventListener('submit', (/** @type {Event} */ e) => {
      e.preventDefault();
      const r = sameOriginPath($('template-url').value, location.origin);
      if ('error' in r) this.fail(r.error);
      else this.fromPath(r.path);
    });
    const changed = () => this.fromForm();
    for (const el of [this.x, this.y, this.scale, this.opacity, this.visible]) el.addEventListener('input', changed);
    $('template-here').addEventListener('click', () => this.moveToView());
    // The pixel a jump shows is in the middle of the stage, where the open
    // panel would hide it: the panel closes, and a button on the stage
    // leads on from there.
    $('template-next').addEventListener('click', () => {
      this.menu.open = false;
      this.next();
    });
    const float = doc.createElement('button');
    float.type = 'button';
    float.className = 'template-float';
    float.id = 'template-next-float';
    float.hidden = true;
    float.textContent = 'Next pixel to fix';
    float.addEventListener('click', () => this.next());
    o.stage.append(float);
    this.float = float;
    this.menu.addEventListener('toggle', () => this.render(false));
    // Like the export menu: a click elsewhere or Esc closes it (Esc gives
    // the focus back to its button).
    doc.addEventListener('pointerdown', (e) => {
      if (this.menu.open && !this.menu.contains(/** @type {Node} */ (e.target))) this.menu.open = false;
    });
    this.menu.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !this.menu.open) return;
      e.stopPropagation();
      this.menu.open = false;
      /** @type {HTMLElement} */ (this.menu.querySelector('summary')).focus();
    });
    $('template-remove').addEventListener('click', () => this.remove());
    this.render();
  }

  /** Put back this canvas's template from the last visit. */
  restore() {
    const p = loadPlacement(this.o.storage, this.o.slug());
    if (!p) return;
    if (p.source.startsWith('data:')) {
      let blob;
      try {
        blob = dataUrlBlob(p.source);
      } catch {
        return;
      }
      this.fromBlob(blob, p, p.name);
    } else {
      this.fromPath(p.source, p);
    }
  }

  /** @param {string} path on this origin @param {Placement|null} [keep] */
  async fromPath(path, keep = null) {
    let res;
    try {
      res = await this.o.fetch(path);
    } catch {
      this.fail('The image could not be loaded (no answer).');
      return;
    }
    if (!res.ok) {
      this.fail(`The image could not be loaded (${res.status}).`);
      return;
    }
    const blob = await res.blob();
    this.fromBlob(blob, keep || { source: path }, path.split('/').pop() || path);
  }

  /**
   * @param {Blob} blob
   * @param {Partial<Placement>|null} keep a placement to keep (restored, or the address it came from)
   * @param {string} name
   */
  async fromBlob(blob, keep, name) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob);
    } catch {
      this.fail('That file is not an image this browser can read (PNG, GIF, WebP or JPEG).');
      return;
    }
    if (bitmap.width > MAX_SIDE || bitmap.height > MAX_SIDE) {
      this.fail(`That image is ${bitmap.width}×${bitmap.height}; a template can be at most ${MAX_SIDE} pixels a side.`);
      bitmap.close();
      return;
    }
    const canvas = this.doc.createElement('canvas');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    // The bitmap is what the layer draws (kept on the GPU, unlike a canvas
    // read back with getImageData); the bytes are what "next pixel" reads.
    if (this.image) this.image.bitmap.close();
    this.image = { width: canvas.width, height: canvas.height, data, bitmap };
    const start = this.topLeftOfView();
    const source = keep && keep.source ? keep.source : canvas.toDataURL('image/png');
    this.placement = normalizePlacement({ x: start.x, y: start.y, scale: 1, opacity: 0.5, visible: true, ...(keep || {}), source, name });
    this.lastWrong = null;
    this.error.textContent = '';
    this.save();
    this.render();
  }

  /** The canvas pixel at the top left of the view (a new template goes there). */
  topLeftOfView() {
    const v = this.o.view();
    return { x: Math.max(0, Math.ceil(-v.ox / v.scale)), y: Math.max(0, Math.ceil(-v.oy / v.scale)) };
  }

  fromForm() {
    if (!this.placement) return;
    this.placement = normalizePlacement({
      ...this.placement,
      x: Number(this.x.value), y: Number(this.y.value), scale: Number(this.scale.value),
      opacity: Number(this.opacity.value) / 100, visible: this.visible.checked,
    });
    this.lastWrong = null;
    this.save();
    this.render(false);
  }

  /** Centre the template on the middle of the view. */
  moveToView() {
    if (!this.placement || !this.image) return;
    const v = this.o.view();
    const { w, h } = this.o.stageSize();
    const cx = (w / 2 - v.ox) / v.scale;
    const cy = (h / 2 - v.oy) / v.scale;
    const p = this.placement;
    this.placement = { ...p, x: Math.round(cx - (this.image.width * p.scale) / 2), y: Math.round(cy - (this.image.height * p.scale) / 2) };
    this.save();
    this.render();
  }

  colorAt() {
    const b = this.o.board();
    return (/** @type {number} */ x, /** @type {number} */ y) => (b ? b.displayedRGB(b.index(x, y)) : -1);
  }

  /** Go to the next pixel that differs from the template, with its colour in hand. */
  next() {
    const b = this.o.board();
    if (!b || !this.image || !this.placement) return;
    const found = nextWrongPixel(this.image, this.placement, b, this.colorAt(), this.lastWrong);
    const { total, right } = progress(this.image, this.placement, b, this.colorAt());
    if (!found) {
      this.lastWrong = null;
      this.status.textContent = total ? `All ${total} pixels match the template.` : 'The template is not over the canvas.';
      this.float.textContent = total ? 'All pixels match' : 'Next pixel to fix';
      return;
    }
    this.lastWrong = { x: found.x, y: found.y };
    const hex = intToHex(found.want);
    this.o.setColor(hex);
    this.o.jumpTo(found.x, found.y);
    this.status.textContent = `${total - right} of ${total} pixels differ. This one (${found.x}, ${found.y}) should be ${colorLabel(hex)}: that colour is now selected.`;
    this.float.textContent = `Next pixel to fix (${total - right} left)`;
    this.float.title = this.status.textContent;
  }

  remove() {
    this.placement = null;
    if (this.image) this.image.bitmap.close();
    this.image = null;
    this.lastWrong = null;
    savePlacement(this.o.storage, this.o.slug(), null);
    this.status.textContent = '';
    this.render();
  }

  save() {
    if (this.placement && !savePlacement(this.o.storage, this.o.slug(), this.placement)) {
      this.status.textContent = 'This image is too large to remember: it is shown until you leave the page.';
    }
  }

  /** @param {string} text */
  fail(text) {
    this.error.textContent = text;
  }

  /** Form and overlay from the placement. @param {boolean} [form] also the form's fields */
  render(form = true) {
    const p = this.placement;
    const img = this.image;
    this.controls.hidden = !p;
    this.menu.dataset.active = String(!!p);
    this.float.hidden = !p || !p.visible || this.menu.open;
    if (!p || !img) {
      this.o.overlay.setTemplate(null);
      return;
    }
    if (form) {
      this.x.value = String(p.x);
      this.y.value = String(p.y);
      this.scale.value = String(p.scale);
      this.opacity.value = String(Math.round(p.opacity * 100));
      this.visible.checked = p.visible;
      this.nameEl.textContent = `${p.name || 'Image'} · ${img.width}×${img.height}`;
    }
    this.o.overlay.setTemplate(p.visible
      ? { image: img.bitmap, width: img.width, height: img.height, x: p.x, y: p.y, scale: p.scale, opacity: p.opacity }
      : null);
  }
}
