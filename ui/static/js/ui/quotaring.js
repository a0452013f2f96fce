// @ts-check
// The pixel budget on the current-colour control, where the eye is while
// painting: a ring that empties as pixels go out and fills as the budget
// refills, and "Wait N s" over the colour while drawn pixels wait for it.
// The numbers are the write pacer's own (lib/quota.js reads its bucket).

import { quotaView } from '../lib/quota.js';

const SVG = 'http://www.w3.org/2000/svg';
const R = 21; // ring radius in a 48-unit box
const CIRCUMFERENCE = 2 * Math.PI * R;

export class QuotaRing {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {HTMLElement} o.host the current-colour control
   * @param {() => import('../lib/quota.js').Budget|null} o.budget null before the first snapshot
   * @param {() => number} [o.now]
   */
  constructor(doc, o) {
    this.budget = o.budget;
    this.now = o.now || (() => Date.now());
    const wrap = doc.createElement('span');
    wrap.className = 'quota';
    wrap.id = 'quota';
    wrap.dataset.state = 'full';
    const svg = doc.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'quota-ring');
    svg.setAttribute('viewBox', '0 0 48 48');
    svg.setAttribute('aria-hidden', 'true');
    const track = doc.createElementNS(SVG, 'circle');
    const fill = doc.createElementNS(SVG, 'circle');
    track.setAttribute('class', 'quota-track');
    fill.setAttribute('class', 'quota-fill');
    for (const c of [track, fill]) {
      c.setAttribute('cx', '24');
      c.setAttribute('cy', '24');
      c.setAttribute('r', String(R));
      c.setAttribute('pathLength', String(CIRCUMFERENCE));
    }
    fill.setAttribute('stroke-dasharray', `${CIRCUMFERENCE} ${CIRCUMFERENCE}`);
    svg.append(track, fill);
    const text = doc.createElement('span');
    text.className = 'quota-text';
    text.id = 'quota-text';
    const sr = doc.createElement('span');
    sr.className = 'sr-only';
    sr.id = 'quota-label';
    wrap.append(svg, text, sr);
    o.host.append(wrap);
    this.wrap = wrap;
    this.fill = fill;
    this.text = text;
    this.sr = sr;
    this.shown = '';
    this.timer = setInterval(() => this.update(), 200);
  }

  update() {
    const b = this.budget();
    if (!b) return;
    const q = quotaView(b, this.now());
    const key = `${q.state}|${q.fill.toFixed(2)}|${q.text}`;
    if (key === this.shown) return;
    this.shown = key;
    this.wrap.dataset.state = q.state;
    this.wrap.title = q.label;
    this.fill.setAttribute('stroke-dashoffset', String(CIRCUMFERENCE * (1 - q.fill)));
    this.text.textContent = q.state === 'wait' ? q.text : '';
    this.sr.textContent = q.label;
  }
}
