// @ts-check
// The side panels, the status bar and toasts. Every piece of text that came
// from the network or from another user goes in with textContent, never as
// HTML.

import { unnamedText } from '../lib/presencetext.js';
import { PALETTE, colorForName } from '../lib/color.js';
import { timeAgo } from '../lib/format.js';

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function swatchButton(hex, label, onPick) {
  const b = el('button', 'swatch');
  b.type = 'button';
  b.style.backgroundColor = hex;
  b.dataset.color = hex;
  b.title = `${label} ${hex}`;
  b.setAttribute('aria-label', `${label} ${hex}`);
  b.setAttribute('aria-pressed', 'false');
  b.addEventListener('click', () => onPick(hex));
  return b;
}

/**
 * Arrow keys move between the swatches of a group, so the group is one tab
 * stop instead of sixteen (roving tabindex).
 */
function rovingGroup(groupEl) {
  groupEl.addEventListener('keydown', (e) => {
    const items = [...groupEl.children];
    const i = items.indexOf(e.target);
    if (i < 0) return;
    const cols = Math.max(1, Math.round(groupEl.clientWidth / Math.max(1, items[0].offsetWidth + 4))) || 4;
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols, Home: -i, End: items.length - 1 - i }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const next = items[Math.min(items.length - 1, Math.max(0, i + step))];
    for (const b of items) b.tabIndex = b === next ? 0 : -1;
    next.focus();
  });
}

function updateTabStops(groupEl) {
  const items = [...groupEl.children];
  const pressed = items.find((b) => b.getAttribute('aria-pressed') === 'true') || items[0];
  for (const b of items) b.tabIndex = b === pressed ? 0 : -1;
}

/** Palette and recent colours; returns setters for the current colour and the recent list. */
export function buildPalette(paletteEl, recentEl, onPick) {
  for (const p of PALETTE) paletteEl.appendChild(swatchButton(p.hex, p.name, onPick));
  rovingGroup(paletteEl);
  rovingGroup(recentEl);
  let recent = [];
  let current = null;
  const mark = () => {
    for (const b of paletteEl.children) b.setAttribute('aria-pressed', String(b.dataset.color === current));
    for (const b of recentEl.children) b.setAttribute('aria-pressed', String(b.dataset.color === current));
    if (!paletteEl.contains(document.activeElement)) updateTabStops(paletteEl);
    if (!recentEl.contains(document.activeElement)) updateTabStops(recentEl);
  };
  return {
    setCurrent(hex) {
      current = hex;
      mark();
    },
    setRecent(list) {
      recent = list;
      recentEl.replaceChildren(...recent.map((hex) => swatchButton(hex, 'Recent colour', onPick)));
      mark();
    },
  };
}

/**
 * The artists list. Names can repeat (two tabs, two people called Sam);
 * each live connection with a name is one entry.
 */
export function renderArtists(listEl, extraEl, countEl, badgeEl, { users, activeUsers, me, drawing, stale }) {
  if (stale) {
    // Who was here before the connection dropped is not who is here now.
    listEl.replaceChildren();
    extraEl.textContent = 'Waiting for the connection…';
    countEl.textContent = '–';
    badgeEl.textContent = '–';
    return;
  }
  const items = [];
  let meMarked = false;
  const sorted = [...users].sort((a, b) => a.localeCompare(b));
  for (const name of sorted) {
    const li = el('li', 'artist');
    const avatar = el('span', 'avatar', Array.from(name)[0]?.toUpperCase() || '?');
    avatar.style.backgroundColor = colorForName(name);
    avatar.setAttribute('aria-hidden', 'true');
    const nm = el('span', 'artist-name', name);
    li.append(avatar, nm);
    if (!meMarked && me && name === me) {
      meMarked = true;
      nm.append(el('span', 'you', ' (you)'));
    }
    if (drawing.has(name)) li.append(el('span', 'drawing', 'drawing'));
    items.push(li);
  }
  listEl.replaceChildren(...items);
  extraEl.textContent = unnamedText({ users, activeUsers, me });
  countEl.textContent = String(activeUsers);
  badgeEl.textContent = String(activeUsers);
}

/**
 * Live activity: one entry per person while they keep drawing ("Bob painted
 * 14 pixels"), moved to the top on each new pixel, so a busy canvas stays
 * readable.
 *
 * Each entry keeps its list item and button for as long as it is listed, and
 * a render only changes the text that changed: a button is never replaced
 * under the pointer (a click on it would be lost) or under the keyboard focus
 * (focus would fall back to <body>). While the pointer is pressed in the list
 * nothing changes at all; while the focus is in it, texts are updated but
 * nothing is added, removed or moved (the focused entry keeps its words, so a
 * screen reader is not read a new name every second). What was held back is
 * done once the pointer is released or the focus leaves.
 */
export class ActivityFeed {
  constructor(listEl, emptyEl, onJump, { max = 10, mergeMs = 8000 } = {}) {
    this.listEl = listEl;
    this.emptyEl = emptyEl;
    this.onJump = onJump;
    this.max = max;
    this.mergeMs = mergeMs;
    this.entries = [];
    this.dirty = false;
    /** entry -> its DOM nodes */
    this.nodes = new Map();
    this.pressed = false;
    this.held = false;
    const doc = listEl.ownerDocument;
    const release = () => {
      if (!this.pressed) return;
      this.pressed = false;
      // After the click that this release makes (same task), not before it.
      setTimeout(() => this.flush(), 0);
    };
    listEl.addEventListener('pointerdown', () => {
      this.pressed = true;
    });
    // The press may end anywhere, or not be reported at all.
    doc.addEventListener('pointerup', release, true);
    doc.addEventListener('pointercancel', release, true);
    doc.defaultView?.addEventListener('blur', release);
    listEl.addEventListener('focusout', (e) => {
      if (!e.relatedTarget || !listEl.contains(e.relatedTarget)) setTimeout(() => this.flush(), 0);
    });
  }

  /** @param {boolean} [self] our own pixels (listed as "You", never merged with someone of that name) */
  add(name, x, y, hex, nowMs, self = false) {
    const k = this.entries.findIndex((e) => e.name === name && e.self === self && nowMs - e.at < this.mergeMs);
    if (k >= 0) {
      const e = this.entries[k];
      e.count++;
      e.x = x;
      e.y = y;
      e.hex = hex;
      e.at = nowMs;
      if (k > 0) {
        this.entries.splice(k, 1);
        this.entries.unshift(e);
      }
    } else {
      this.entries.unshift({ name, x, y, hex, count: 1, at: nowMs, self });
      if (this.entries.length > this.max) this.entries.pop();
    }
    this.dirty = true;
  }

  clear() {
    this.entries = [];
    this.dirty = true;
  }

  /** The user is working in the list: do not move things under them. */
  get busy() {
    const active = this.listEl.ownerDocument.activeElement;
    return this.pressed || (!!active && this.listEl.contains(active));
  }

  /** Finish a render that was held back. */
  flush() {
    if (this.held && !this.busy) this.render(Date.now(), true);
  }

  /**
   * Bring the list up to date (called a few times a second at most); force
   * refreshes the times ("5 s ago") even when nothing new happened.
   */
  render(nowMs, force = false) {
    if (!this.dirty && !force && !this.held) return;
    if (this.pressed) {
      this.held = true;
      return;
    }
    const active = this.listEl.ownerDocument.activeElement;
    const focusInside = !!active && this.listEl.contains(active);
    this.dirty = false;
    this.held = focusInside;
    const listed = new Set(this.entries);
    for (const e of this.entries) {
      let n = this.nodes.get(e);
      if (!n) {
        if (focusInside) continue; // added once the focus leaves
        n = this.makeNode();
        this.nodes.set(e, n);
      }
      if (n.button !== active) this.fill(n, e, nowMs);
    }
    if (focusInside) return;
    for (const [e, n] of this.nodes) {
      if (!listed.has(e)) {
        n.li.remove();
        this.nodes.delete(e);
      }
    }
    // Move only what is out of place.
    let at = this.listEl.firstChild;
    for (const e of this.entries) {
      const li = this.nodes.get(e).li;
      if (li === at) at = at.nextSibling;
      else this.listEl.insertBefore(li, at);
    }
    this.emptyEl.hidden = this.entries.length > 0;
  }

  makeNode() {
    const li = el('li');
    const button = el('button');
    button.type = 'button';
    const chip = el('span', 'act-chip');
    const body = el('span', 'act-body');
    const top = el('span', 'act-top');
    const name = el('span', 'act-name');
    const time = el('span', 'act-time');
    const what = el('span', 'act-what');
    top.append(name, time);
    body.append(top, what);
    button.append(chip, body);
    li.append(button);
    // No aria-label: the button's name is the text it shows, so a voice
    // user can say what they see (WCAG 2.5.3, checked with axe-core).
    const n = { li, button, chip, name, time, what, x: 0, y: 0, shown: {} };
    // Where the entry said it was when it was clicked, not where it has moved on to since.
    button.addEventListener('click', () => this.onJump(n.x, n.y));
    return n;
  }

  /** Set what changed, and only that. */
  fill(n, e, nowMs) {
    const ago = timeAgo(e.at, nowMs);
    const what = e.count > 1 ? `${e.count} pixels, last at (${e.x}, ${e.y})` : `a pixel at (${e.x}, ${e.y})`;
    const want = {
      hex: e.hex, name: e.name, ago, what,
      title: `Go to (${e.x}, ${e.y})`,
    };
    const was = n.shown;
    if (was.hex !== want.hex) n.chip.style.backgroundColor = want.hex;
    if (was.name !== want.name) n.name.textContent = want.name;
    if (was.ago !== want.ago) n.time.textContent = want.ago;
    if (was.what !== want.what) n.what.textContent = want.what;
    if (was.title !== want.title) n.button.title = want.title;
    n.shown = want;
    n.x = e.x;
    n.y = e.y;
  }
}

/**
 * Short messages at the bottom of the screen, announced politely to screen
 * readers. A message that repeats while shown gets a counter instead of a
 * second toast (twenty "rate limited" toasts help nobody).
 */
export class Toaster {
  constructor(container, { ttlMs = 3500, max = 4 } = {}) {
    this.container = container;
    this.ttlMs = ttlMs;
    this.max = max;
    this.live = new Map();
  }

  show(text, kind = 'info') {
    const key = `${kind}:${text}`;
    const cur = this.live.get(key);
    if (cur) {
      cur.count++;
      cur.times.textContent = `×${cur.count}`;
      clearTimeout(cur.timer);
      cur.timer = setTimeout(() => this.dismiss(key), this.ttlMs);
      return;
    }
    // No role here: the container is the (polite) live region, and a
    // second live region inside it would be announced twice.
    const node = el('div', `toast ${kind}`);
    const msg = el('span', '', text);
    const times = el('span', 'times');
    node.append(msg, times);
    this.container.appendChild(node);
    const entry = { node, times, count: 1, timer: setTimeout(() => this.dismiss(key), this.ttlMs) };
    this.live.set(key, entry);
    if (this.live.size > this.max) this.dismiss(this.live.keys().next().value);
  }

  dismiss(key) {
    const e = this.live.get(key);
    if (!e) return;
    clearTimeout(e.timer);
    e.node.remove();
    this.live.delete(key);
  }
}

/** The small card next to the pointer: colour, coordinates, who and when. */
export function renderHoverCard(card, parts, pos, stageW, stageH) {
  if (!pos) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  parts.chip.style.backgroundColor = parts.hex;
  parts.coords.textContent = parts.coordsText;
  parts.who.textContent = parts.whoText;
  const w = card.offsetWidth || 180;
  const h = card.offsetHeight || 40;
  let x = pos.x + 18;
  let y = pos.y + 18;
  if (x + w > stageW - 8) x = pos.x - w - 12;
  if (y + h > stageH - 8) y = pos.y - h - 12;
  card.style.transform = `translate(${Math.max(4, Math.round(x))}px, ${Math.max(4, Math.round(y))}px)`;
}
