// @ts-check
// What the browser remembers between visits: the name, the colour, recent
// colours and the grid switch. Storage is injected (localStorage in the page,
// a Map-backed fake in tests) and every read is validated, because
// localStorage is shared with anything else on the origin and may hold junk.

import { normalizeHex } from './color.js';
import { sanitizeUsername } from './protocol.js';

export const KEYS = Object.freeze({
  username: 'pixelPlayground.username',
  color: 'pixelPlayground.color',
  recent: 'pixelPlayground.recentColors',
  grid: 'pixelPlayground.grid',
});

export const MAX_RECENT = 10;

function read(storage, key) {
  try {
    return storage ? storage.getItem(key) : null;
  } catch {
    return null; // storage disabled (privacy mode, sandboxed iframe)
  }
}

function write(storage, key, value) {
  try {
    if (storage) storage.setItem(key, value);
    return true;
  } catch {
    return false; // quota exceeded or storage disabled: preferences are a nicety
  }
}

/** @returns {{username: string, color: string, recent: string[], grid: boolean}} */
export function loadPrefs(storage, defaults = { color: '#222222' }) {
  const username = sanitizeUsername(read(storage, KEYS.username) || '');
  const color = normalizeHex(read(storage, KEYS.color) || '') || defaults.color;
  let recent = [];
  try {
    const parsed = JSON.parse(read(storage, KEYS.recent) || '[]');
    if (Array.isArray(parsed)) recent = parsed.map(normalizeHex).filter(Boolean);
  } catch {
    recent = [];
  }
  recent = [...new Set(recent)].slice(0, MAX_RECENT);
  const grid = read(storage, KEYS.grid) !== 'off';
  return { username, color, recent, grid };
}

export function saveUsername(storage, name) {
  return write(storage, KEYS.username, sanitizeUsername(name));
}

export function saveColor(storage, hex) {
  const c = normalizeHex(hex);
  return c ? write(storage, KEYS.color, c) : false;
}

export function saveRecent(storage, list) {
  return write(storage, KEYS.recent, JSON.stringify(list.slice(0, MAX_RECENT)));
}

export function saveGrid(storage, on) {
  return write(storage, KEYS.grid, on ? 'on' : 'off');
}

/** The list with hex moved (or added) to the front, without duplicates, capped. */
export function pushRecent(list, hex, max = MAX_RECENT) {
  const c = normalizeHex(hex);
  if (!c) return list.slice(0, max);
  return [c, ...list.filter((x) => x !== c)].slice(0, max);
}
