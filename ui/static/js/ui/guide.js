// @ts-check
// The first-visit guide: a small card on the stage that says how to paint,
// move and zoom with the pointer in hand (lib/guide.js has the words). It
// never blocks the canvas (only its button takes clicks); "Got it" or the
// first pixel painted puts it away for good in this browser.

import { guideLines, guideSeen, markGuideSeen } from '../lib/guide.js';

export class Guide {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {HTMLElement} o.stage
   * @param {Storage|null} o.storage
   * @param {boolean} o.touch
   * @param {() => void} o.openHelp
   */
  constructor(doc, o) {
    this.storage = o.storage;
    /** @type {HTMLElement|null} */
    this.card = null;
    if (guideSeen(o.storage)) return;
    const card = doc.createElement('section');
    card.className = 'guide';
    card.id = 'guide';
    card.setAttribute('aria-labelledby', 'guide-title');
    const title = doc.createElement('h2');
    title.id = 'guide-title';
    title.textContent = 'Welcome! How to draw';
    const list = doc.createElement('ul');
    for (const line of guideLines(o.touch)) {
      const li = doc.createElement('li');
      li.textContent = line;
      list.append(li);
    }
    const actions = doc.createElement('div');
    actions.className = 'guide-actions';
    const more = doc.createElement('button');
    more.type = 'button';
    more.className = 'guide-more';
    more.textContent = 'More help';
    more.addEventListener('click', () => o.openHelp());
    const ok = doc.createElement('button');
    ok.type = 'button';
    ok.className = 'guide-ok';
    ok.id = 'guide-ok';
    ok.textContent = 'Got it';
    ok.addEventListener('click', () => this.dismiss());
    actions.append(more, ok);
    card.append(title, list, actions);
    o.stage.append(card);
    this.card = card;
  }

  get shown() { return !!this.card; }

  /** Put it away, for good. */
  dismiss() {
    if (!this.card) return;
    this.card.remove();
    this.card = null;
    markGuideSeen(this.storage);
  }
}
