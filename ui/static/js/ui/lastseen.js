// @ts-check
// Keeps a picture of the canvas when the page is left or hidden
// (lib/lastseen.js), and shows it, marked "as you last saw it", while a
// page that has no canvas yet cannot reach the server: with the service
// worker (sw.js) that is what a reload during an outage looks like.
// The picture is decoded from bytes (createImageBitmap): the page's policy
// refuses data: URLs as image sources.

import { timeAgo } from '../lib/format.js';
import { loadLastSeen, saveLastSeen } from '../lib/lastseen.js';

export class LastSeen {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {Storage|null} o.storage
   * @param {() => string} o.slug
   * @param {HTMLElement} o.host where the picture goes (the loading overlay)
   * @param {() => {width: number, height: number}|null} o.board
   * @param {() => HTMLCanvasElement|null} o.picture the canvas at one pixel per pixel
   */
  constructor(doc, o) {
    this.doc = doc;
    this.o = o;
    /** @type {HTMLElement|null} */
    this.shown = null;
    const keep = () => this.keep();
    doc.defaultView.addEventListener('pagehide', keep);
    doc.addEventListener('visibilitychange', () => {
      if (doc.visibilityState === 'hidden') keep();
    });
  }

  /** Keep what the page shows now (once it has a canvas). */
  keep() {
    const b = this.o.board();
    const pic = this.o.picture();
    if (!b || !pic) return;
    let png;
    try {
      png = pic.toDataURL('image/png');
    } catch {
      return;
    }
    saveLastSeen(this.o.storage, this.o.slug(), { at: Date.now(), width: b.width, height: b.height, png });
  }

  /**
   * The page's state changed: show the picture while there is no canvas
   * and loading it failed; take it away once there is one.
   * @param {boolean} hasBoard @param {boolean} loadFailed
   */
  update(hasBoard, loadFailed) {
    if (hasBoard) {
      if (this.shown) this.shown.remove();
      this.shown = null;
      return;
    }
    if (!loadFailed || this.shown) return;
    const r = loadLastSeen(this.o.storage, this.o.slug());
    if (!r) return;
    const fig = this.doc.createElement('figure');
    fig.className = 'last-seen';
    fig.id = 'last-seen';
    const canvas = this.doc.createElement('canvas');
    canvas.width = r.width;
    canvas.height = r.height;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'The canvas as you last saw it');
    // Whole screen pixels per canvas pixel, within about 360×280.
    const k = Math.max(1, Math.floor(Math.min(360 / r.width, 280 / r.height)));
    const fit = Math.min(1, 360 / r.width, 280 / r.height);
    canvas.style.width = `${Math.round(r.width * (k > 1 ? k : fit))}px`;
    canvas.style.height = `${Math.round(r.height * (k > 1 ? k : fit))}px`;
    const cap = this.doc.createElement('figcaption');
    cap.textContent = `The canvas as you last saw it, ${timeAgo(r.at, Date.now())}. The live one appears as soon as the server answers.`;
    fig.append(canvas, cap);
    this.o.host.append(fig);
    this.shown = fig;
    const comma = r.png.indexOf(',');
    let bytes;
    try {
      const bin = atob(r.png.slice(comma + 1));
      bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    } catch {
      return;
    }
    createImageBitmap(new Blob([bytes], { type: 'image/png' })).then((bmp) => {
      const ctx = canvas.getContext('2d');
      if (ctx) ctx.drawImage(bmp, 0, 0);
      bmp.close();
      fig.dataset.ready = 'true';
    }).catch(() => {});
  }
}
