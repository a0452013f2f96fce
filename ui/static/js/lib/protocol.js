// @ts-check
// The wire codec: WebSocket protocol v1 plus our extensions (seq, write ids,
// error codes, resume, cursors, canvas_reset, pixel.v2 batches). Every frame
// from the network is validated here and turned into plain, well-typed
// objects, so the rest of the client never touches raw JSON and a malformed
// or hostile frame is dropped instead of breaking the page.

import { isHexColor } from './color.js';

/** The subprotocol that lets the server batch events into one frame. */
export const SUBPROTOCOL_V2 = 'pixel.v2';

/** Longest write id the server accepts, in bytes (UTF-8). */
export const MAX_WRITE_ID_BYTES = 64;

/** Longest username the server keeps, in code points. */
export const MAX_USERNAME = 20;

const isInt = (v) => typeof v === 'number' && Number.isSafeInteger(v);
const isSeq = (v) => isInt(v) && v >= 0;
const isFiniteNum = (v) => typeof v === 'number' && Number.isFinite(v);
const str = (v, dflt = '') => (typeof v === 'string' ? v : dflt);
const optStr = (v) => (typeof v === 'string' ? v : null);

// Decoded server messages, told apart by `type` (see docs/protocol.md).
/**
 * pixelRate (per second) and pixelBurst: this connection's pixel limit, null from a server that does not say.
 * @typedef {{type: 'connected', clientId: string, seq: number|null, epoch: string|null, width: number|null, height: number|null,
 *   pixelRate: number|null, pixelBurst: number|null}} ConnectedMessage
 */
/** @typedef {{type: 'pixel_updated', x: number, y: number, color: string, username: string, timestamp: number|null, seq: number|null, id: string|null}} PixelEvent */
/** @typedef {{type: 'canvas_reset', seq: number|null, timestamp: number|null}} ResetEvent */
/** @typedef {{type: 'resumed', seq: number, recovered: boolean, epoch: string|null}} ResumedMessage */
/** retryAfter: ms until the limit that refused a write holds one more (rate_limited), else null. */
/** @typedef {{type: 'error', message: string, code: string|null, id: string|null, retryAfter: number|null}} ErrorMessage */
/** @typedef {{type: 'stats', activeUsers: number, timestamp: number|null}} StatsMessage */
/** @typedef {{type: 'user_list', users: string[], timestamp: number|null}} UserListMessage */
/** @typedef {{name: string, count: number}} NameCount */
/**
 * pixel.v2 presence: the names that joined and left since the previous one (with how many connections each), the
 * totals after it; `reset`: forget every name first (the whole list follows in `joined`).
 * @typedef {{type: 'presence', reset: boolean, activeUsers: number, named: number, joined: NameCount[], left: NameCount[]}} PresenceMessage
 */
/** @typedef {{clientId: string, username: string, x: number, y: number}} CursorPosition */
/** @typedef {{type: 'cursors', cursors: CursorPosition[], gone: string[]}} CursorsMessage */
/** @typedef {{type: 'pong', timestamp: number|null}} PongMessage */
/**
 * @typedef {ConnectedMessage | PixelEvent | ResetEvent | ResumedMessage | ErrorMessage | StatsMessage
 *   | UserListMessage | PresenceMessage | CursorsMessage | PongMessage} ServerMessage
 */

/**
 * Decodes one text frame into a list of messages: a v2 batch becomes its
 * events, in order; a v1 frame becomes a list of one. Invalid messages and
 * unknown types are left out (counted in `dropped`), as the protocol asks
 * of old clients.
 * @param {string} text
 * @returns {{messages: ServerMessage[], dropped: number}}
 */
export function decodeFrame(text) {
  let raw;
  try {
    raw = JSON.parse(text);
  } catch {
    return { messages: [], dropped: 1 };
  }
  /** @type {{messages: ServerMessage[], dropped: number}} */
  const out = { messages: [], dropped: 0 };
  if (raw && typeof raw === 'object' && raw.type === 'batch') {
    if (!Array.isArray(raw.events)) {
      out.dropped++;
      return out;
    }
    for (const ev of raw.events) {
      // A batch inside a batch is not part of the protocol.
      const m = ev && ev.type !== 'batch' ? decodeMessage(ev) : null;
      if (m) out.messages.push(m);
      else out.dropped++;
    }
    return out;
  }
  const m = decodeMessage(raw);
  if (m) out.messages.push(m);
  else out.dropped++;
  return out;
}

/**
 * Validates and normalises one message object, or returns null.
 * Colours come out upper-case; optional extension fields come out null when
 * absent, so a v1 server (no seq, no id) is handled by the same code.
 * @param {any} m a parsed JSON value
 * @returns {ServerMessage|null}
 */
export function decodeMessage(m) {
  if (!m || typeof m !== 'object' || Array.isArray(m) || typeof m.type !== 'string') return null;
  switch (m.type) {
    case 'connected':
      return {
        type: 'connected',
        clientId: str(m.clientId),
        seq: isSeq(m.seq) ? m.seq : null,
        epoch: epochOf(m.epoch),
        width: isInt(m.width) && m.width > 0 ? m.width : null,
        height: isInt(m.height) && m.height > 0 ? m.height : null,
        pixelRate: isFiniteNum(m.pixelRate) && m.pixelRate > 0 ? m.pixelRate : null,
        pixelBurst: isInt(m.pixelBurst) && m.pixelBurst > 0 ? m.pixelBurst : null,
      };
    case 'pixel_updated': {
      if (!isInt(m.x) || !isInt(m.y) || m.x < 0 || m.y < 0 || !isHexColor(m.color)) return null;
      if (m.seq !== undefined && m.seq !== null && !isSeq(m.seq)) return null;
      return {
        type: 'pixel_updated',
        x: m.x,
        y: m.y,
        color: m.color.toUpperCase(),
        username: str(m.username, 'Anonymous') || 'Anonymous',
        timestamp: isFiniteNum(m.timestamp) ? m.timestamp : null,
        seq: isSeq(m.seq) ? m.seq : null,
        id: optStr(m.id),
      };
    }
    case 'canvas_reset':
      return { type: 'canvas_reset', seq: isSeq(m.seq) ? m.seq : null, timestamp: isFiniteNum(m.timestamp) ? m.timestamp : null };
    case 'resumed':
      if (!isSeq(m.seq) || typeof m.recovered !== 'boolean') return null;
      return { type: 'resumed', seq: m.seq, recovered: m.recovered, epoch: epochOf(m.epoch) };
    case 'error':
      return {
        type: 'error', message: str(m.message, 'Error'), code: optStr(m.code), id: optStr(m.id),
        // An hour at most: a wild value must not stall the page's writes for ever.
        retryAfter: isFiniteNum(m.retryAfter) && m.retryAfter >= 0 ? Math.min(m.retryAfter, 3600000) : null,
      };
    case 'stats':
      if (!isInt(m.activeUsers) || m.activeUsers < 0) return null;
      return { type: 'stats', activeUsers: m.activeUsers, timestamp: isFiniteNum(m.timestamp) ? m.timestamp : null };
    case 'user_list':
      if (!Array.isArray(m.users)) return null;
      return { type: 'user_list', users: m.users.filter((u) => typeof u === 'string'), timestamp: isFiniteNum(m.timestamp) ? m.timestamp : null };
    case 'presence': {
      if (!isInt(m.activeUsers) || m.activeUsers < 0 || !isInt(m.named) || m.named < 0) return null;
      const joined = nameCounts(m.joined);
      const left = nameCounts(m.left);
      // One bad entry and the list would drift: the whole message is refused.
      if (!joined || !left) return null;
      return { type: 'presence', reset: m.reset === true, activeUsers: m.activeUsers, named: m.named, joined, left };
    }
    case 'cursors': {
      /** @type {CursorPosition[]} */
      const cursors = [];
      for (const c of Array.isArray(m.cursors) ? m.cursors : []) {
        if (!c || typeof c.clientId !== 'string' || !c.clientId || !isFiniteNum(c.x) || !isFiniteNum(c.y)) continue;
        cursors.push({ clientId: c.clientId, username: str(c.username, 'Anonymous') || 'Anonymous', x: c.x, y: c.y });
      }
      const gone = (Array.isArray(m.gone) ? m.gone : []).filter((g) => typeof g === 'string');
      return { type: 'cursors', cursors, gone };
    }
    case 'pong':
      return { type: 'pong', timestamp: isFiniteNum(m.timestamp) ? m.timestamp : null };
    default:
      return null;
  }
}

/**
 * `[[name, count], ...]` with positive integer counts, or null if anything is off.
 * @param {unknown} v
 * @returns {NameCount[]|null}
 */
function nameCounts(v) {
  if (!Array.isArray(v)) return null;
  /** @type {NameCount[]} */
  const out = [];
  for (const e of v) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !isInt(e[1]) || e[1] < 1) return null;
    out.push({ name: e[0], count: e[1] });
  }
  return out;
}

/** UTF-8 length of a string, without TextEncoder so it is the same everywhere. */
export function utf8Length(s) {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * The name as the server will store it: control and format characters
 * removed, trimmed, cut to 20 code points. Doing the same on the client
 * means what the user sees in the box is what others see.
 */
export function sanitizeUsername(s) {
  if (typeof s !== 'string') return '';
  // \p{Cc} control, \p{Cf} format (bidi overrides, zero-width joiners...).
  const cleaned = s.replace(/[\p{Cc}\p{Cf}\uFFFD]/gu, '').trim();
  const cps = Array.from(cleaned);
  return cps.length > MAX_USERNAME ? cps.slice(0, MAX_USERNAME).join('').trim() : cleaned;
}

/**
 * Keep a text field within max code points (the server's 20 characters; the
 * `maxlength` attribute would count UTF-16 units and allow only 10 emoji).
 * Like `maxlength`, what does not fit of what was just typed or pasted (the
 * text before the caret) is dropped, not the end of the name.
 * @param {string} value
 * @param {number} caret the caret's offset in UTF-16 units (selectionEnd)
 * @returns {{value: string, caret: number}} unchanged when it fits
 */
export function limitCodePoints(value, caret, max = MAX_USERNAME) {
  const cps = Array.from(value);
  if (cps.length <= max) return { value, caret };
  caret = Math.max(0, Math.min(value.length, caret));
  // Code points before the caret (a caret inside a surrogate pair counts it).
  const before = Array.from(value.slice(0, caret));
  const after = Array.from(value.slice(caret));
  let excess = cps.length - max;
  const cut = Math.min(excess, before.length);
  before.length -= cut;
  excess -= cut;
  if (excess) after.length -= excess;
  const head = before.join('');
  return { value: head + after.join(''), caret: head.length };
}

export function encodeSetUsername(username) {
  return JSON.stringify({ type: 'set_username', username: sanitizeUsername(username) });
}

/** A pixel write; the id comes back on the echo or on the error about it. */
export function encodePixelUpdate({ x, y, color, id }) {
  if (!isInt(x) || !isInt(y) || x < 0 || y < 0) throw new RangeError(`bad pixel coordinates ${x},${y}`);
  if (!isHexColor(color)) throw new TypeError(`bad colour ${color}`);
  const msg = { type: 'pixel_update', x, y, color: color.toUpperCase() };
  if (id !== undefined && id !== null) {
    if (typeof id !== 'string' || utf8Length(id) > MAX_WRITE_ID_BYTES) throw new RangeError('write id too long');
    msg.id = id;
  }
  return JSON.stringify(msg);
}

/** Pointer position in canvas coordinates; two decimals are plenty for a cursor. */
export function encodeCursor(x, y) {
  if (!isFiniteNum(x) || !isFiniteNum(y)) throw new RangeError('cursor position must be finite');
  return JSON.stringify({ type: 'cursor', x: Math.round(x * 100) / 100, y: Math.round(y * 100) / 100 });
}

/** The pointer left the canvas. */
export function encodeCursorLeave() {
  return '{"type":"cursor"}';
}

export function encodeResume(since) {
  if (!isSeq(since)) throw new RangeError('since must be a non-negative integer');
  return JSON.stringify({ type: 'resume', since });
}

export function encodePing() {
  return '{"type":"ping"}';
}

/** Human words for an error code, for a toast. */
export function describeError(code, message) {
  switch (code) {
    case 'rate_limited': return 'Slow down: too many pixels at once';
    case 'bad_pixel': return 'That pixel was refused as invalid';
    case 'bad_id': return 'Write refused (bad id)';
    case 'too_large': return 'Message too large';
    case 'unavailable': return 'Server busy: pixel not saved, try again';
    case 'bad_json': return 'The server did not understand a message';
    default: return message || 'Something went wrong';
  }
}

/**
 * The timeline a seq is on (the server's `epoch`): a short opaque string,
 * or null from a server without epochs (or a value that is not one).
 * @param {any} v
 * @returns {string|null}
 */
export function epochOf(v) {
  return typeof v === 'string' && v.length > 0 && v.length <= 32 ? v : null;
}
