// The side panels, the status bar and toasts. Every piece of text that came
// from the network or from another user goes in with textContent, never as
// HTML.

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
  const unnamed = Math.max(0, activeUsers - users.length);
  extraEl.textContent = unnamed ? `+ ${unnamed} without a name` : '';
  countEl.textContent = String(activeUsers);
  badgeEl.textContent = String(activeUsers);
}

/**
 * Live activity: one entry per person while they keep drawing ("Bob painted
 * 14 pixels"), moved to the top on each new pixel, so a busy canvas stays
 * readable.
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
  }

  add(name, x, y, hex, nowMs) {
    const k = this.entries.findIndex((e) => e.name === name && nowMs - e.at < this.mergeMs);
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
      this.entries.unshift({ name, x, y, hex, count: 1, at: nowMs });
      if (this.entries.length > this.max) this.entries.pop();
    }
    this.dirty = true;
  }

  clear() {
    this.entries = [];
    this.dirty = true;
  }

  /** Rebuild the list (called about once a second at most). */
  render(nowMs, force = false) {
    if (!this.dirty && !force) return;
    this.dirty = false;
    const items = this.entries.map((e) => {
      const li = el('li');
      const b = el('button');
      b.type = 'button';
      const chip = el('span', 'act-chip');
      chip.style.backgroundColor = e.hex;
      const body = el('span', 'act-body');
      const top = el('span', 'act-top');
      top.append(el('span', 'act-name', e.name), el('span', 'act-time', timeAgo(e.at, nowMs)));
      const what = e.count > 1 ? `${e.count} pixels, last at (${e.x}, ${e.y})` : `a pixel at (${e.x}, ${e.y})`;
      body.append(top, el('span', 'act-what', what));
      b.title = `Go to (${e.x}, ${e.y})`;
      b.setAttribute('aria-label', `${e.name} painted ${what}, ${timeAgo(e.at, nowMs)}. Go there.`);
      b.append(chip, body);
      b.addEventListener('click', () => this.onJump(e.x, e.y));
      li.append(b);
      return li;
    });
    this.listEl.replaceChildren(...items);
    this.emptyEl.hidden = items.length > 0;
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
