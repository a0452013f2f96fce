// @ts-check
// The connection pill, the "may be out of date" banner, the loading
// overlay's error, the status bar's counters and the screen-reader
// announcements about the connection. What to say comes from
// lib/status.js; this module only puts it on the page.

import { StatusAnnouncer } from '../lib/announcer.js';
import { connectionStatus, pendingText } from '../lib/status.js';

/** How often a countdown ("Reconnecting in 3 s") is refreshed. */
const COUNTDOWN_MS = 100;

export class StatusBar {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {() => import('../lib/status.js').StatusInput} o.input what the status is made of, read on every refresh
   * @param {(text: string) => void} o.announce says something through #announcer
   * @param {() => void} o.onLiveChange the side panel went stale or fresh (the artists list is redrawn)
   */
  constructor(doc, o) {
    /** @param {string} id */
    const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.pill = $('conn');
    this.pillText = $('conn-text');
    this.loadingText = $('loading-text');
    this.banner = $('stale-banner');
    this.bannerText = $('stale-text');
    this.panel = $('side-panel');
    this.seqEl = $('sb-seq');
    this.pendingEl = $('sb-pending');
    this.sizeEl = $('sb-size');
    this.input = o.input;
    this.announce = o.announce;
    this.onLiveChange = o.onLiveChange;
    this.announcer = new StatusAnnouncer();
    this.countdownTimer = null;
  }

  /** The pill's data-state (the test hook's `connection`). */
  get state() { return this.pill.dataset.state; }

  /** Only the counters (seq, pending writes): cheap enough for every stroke move. */
  counters() {
    const input = this.input();
    this.setSeq(input.seq);
    this.setPending(input.pending, input.queued, input.phase === 'live');
    return input;
  }

  /** Redraw everything from the current input. */
  update() {
    const s = connectionStatus(this.counters());
    const pill = this.pill;
    pill.dataset.state = s.state;
    this.pillText.textContent = s.label;
    pill.title = s.title;
    pill.tabIndex = s.tabIndex;
    pill.setAttribute('aria-label', s.ariaLabel);
    if (s.loadingText) this.loadingText.textContent = s.loadingText;
    // Once when the connection is lost, once when it is live again: not on
    // every retry of the countdown.
    const said = this.announcer.update(s.announce);
    if (said) this.announce(said);
    this.banner.hidden = s.staleText === null;
    if (s.staleText !== null) this.bannerText.textContent = s.staleText;
    const stale = s.state !== 'live';
    if (this.panel.classList.contains('stale') !== stale) {
      this.panel.classList.toggle('stale', stale);
      this.onLiveChange();
    }
    // The countdown needs a faster clock than the app's once-a-second tick.
    if (s.counting && !this.countdownTimer) {
      this.countdownTimer = setInterval(() => this.update(), COUNTDOWN_MS);
    } else if (!s.counting && this.countdownTimer) {
      clearInterval(this.countdownTimer);
      this.countdownTimer = null;
    }
  }

  /** @param {number|null} seq the board's last seq, null before a snapshot */
  setSeq(seq) {
    // A seq is ours, not the user's business: never on screen, kept for a
    // developer's inspector and in the tooltip.
    this.seqEl.textContent = '';
    if (seq !== null) this.seqEl.dataset.seq = String(seq);
    this.seqEl.title = seq !== null ? `Latest change seen: number ${seq}` : '';
  }

  /** @param {number} pending @param {number} queued @param {boolean} live */
  setPending(pending, queued, live) {
    const text = pendingText(pending, queued, live);
    this.pendingEl.textContent = text;
    this.pendingEl.classList.toggle('busy', text !== '');
  }

  /** @param {number} width @param {number} height */
  setSize(width, height) {
    this.sizeEl.textContent = `${width} × ${height}`;
  }
}
