// @ts-check
// Other people's cursors as DOM elements over the canvas: an arrow in the
// person's colour and a name tag. Names go in with textContent only; a name
// is whatever a stranger typed.

import { colorForName } from '../lib/color.js';
import { canvasToScreen } from '../lib/viewport.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** A cursor that has not moved for this long is dimmed. */
const IDLE_MS = 15000;

export class CursorLayer {
  /** @param {HTMLElement} layer */
  constructor(layer) {
    this.layer = layer;
    this.els = new Map();
  }

  /**
   * Position every cursor for this frame.
   * @param {Array<{clientId:string, username:string, x:number, y:number, updatedAt:number}>} cursors
   * @param {{scale:number, ox:number, oy:number}} view
   * @param {number} stageW @param {number} stageH
   * @param {number} nowMs
   */
  render(cursors, view, stageW, stageH, nowMs) {
    const seen = new Set();
    for (const c of cursors) {
      seen.add(c.clientId);
      let el = this.els.get(c.clientId);
      if (!el) {
        el = this.create();
        this.els.set(c.clientId, el);
        this.layer.appendChild(el.root);
      }
      if (el.name !== c.username) {
        el.name = c.username;
        el.label.textContent = c.username;
        const col = colorForName(c.username);
        el.label.style.backgroundColor = col;
        el.path.setAttribute('fill', col);
      }
      const p = canvasToScreen(view, c.x, c.y);
      const visible = p.x >= -20 && p.y >= -20 && p.x <= stageW + 20 && p.y <= stageH + 20;
      el.root.style.display = visible ? '' : 'none';
      if (visible) {
        el.root.style.transform = `translate(${Math.round(p.x * 10) / 10}px, ${Math.round(p.y * 10) / 10}px)`;
        // Near the right or bottom edge the name tag goes on the other side.
        el.root.classList.toggle('flip-x', p.x > stageW - 140);
        el.root.classList.toggle('flip-y', p.y > stageH - 44);
      }
      el.root.classList.toggle('idle', nowMs - c.updatedAt > IDLE_MS);
    }
    for (const [id, el] of this.els) {
      if (!seen.has(id)) {
        el.root.remove();
        this.els.delete(id);
      }
    }
  }

  clear() {
    for (const el of this.els.values()) el.root.remove();
    this.els.clear();
  }

  create() {
    const root = document.createElement('div');
    root.className = 'rcursor';
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 18 18');
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', 'M1.5 1.5l5.2 14 2.1-5.7 5.7-2.1z');
    svg.appendChild(path);
    const label = document.createElement('span');
    label.className = 'rc-name';
    root.append(svg, label);
    return { root, path, label, name: null };
  }
}
