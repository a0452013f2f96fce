// The application: wires the pure modules (board, protocol, connection,
// viewport) to the page. It owns the sync life cycle:
//
//   load snapshot (GET /api/canvas/raw, seq S)
//   -> connect with ?since=S -> replay -> `resumed`
//        recovered: settle in-doubt writes from the replay, go live
//        not recovered: reload the snapshot (live events buffered meanwhile,
//        applied if newer), settle in-doubt writes, go live
//   -> on close: show it, keep what the user draws queued, reconnect with
//      ?since=<last seq> and do the same again.
//
// Pixel writes are only sent while live, paced by a token bucket a little
// under the server's default rate so long strokes are not refused halfway.

import { StatusAnnouncer } from './lib/announcer.js';
import { Board } from './lib/board.js';
import { Backoff, TokenBucket } from './lib/backoff.js';
import { colorLabel, hexToInt, intToHex, normalizeHex, PALETTE } from './lib/color.js';
import { Connection } from './lib/connection.js';
import { RemoteCursors, throttle } from './lib/cursors.js';
import { resolveEndpoints, withSince } from './lib/endpoints.js';
import { fetchAnswered } from './lib/http.js';
import { countdown, exportScale, fileStamp, timeAgo, zoomPercent } from './lib/format.js';
import { Stroke } from './lib/line.js';
import { loadPrefs, pushRecent, saveColor, saveGrid, saveRecent, saveUsername } from './lib/prefs.js';
import {
  decodeFrame, describeError, encodeCursor, encodeCursorLeave, encodePixelUpdate, encodeSetUsername, limitCodePoints,
  sanitizeUsername,
} from './lib/protocol.js';
import {
  clampView, ensureVisible, fitView, pixelAt, screenToCanvas, visibleRange, zoomAt, zoomLimits, zoomTo,
} from './lib/viewport.js';
import { CursorLayer } from './ui/cursorlayer.js';
import { attachInput } from './ui/input.js';
import { ActivityFeed, Toaster, buildPalette, renderArtists, renderHoverCard } from './ui/panels.js';
import { Renderer } from './ui/renderer.js';

/** Our pacing: a little under the server's default 20/s, burst 40. */
const PIXEL_RATE = 18;
const PIXEL_BURST = 36;
/** A write the server has not answered in this long (while connected) is undone. */
const CONFIRM_TIMEOUT_MS = 10000;
/** After `connected` with a since, `resumed` should follow; if not, reload. */
const RESUME_WAIT_MS = 8000;
const HOVER_FETCH_DELAY_MS = 250;
/**
 * A REST read whose server has not begun to answer in this long is given up
 * (and, for the snapshot, retried): without a deadline a stuck server would
 * leave the page loading, or a hover card asking, for ever.
 */
const SNAPSHOT_ANSWER_MS = 15000;
const PIXEL_INFO_ANSWER_MS = 10000;
/** A failed "who painted it" is asked again after this long, not never. */
const PIXEL_INFO_RETRY_MS = 5000;
const CURSOR_INTERVAL_MS = 66; // ~15 per second
/** The keyboard cursor's position is announced once it rests this long. */
const KEY_CURSOR_ANNOUNCE_MS = 350;
const DRAWING_BADGE_MS = 4000;
/** Live events kept while a snapshot reload is in flight. */
const MAX_BUFFERED = 250000;
const PIXEL_INFO_CACHE = 20000;
/** Zoom steps for the buttons and +/-: whole numbers keep pixels even. */
const ZOOM_STEPS = [0.125, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 80];

function randomId(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => (b % 36).toString(36)).join('');
}

function safeStorage(win) {
  try {
    const s = win.localStorage;
    s.getItem('probe');
    return s;
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class App {
  constructor(win) {
    this.win = win;
    this.doc = win.document;
    this.endpoints = resolveEndpoints(win.APP_CONFIG, win.location);
    this.storage = safeStorage(win);
    const prefs = loadPrefs(this.storage);
    this.username = prefs.username;
    this.color = prefs.color;
    this.prevColor = null;
    /** The colour before the system colour picker started changing it. */
    this.pickerFrom = null;
    this.recent = prefs.recent;
    this.grid = prefs.grid;
    this.tool = 'brush';
    this.spaceHeld = false;

    this.board = null;
    this.view = { scale: 1, ox: 0, oy: 0 };
    this.userMovedView = false;
    /** loading | syncing | live | down */
    this.phase = 'loading';
    this.everLive = false;
    this.loadError = null;
    this.loadRetryAt = 0;
    this.clientId = null;
    this.connGen = 0;
    this.sentSince = null;
    this.resumeTimer = null;
    this.reloadPromise = null;
    this.buffer = null;

    this.activeUsers = 0;
    this.users = [];
    this.cursors = new RemoteCursors();
    this.drawers = new Map();
    this.pixelInfo = new Map();
    this.hover = null;
    this.hoverPos = null;
    this.keyCursor = null;
    this.keyAnnounceTimer = null;
    this.hoverFetch = null;
    this.hoverTimer = null;
    // The pixel (board index) whose painter is being asked for, scheduled or
    // in flight: refreshes of the card while it is pending must not ask again.
    this.hoverAsking = null;
    this.stroke = null;
    this.strokeColor = null;
    this.strokeCount = 0;
    this.bucket = new TokenBucket(PIXEL_RATE, PIXEL_BURST, Date.now());
    this.lastRateLimited = 0;
    this.pumpTimer = null;
    this.panelTimer = null;
    this.countdownTimer = null;
    this.artistsDirty = false;
    this.pendingDirty = false;
    this.hoverParts = null;
    this.raf = 0;
    this.cursorShown = false;
    this.lastCursorSent = '';
    this.statusAnnouncer = new StatusAnnouncer();
    this.idPrefix = randomId(6) + '-';
    this.coarsePointer = !!(win.matchMedia && win.matchMedia('(pointer: coarse)').matches);
  }

  $(id) {
    return this.doc.getElementById(id);
  }

  start() {
    this.canvas = this.$('canvas');
    this.stage = this.$('stage');
    this.renderer = new Renderer(this.canvas);
    this.cursorLayer = new CursorLayer(this.$('cursor-layer'));
    this.toaster = new Toaster(this.$('toasts'));
    this.activity = new ActivityFeed(this.$('activity'), this.$('activity-empty'), (x, y) => this.jumpTo(x, y));
    this.setupControls();
    this.input = attachInput(this.canvas, this.inputApi());
    this.setupKeyboard();
    this.setupLifecycle();
    this.installTestHook();

    this.conn = new Connection({
      url: () => {
        this.sentSince = this.board ? this.board.lastSeq : null;
        return withSince(this.endpoints.wsUrl, this.sentSince);
      },
      WebSocketImpl: this.win.WebSocket,
      backoff: new Backoff({ baseMs: 100, maxMs: 2000 }),
      onState: () => this.onConnState(),
      onOpen: () => this.onOpen(),
      onClose: (info) => this.onClose(info),
      onMessage: (text) => this.onFrame(text),
    });

    this.renderer.fitToElement();
    this.updateStatus();
    setInterval(() => this.tick(), 1000);
    this.reload().then(() => this.conn.start());
  }

  // ---------------------------------------------------------------- sync

  /** Fetch the canvas: the packed RGB form, or the JSON form from older servers. */
  async fetchSnapshot() {
    const api = this.endpoints.apiBase;
    const res = await fetchAnswered(`${api}/api/canvas/raw`, { cache: 'no-store' }, SNAPSHOT_ANSWER_MS);
    if (res.ok) {
      const w = parseInt(res.headers.get('X-Canvas-Width') || '', 10);
      const h = parseInt(res.headers.get('X-Canvas-Height') || '', 10);
      const seqHeader = res.headers.get('X-Canvas-Seq');
      const buf = new Uint8Array(await res.arrayBuffer());
      if (w > 0 && h > 0 && buf.length === w * h * 3) {
        const seq = seqHeader !== null && /^\d+$/.test(seqHeader) ? Number(seqHeader) : null;
        return { width: w, height: h, seq, rgb: buf };
      }
      // Headers not exposed (cross-origin without Access-Control-Expose-Headers): use JSON.
    } else if (res.status >= 500) {
      throw new Error(`HTTP ${res.status}`);
    }
    const jr = await fetchAnswered(`${api}/api/canvas`, { cache: 'no-store' }, SNAPSHOT_ANSWER_MS);
    if (!jr.ok) throw new Error(`HTTP ${jr.status}`);
    const j = await jr.json();
    const w = j.width;
    const h = j.height;
    if (!Number.isSafeInteger(w) || !Number.isSafeInteger(h) || w <= 0 || h <= 0 || w * h > 4096 * 4096) {
      throw new Error('the server sent a canvas with a bad size');
    }
    const rgb = new Uint8Array(w * h * 3).fill(255);
    for (const [key, hex] of Object.entries(j.pixels || {})) {
      const m = /^(\d+),(\d+)$/.exec(key);
      const c = normalizeHex(hex);
      if (!m || !c) continue;
      const x = +m[1];
      const y = +m[2];
      if (x >= w || y >= h) continue;
      const v = hexToInt(c);
      const o = (y * w + x) * 3;
      rgb[o] = v >> 16;
      rgb[o + 1] = (v >> 8) & 255;
      rgb[o + 2] = v & 255;
    }
    return { width: w, height: h, seq: Number.isSafeInteger(j.seq) && j.seq >= 0 ? j.seq : null, rgb };
  }

  /**
   * Load (or reload) the snapshot; retries until it works. Live events that
   * arrive meanwhile are buffered and applied afterwards when newer.
   */
  reload() {
    if (this.reloadPromise) return this.reloadPromise;
    this.buffer = [];
    this.reloadPromise = (async () => {
      const backoff = new Backoff({ baseMs: 500, maxMs: 5000 });
      let snap;
      for (;;) {
        try {
          snap = await this.fetchSnapshot();
          break;
        } catch (err) {
          const wait = backoff.next();
          this.loadError = err && err.message ? err.message : String(err);
          this.loadRetryAt = Date.now() + wait;
          this.updateStatus();
          await sleep(wait);
        }
      }
      this.loadError = null;
      this.installSnapshot(snap);
    })().finally(() => {
      this.reloadPromise = null;
    });
    return this.reloadPromise;
  }

  installSnapshot(snap) {
    const sizeChanged = !this.board || this.board.width !== snap.width || this.board.height !== snap.height;
    if (sizeChanged) {
      if (this.board) {
        const dropped = this.board.dropAll();
        if (dropped) this.toaster.show(`The canvas changed size; ${dropped} unsent pixel${dropped === 1 ? '' : 's'} dropped`, 'error');
      }
      this.board = new Board(snap.width, snap.height, {
        idPrefix: this.idPrefix,
        onPixel: (x, y, rgb) => {
          this.renderer.setPixel(x, y, rgb);
          this.requestRender();
        },
      });
      this.renderer.setSize(snap.width, snap.height);
      this.$('sb-size').textContent = `${snap.width} × ${snap.height}`;
      this.canvas.setAttribute('aria-label',
        `Pixel canvas, ${snap.width} by ${snap.height}. Click or tap to paint; arrow keys move the keyboard cursor, Enter paints.`);
    }
    this.board.loadSnapshot(snap.rgb, snap.seq);
    const buffered = this.buffer || [];
    this.buffer = null;
    for (const m of buffered) {
      if (m.type === 'canvas_reset') {
        if (m.seq === null || snap.seq === null || m.seq > snap.seq) this.board.reset(m.seq);
      } else {
        this.applyPixelEvent(m, true);
      }
    }
    this.renderer.loadFrom(this.board);
    this.forgetPixelInfo();
    this.$('loading').hidden = true;
    if (sizeChanged) this.fit();
    this.updatePending();
    this.updateHoverInfo();
    this.requestRender();
  }

  onOpen() {
    this.connGen++;
    this.phase = 'syncing';
    this.clientId = null;
    this.cursors.clear();
    this.lastCursorSent = '';
    this.conn.send(encodeSetUsername(this.username));
    this.updateStatus();
  }

  onClose() {
    clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
    if (this.board) this.phase = 'down';
    this.clientId = null;
    this.cursors.clear();
    this.cursorLayer.clear();
    this.cursorShown = false;
    this.updateStatus();
    this.requestRender();
  }

  onConnState() {
    this.updateStatus();
  }

  onFrame(text) {
    const { messages } = decodeFrame(text);
    for (const m of messages) this.handle(m);
  }

  handle(m) {
    switch (m.type) {
      case 'connected': {
        this.clientId = m.clientId;
        this.cursors.setSelf(m.clientId);
        const sizeMismatch = this.board && m.width && m.height && (m.width !== this.board.width || m.height !== this.board.height);
        // The server's canvas is behind what we have seen: its store lost
        // data or was replaced, and replaying "after our seq" would hide
        // that (worse, our per-pixel seqs would then drop its new events).
        // A gateway merely trailing the store by a few events looks the
        // same; that costs one extra snapshot, never a wrong canvas.
        const wentBack = m.seq !== null && this.sentSince !== null && m.seq < this.sentSince;
        if (sizeMismatch || wentBack || m.seq === null || this.sentSince === null) {
          // A v1 server cannot resume, and without a seq we have nothing to
          // resume from: the snapshot is the only way to be sure.
          this.syncBySnapshot();
        } else {
          const gen = this.connGen;
          this.resumeTimer = setTimeout(() => {
            if (gen === this.connGen && this.phase === 'syncing') this.syncBySnapshot();
          }, RESUME_WAIT_MS);
        }
        break;
      }
      case 'resumed':
        clearTimeout(this.resumeTimer);
        this.resumeTimer = null;
        if (m.recovered && !this.reloadPromise) {
          this.board.lastSeq = Math.max(this.board.lastSeq ?? 0, m.seq);
          this.goLive(true);
        } else {
          this.syncBySnapshot();
        }
        break;
      case 'pixel_updated':
        if (this.buffer) {
          if (this.buffer.length < MAX_BUFFERED) this.buffer.push(m);
        } else if (this.board) {
          this.applyPixelEvent(m, this.phase !== 'live');
        }
        break;
      case 'canvas_reset':
        if (this.buffer) {
          this.buffer.push(m);
        } else if (this.board) {
          this.board.reset(m.seq);
          this.renderer.loadFrom(this.board);
          this.forgetPixelInfo();
          this.activity.clear();
          this.updateHoverInfo();
          this.requestRender();
          this.toaster.show('The canvas was reset by an operator');
        }
        break;
      case 'error':
        this.handleError(m);
        break;
      case 'stats':
        this.activeUsers = m.activeUsers;
        this.renderArtists();
        break;
      case 'user_list':
        this.users = m.users;
        this.renderArtists();
        break;
      case 'cursors':
        this.cursors.update(m, performance.now());
        this.requestRender();
        break;
      default:
        break;
    }
  }

  async syncBySnapshot() {
    const gen = this.connGen;
    this.phase = 'syncing';
    this.updateStatus();
    await this.reload();
    if (gen === this.connGen && this.conn.state === 'open') this.goLive(false);
  }

  async goLive(recovered) {
    const gen = this.connGen;
    if (this.reloadPromise) await this.reloadPromise;
    if (gen !== this.connGen || this.conn.state !== 'open') return;
    const r = this.board.reconcile(recovered);
    if (r.rolledBack) {
      this.toaster.show(`${r.rolledBack} pixel${r.rolledBack === 1 ? '' : 's'} could not be confirmed after reconnecting and ${r.rolledBack === 1 ? 'was' : 'were'} undone`, 'error');
    }
    this.phase = 'live';
    this.everLive = true;
    this.updateStatus();
    this.updatePending();
    this.pump();
  }

  applyPixelEvent(m, quiet) {
    const r = this.board.applyPixel(m);
    if (r.write && !this.pendingDirty) {
      // Many echoes can arrive in one frame; update the counter once.
      this.pendingDirty = true;
      queueMicrotask(() => {
        this.pendingDirty = false;
        this.updatePending();
      });
    }
    if (!r.applied) return;
    const i = this.board.index(m.x, m.y);
    if (this.pixelInfo.size >= PIXEL_INFO_CACHE) this.pixelInfo.delete(this.pixelInfo.keys().next().value);
    this.pixelInfo.delete(i);
    this.pixelInfo.set(i, { username: m.username, timestamp: m.timestamp, known: this.board.knownSeq(i) });
    const mine = r.write !== null || m.id !== null;
    if (!mine && !quiet) {
      const now = performance.now();
      this.renderer.pulse(m.x, m.y, hexToInt(m.color), now);
      this.drawers.set(m.username, Date.now());
      this.activity.add(m.username, m.x, m.y, m.color, Date.now());
      this.artistsDirty = true;
      // Busy canvases send hundreds of pixels a second: rebuild the lists a
      // few times a second, not per pixel.
      if (!this.panelTimer) {
        this.panelTimer = setTimeout(() => {
          this.panelTimer = null;
          this.activity.render(Date.now());
          if (this.artistsDirty) this.renderArtists();
        }, 250);
      }
    }
    const t = this.infoTarget();
    if (t && t.x === m.x && t.y === m.y) this.updateHoverInfo();
  }

  handleError(m) {
    if (m.id && this.board) {
      const w = this.board.fail(m.id);
      if (w) {
        this.toaster.show(describeError(m.code, m.message), 'error');
        if (m.code === 'rate_limited') this.slowDown();
        this.updatePending();
      }
      return;
    }
    if (m.code === 'rate_limited' || m.code === 'unavailable' || m.code === 'too_large') {
      this.toaster.show(describeError(m.code, m.message), 'error');
    } else {
      console.warn('server error', m.code, m.message);
    }
  }

  /** The server refused us for speed: send slower for a while. */
  slowDown() {
    const now = Date.now();
    this.lastRateLimited = now;
    this.bucket.setRate(Math.max(3, this.bucket.rate * 0.6), now);
    this.bucket.tokens = Math.min(this.bucket.tokens, 0);
  }

  /** Send queued writes as fast as the bucket allows. */
  pump() {
    if (this.pumpTimer !== null) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = null;
    }
    if (this.phase !== 'live' || !this.board || this.conn.state !== 'open') {
      this.updatePending();
      return;
    }
    for (;;) {
      const w = this.board.nextQueued();
      if (!w) break;
      const now = Date.now();
      if (this.conn.bufferedAmount > 256 * 1024) {
        this.pumpTimer = setTimeout(() => this.pump(), 50);
        break;
      }
      if (!this.bucket.take(now)) {
        this.pumpTimer = setTimeout(() => this.pump(), Math.max(10, this.bucket.waitMs(now)));
        break;
      }
      if (!this.conn.send(encodePixelUpdate({ x: w.x, y: w.y, color: w.hex, id: w.id }))) break;
      this.board.markSent(w, now);
    }
    this.updatePending();
  }

  /** Once a second: undo writes nobody answered, recover speed, refresh labels. */
  tick() {
    const now = Date.now();
    if (this.board && this.phase === 'live') {
      const expired = this.board.expire(now, CONFIRM_TIMEOUT_MS);
      if (expired.length) {
        this.toaster.show(`${expired.length} pixel${expired.length === 1 ? ' was' : 's were'} not confirmed by the server and undone`, 'error');
        this.updatePending();
      }
    }
    if (this.bucket.rate < PIXEL_RATE && now - this.lastRateLimited > 8000) {
      this.bucket.setRate(Math.min(PIXEL_RATE, this.bucket.rate * 1.5), now);
      this.lastRateLimited = now;
    }
    let drawingChanged = this.artistsDirty;
    for (const [name, at] of this.drawers) {
      if (now - at > DRAWING_BADGE_MS) {
        this.drawers.delete(name);
        drawingChanged = true;
      }
    }
    if (drawingChanged) this.renderArtists();
    this.activity.render(now, now % 5000 < 1000);
    if (!this.board && this.loadError) this.updateStatus();
    if (this.board && this.board.lastSeq !== null) this.$('sb-seq').textContent = `seq ${this.board.lastSeq}`;
    if (this.infoTarget()) this.updateHoverInfo();
  }

  // ---------------------------------------------------------------- drawing

  beginStroke() {
    if (!this.board) return;
    this.stroke = new Stroke(this.board.width, this.board.height);
    this.strokeColor = hexToInt(this.color);
    this.strokeCount = 0;
  }

  strokeTo(cx, cy) {
    if (!this.stroke) return;
    const board = this.board;
    const now = Date.now();
    let refused = false;
    // A pixel counts as done for this stroke only once it shows the colour:
    // one refused because too many writes are waiting is painted when the
    // drag passes over it again.
    this.stroke.moveTo(cx, cy, (x, y) => {
      if (board.paint(x, y, this.strokeColor, now)) {
        this.strokeCount++;
        return true;
      }
      if (board.displayedRGB(board.index(x, y)) === this.strokeColor) return true;
      refused = true;
      return false;
    });
    if (refused) this.toaster.show('Too many pixels waiting to be sent; slow down a moment', 'error');
    this.pump();
  }

  endStroke() {
    if (this.stroke && this.strokeCount > 0) {
      this.recent = pushRecent(this.recent, intToHex(this.strokeColor));
      saveRecent(this.storage, this.recent);
      this.palette.setRecent(this.recent);
    }
    this.stroke = null;
  }

  pickAt(cx, cy) {
    if (!this.board) return;
    const x = Math.floor(cx);
    const y = Math.floor(cy);
    const hex = this.board.displayedHex(x, y);
    if (!hex) return;
    this.setColor(hex);
    this.announce(`Picked colour ${hex}`);
    if (this.tool === 'picker') this.setTool('brush');
  }

  /**
   * @param {string} hex
   * @param {{remember?: boolean}} [o] remember: the colour left becomes the
   *   "previous colour" (X); false for the picker's steps while it is dragged
   */
  setColor(hex, { remember = true } = {}) {
    const c = normalizeHex(hex);
    if (!c) return;
    // A colour chosen any other way ends a picker session that sent no `change`.
    if (remember) this.pickerFrom = null;
    if (c !== this.color) {
      if (remember) this.prevColor = this.color;
      this.color = c;
      saveColor(this.storage, c);
    }
    this.$('current-chip').style.backgroundColor = c;
    this.$('current-hex').textContent = c;
    this.$('color-input').value = c.toLowerCase();
    this.palette.setCurrent(c);
    this.requestRender();
  }

  setTool(t) {
    this.tool = t;
    for (const [id, name] of [['tool-brush', 'brush'], ['tool-picker', 'picker'], ['tool-pan', 'pan']]) {
      this.$(id).setAttribute('aria-pressed', String(t === name));
    }
    this.updateToolCursor();
    this.requestRender();
  }

  effectiveTool() {
    return this.spaceHeld ? 'pan' : this.tool;
  }

  updateToolCursor() {
    this.canvas.dataset.tool = this.effectiveTool();
  }

  // ---------------------------------------------------------------- view

  stageSize() {
    return { w: this.renderer.cssW || this.stage.clientWidth, h: this.renderer.cssH || this.stage.clientHeight };
  }

  limits() {
    const { w, h } = this.stageSize();
    return this.board ? zoomLimits(w, h, this.board.width, this.board.height) : { min: 0.05, max: 80 };
  }

  setView(v, userMoved = true) {
    if (!this.board) return;
    const { w, h } = this.stageSize();
    this.view = clampView(v, w, h, this.board.width, this.board.height);
    if (userMoved) this.userMovedView = true;
    this.$('zoom-readout').textContent = zoomPercent(this.view.scale);
    if (this.hoverPos) this.hoverAt(this.hoverPos.x, this.hoverPos.y);
    this.requestRender();
  }

  fit() {
    if (!this.board) return;
    const { w, h } = this.stageSize();
    this.setView(fitView(w, h, this.board.width, this.board.height), false);
    this.userMovedView = false;
  }

  zoomBy(factor, sx, sy) {
    this.setView(zoomAt(this.view, factor, sx, sy, this.limits()));
  }

  zoomStep(dir) {
    const { w, h } = this.stageSize();
    const s = this.view.scale;
    const next = dir > 0 ? ZOOM_STEPS.find((z) => z > s * 1.001) : [...ZOOM_STEPS].reverse().find((z) => z < s * 0.999);
    const target = next ?? (dir > 0 ? s * 1.5 : s / 1.5);
    this.setView(zoomTo(this.view, target, w / 2, h / 2, this.limits()));
  }

  /** Centre the view on a pixel, zooming in if it is too small to see. */
  jumpTo(x, y) {
    if (!this.board) return;
    const { w, h } = this.stageSize();
    const scale = Math.max(this.view.scale, 12);
    this.setView({ scale, ox: w / 2 - (x + 0.5) * scale, oy: h / 2 - (y + 0.5) * scale });
    this.keyCursor = { x, y };
    this.requestRender();
  }

  onResize() {
    this.renderer.fitToElement();
    if (!this.board) return;
    if (!this.userMovedView) this.fit();
    else this.setView(this.view);
    this.requestRender();
  }

  requestRender() {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.frame());
  }

  frame() {
    this.raf = 0;
    if (!this.board) return;
    const now = performance.now();
    const tool = this.effectiveTool();
    this.renderer.draw(this.view, {
      grid: this.grid,
      hover: this.hover,
      preview: tool === 'brush' && this.hover && !this.stroke ? hexToInt(this.color) : null,
      keyCursor: this.doc.activeElement === this.canvas ? this.keyCursor : null,
      colorAt: (x, y) => this.board.displayedRGB(this.board.index(x, y)),
      now,
    });
    const moving = this.cursors.step(now);
    const { w, h } = this.stageSize();
    this.cursorLayer.render(this.cursors.list(), this.view, w, h, now);
    if (moving || this.renderer.animating) this.requestRender();
  }

  // ---------------------------------------------------------------- hover, cursor

  hoverAt(sx, sy) {
    if (sx === null || !this.board) {
      this.hover = null;
      this.hoverPos = null;
      this.updateHoverInfo();
      this.requestRender();
      return;
    }
    this.hoverPos = { x: sx, y: sy };
    const p = pixelAt(this.view, sx, sy, this.board.width, this.board.height);
    const same = p && this.hover && p.x === this.hover.x && p.y === this.hover.y;
    if (!same) {
      this.hover = p;
      this.updateHoverInfo();
      this.requestRender();
    } else {
      this.placeHoverCard();
    }
  }

  /** The pixel whose details are shown: under the pointer, else the keyboard cursor. */
  infoTarget() {
    return this.hover || (this.doc.activeElement === this.canvas ? this.keyCursor : null);
  }

  /** Who painted the hovered (or keyboard-selected) pixel: cached, else fetched after a pause. */
  updateHoverInfo(refetch = true) {
    const p = this.infoTarget();
    const coordsEl = this.$('sb-coords');
    const whoEl = this.$('sb-who');
    if (!p || !this.board) {
      coordsEl.textContent = this.coarsePointer ? 'Tap to paint · pinch to zoom' : '–';
      whoEl.textContent = '';
      this.$('hover-card').hidden = true;
      this.cancelPixelInfo();
      return;
    }
    const i = this.board.index(p.x, p.y);
    const hex = this.board.displayedHex(p.x, p.y);
    let who;
    const pending = this.board.byPixel.get(i);
    const info = this.pixelInfo.get(i);
    if (pending && pending.length) {
      who = this.phase === 'live' ? 'Your pixel · sending…' : 'Your pixel · waiting for connection';
    } else if (info && info.known === this.board.knownSeq(i) && !(info.error && Date.now() - info.at > PIXEL_INFO_RETRY_MS)) {
      if (info.error) who = 'Artist unknown (could not ask the server)';
      else if (!info.username) who = 'Not painted yet';
      else who = `${info.username} · ${info.timestamp ? timeAgo(info.timestamp, Date.now()) : 'earlier'}`;
    } else {
      who = 'Looking up who painted it…';
      if (refetch && this.hoverAsking !== i) {
        // A question about another pixel still in flight may finish and be
        // cached; it is aborted only when this one is sent.
        clearTimeout(this.hoverTimer);
        this.hoverAsking = i;
        this.hoverTimer = setTimeout(() => this.fetchPixelInfo(p.x, p.y), HOVER_FETCH_DELAY_MS);
      }
    }
    coordsEl.textContent = `${p.x}, ${p.y}`;
    whoEl.textContent = `${hex} · ${who}`;
    this.hoverParts = { hex, coordsText: `(${p.x}, ${p.y})  ${hex}`, whoText: who };
    this.placeHoverCard();
  }

  placeHoverCard() {
    const card = this.$('hover-card');
    if (!this.hover || !this.hoverPos || !this.hoverParts || this.stroke) {
      card.hidden = true;
      return;
    }
    const { w, h } = this.stageSize();
    renderHoverCard(card, {
      chip: this.$('hc-chip'), coords: this.$('hc-coords'), who: this.$('hc-who'), ...this.hoverParts,
    }, this.hoverPos, w, h);
  }

  /** The board was replaced or wiped: who painted what is to be asked again. */
  forgetPixelInfo() {
    this.pixelInfo.clear();
    // An answer in flight describes the canvas before; it must not be cached.
    this.cancelPixelInfo();
  }

  /** Stop asking who painted a pixel: the question is scheduled or in flight. */
  cancelPixelInfo() {
    clearTimeout(this.hoverTimer);
    this.hoverTimer = null;
    if (this.hoverFetch) this.hoverFetch.abort();
    this.hoverFetch = null;
    this.hoverAsking = null;
  }

  async fetchPixelInfo(x, y) {
    if (!this.board) return;
    if (this.hoverFetch) this.hoverFetch.abort();
    const ctl = new AbortController();
    this.hoverFetch = ctl;
    const board = this.board;
    const i = board.index(x, y);
    const knownBefore = board.knownSeq(i);
    let entry;
    try {
      const res = await fetchAnswered(`${this.endpoints.apiBase}/api/pixel/${x}/${y}`, { signal: ctl.signal, cache: 'no-store' }, PIXEL_INFO_ANSWER_MS);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const j = await res.json();
      // The answer's seq is the pixel's own last write, usually far below the
      // snapshot's seq: that is fine. It is only out of date when a live event
      // changed the pixel to something newer while we asked (that event
      // already recorded who painted it).
      const seq = Number.isSafeInteger(j.seq) && j.seq >= 0 ? j.seq : null;
      if (seq !== null ? board.isOlderThanLive(i, seq) : board.knownSeq(i) !== knownBefore) return;
      let username = typeof j.username === 'string' && j.username ? j.username : null;
      const painted = seq !== null ? seq > 0 : normalizeHex(j.color) !== '#FFFFFF';
      if (painted && !username) username = seq !== null ? 'Anonymous' : 'someone';
      // Valid for as long as the board knows of no newer write to the pixel.
      entry = { username, timestamp: Number.isFinite(j.timestamp) ? j.timestamp : null, known: board.knownSeq(i) };
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      entry = { username: null, timestamp: null, known: board.knownSeq(i), error: true, at: Date.now() };
    } finally {
      if (this.hoverFetch === ctl) {
        this.hoverFetch = null;
        if (this.hoverAsking === i) this.hoverAsking = null;
      }
    }
    if (board !== this.board) return;
    this.pixelInfo.delete(i);
    this.pixelInfo.set(i, entry);
    const t = this.infoTarget();
    if (t && t.x === x && t.y === y) this.updateHoverInfo(false);
  }

  /** Our pointer position for everyone else; null when it left the canvas. */
  cursorAt(cx, cy) {
    if (!this.board) return;
    const inside = cx !== null && cx >= 0 && cy >= 0 && cx <= this.board.width && cy <= this.board.height;
    if (!inside) {
      this.sendCursor.cancel();
      if (this.cursorShown && this.phase === 'live') this.conn.send(encodeCursorLeave());
      this.cursorShown = false;
      this.lastCursorSent = '';
      return;
    }
    this.sendCursor(cx, cy);
  }

  // ---------------------------------------------------------------- chrome

  setupControls() {
    const $ = (id) => this.$(id);
    this.palette = buildPalette($('palette'), $('recent'), (hex) => this.setColor(hex));
    this.palette.setRecent(this.recent);
    this.setColor(this.color);
    this.sendCursor = throttle((cx, cy) => {
      if (this.phase !== 'live') return;
      const msg = encodeCursor(cx, cy);
      if (msg === this.lastCursorSent || this.conn.bufferedAmount > 64 * 1024) return;
      if (this.conn.send(msg)) {
        this.lastCursorSent = msg;
        this.cursorShown = true;
      }
    }, CURSOR_INTERVAL_MS);

    $('tool-brush').addEventListener('click', () => this.setTool('brush'));
    $('tool-picker').addEventListener('click', () => this.setTool('picker'));
    $('tool-pan').addEventListener('click', () => this.setTool(this.tool === 'pan' ? 'brush' : 'pan'));
    $('zoom-in').addEventListener('click', () => this.zoomStep(1));
    $('zoom-out').addEventListener('click', () => this.zoomStep(-1));
    $('zoom-fit').addEventListener('click', () => this.fit());
    $('toggle-grid').addEventListener('click', () => this.toggleGrid());
    $('toggle-grid').setAttribute('aria-pressed', String(this.grid));
    $('swap-color').addEventListener('click', () => this.swapColor());
    // The system picker sends `input` for every step of a drag and `change`
    // once it is done: only the colour from before it is "previous".
    $('color-input').addEventListener('input', (e) => {
      if (this.pickerFrom === null) this.pickerFrom = this.color;
      this.setColor(e.target.value, { remember: false });
    });
    $('color-input').addEventListener('change', (e) => {
      const from = this.pickerFrom ?? this.color;
      this.pickerFrom = null;
      this.setColor(e.target.value, { remember: false });
      if (from !== this.color) this.prevColor = from;
    });
    $('conn').addEventListener('click', () => this.conn && this.conn.retryNow());

    const name = $('username');
    name.value = this.username;
    let nameTimer = null;
    // 20 characters as the server counts them (code points), not the UTF-16
    // units `maxlength` would count. Not in the middle of an IME composition.
    const limitName = () => {
      const r = limitCodePoints(name.value, name.selectionEnd ?? name.value.length);
      if (r.value === name.value) return;
      name.value = r.value;
      name.setSelectionRange(r.caret, r.caret);
    };
    name.addEventListener('compositionend', limitName);
    name.addEventListener('input', (e) => {
      if (!e.isComposing) limitName();
      clearTimeout(nameTimer);
      nameTimer = setTimeout(() => this.commitName(false), 600);
    });
    name.addEventListener('change', () => {
      clearTimeout(nameTimer);
      this.commitName(true);
    });
    name.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') name.blur();
    });

    const menu = $('export-menu');
    for (const b of menu.querySelectorAll('[data-export-scale]')) {
      b.addEventListener('click', () => {
        menu.open = false;
        this.exportPng(Number(b.dataset.exportScale));
      });
    }
    this.doc.addEventListener('pointerdown', (e) => {
      if (menu.open && !menu.contains(e.target)) menu.open = false;
    });

    const help = $('help');
    $('open-help').addEventListener('click', () => this.openHelp());
    $('close-help').addEventListener('click', () => help.close());
    help.addEventListener('click', (e) => {
      if (e.target === help) help.close();
    });

    const panel = $('side-panel');
    const toggle = $('open-artists');
    const setDrawer = (open) => {
      panel.classList.toggle('open', open);
      toggle.setAttribute('aria-expanded', String(open));
      if (open) $('close-artists').focus();
      else if (panel.contains(this.doc.activeElement)) toggle.focus();
    };
    this.setDrawer = setDrawer;
    toggle.addEventListener('click', () => setDrawer(!panel.classList.contains('open')));
    this.doc.addEventListener('pointerdown', (e) => {
      if (panel.classList.contains('open') && !panel.contains(e.target) && !toggle.contains(e.target)) {
        // The tap that closes the drawer must not also paint.
        e.stopPropagation();
        setDrawer(false);
      }
    }, true);
    $('close-artists').addEventListener('click', () => setDrawer(false));

    new ResizeObserver(() => this.onResize()).observe(this.stage);
    this.canvas.addEventListener('focus', () => {
      this.updateHoverInfo();
      this.requestRender();
    });
    this.canvas.addEventListener('blur', () => {
      this.updateHoverInfo();
      this.requestRender();
    });
  }

  commitName(rewriteField) {
    const field = this.$('username');
    const clean = sanitizeUsername(field.value);
    if (rewriteField && field.value !== clean) field.value = clean;
    if (clean === this.username) return;
    this.username = clean;
    saveUsername(this.storage, clean);
    if (this.conn && this.conn.state === 'open') this.conn.send(encodeSetUsername(clean));
    this.renderArtists();
  }

  toggleGrid() {
    this.grid = !this.grid;
    saveGrid(this.storage, this.grid);
    this.$('toggle-grid').setAttribute('aria-pressed', String(this.grid));
    this.requestRender();
  }

  swapColor() {
    if (this.prevColor) this.setColor(this.prevColor);
  }

  cyclePalette(dir) {
    const i = PALETTE.findIndex((p) => p.hex === this.color);
    const next = i < 0 ? 0 : (i + dir + PALETTE.length) % PALETTE.length;
    this.setColor(PALETTE[next].hex);
  }

  openHelp() {
    const help = this.$('help');
    if (!help.open) help.showModal();
  }

  async exportPng(requested) {
    if (!this.board) return;
    const scale = exportScale(requested, this.board.width, this.board.height);
    try {
      const blob = await this.renderer.toBlob(scale);
      const url = URL.createObjectURL(blob);
      const a = this.doc.createElement('a');
      a.href = url;
      a.download = `pixel-playground-${fileStamp(new Date())}-${scale}x.png`;
      this.doc.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      const note = scale < requested ? ` (${scale}× is the largest for this canvas)` : '';
      this.toaster.show(`PNG saved at ${scale}×${note}`, 'ok');
    } catch (err) {
      this.toaster.show(`Export failed: ${err.message}`, 'error');
    }
  }

  renderArtists() {
    this.artistsDirty = false;
    const now = Date.now();
    const drawing = new Set([...this.drawers].filter(([, at]) => now - at <= DRAWING_BADGE_MS).map(([n]) => n));
    renderArtists(this.$('artists'), this.$('artists-extra'), this.$('artist-count'), this.$('artists-badge'), {
      users: this.users, activeUsers: this.activeUsers, me: this.username, drawing, stale: this.phase !== 'live',
    });
  }

  updatePending() {
    const el = this.$('sb-pending');
    const n = this.board ? this.board.pendingCount : 0;
    if (!n) {
      el.textContent = '';
      el.classList.remove('busy');
      return;
    }
    const q = this.board.queuedCount;
    el.textContent = this.phase === 'live'
      ? `${n} pixel${n === 1 ? '' : 's'} sending${q ? ` (${q} queued)` : ''}`
      : `${n} pixel${n === 1 ? '' : 's'} waiting for connection`;
    el.classList.add('busy');
  }

  /** The connection pill, the stale banner and the screen-reader announcement. */
  updateStatus() {
    const pill = this.$('conn');
    const text = this.$('conn-text');
    const now = Date.now();
    let state;
    let label;
    const cs = this.conn ? this.conn.state : 'idle';
    if (!this.board) {
      if (this.loadError) {
        state = 'error';
        label = `Can't load canvas · retry in ${countdown(this.loadRetryAt - now)}`;
        this.$('loading-text').textContent = `Can't load the canvas from the server (${this.loadError}). Retrying…`;
      } else {
        state = 'connecting';
        label = 'Loading…';
      }
    } else if (cs === 'open') {
      state = this.phase === 'live' ? 'live' : 'syncing';
      label = this.phase === 'live' ? 'Live' : 'Syncing…';
    } else if (cs === 'waiting') {
      state = 'waiting';
      label = `Reconnecting in ${countdown((this.conn.retryAt ?? now) - now)}`;
    } else if (cs === 'offline') {
      state = 'offline';
      label = 'Offline';
    } else {
      state = 'connecting';
      label = this.everLive ? 'Reconnecting…' : 'Connecting…';
    }
    pill.dataset.state = state;
    text.textContent = label;
    pill.title = state === 'waiting' ? 'Connection lost. Click to retry now.' : label;
    // Only a useful button while a retry is pending; otherwise it is a status.
    pill.tabIndex = state === 'waiting' ? 0 : -1;
    pill.setAttribute('aria-label', state === 'waiting' ? `${label}. Retry now` : `Connection: ${label}`);
    // Once when the connection is lost, once when it is live again: not on
    // every retry of the countdown.
    const announce = this.statusAnnouncer.update(this.board ? state : this.loadError ? 'error' : 'loading');
    if (announce) this.announce(announce);
    // Say plainly when what is on screen may be out of date.
    const banner = this.$('stale-banner');
    const stale = this.board && this.everLive && state !== 'live';
    banner.hidden = !stale;
    if (stale) {
      this.$('stale-text').textContent = state === 'offline'
        ? 'You are offline. The canvas may be out of date; your pixels will be sent when you are back.'
        : state === 'syncing'
          ? 'Catching up with changes made while you were away…'
          : 'Connection lost. The canvas may be out of date; your pixels will be sent when we reconnect.';
    }
    const panel = this.$('side-panel');
    if (panel.classList.contains('stale') !== (state !== 'live')) {
      panel.classList.toggle('stale', state !== 'live');
      this.renderArtists();
    }
    this.$('sb-seq').textContent = this.board && this.board.lastSeq !== null ? `seq ${this.board.lastSeq}` : '';
    this.updatePending();
    // The countdown needs a faster clock than tick().
    const counting = state === 'waiting' || state === 'error';
    if (counting && !this.countdownTimer) {
      this.countdownTimer = setInterval(() => this.updateStatus(), 100);
    } else if (!counting && this.countdownTimer) {
      clearInterval(this.countdownTimer);
      this.countdownTimer = null;
    }
  }

  /** Say something through the polite live region (#announcer). */
  announce(text) {
    const a = this.$('announcer');
    // The same words again (painting the same pixel twice) are no change to
    // the region and would be skipped: vary them invisibly.
    a.textContent = a.textContent === text ? `${text}\u00a0` : text;
  }

  // ---------------------------------------------------------------- input wiring

  inputApi() {
    return {
      getView: () => this.view,
      setView: (v) => this.setView(v),
      zoomLimits: () => this.limits(),
      zoomBy: (f, sx, sy) => this.zoomBy(f, sx, sy),
      toolFor: (e) => (this.spaceHeld ? 'pan' : e.altKey ? 'picker' : this.tool),
      beginStroke: () => this.beginStroke(),
      strokeTo: (cx, cy) => this.strokeTo(cx, cy),
      endStroke: () => this.endStroke(),
      pickAt: (cx, cy) => this.pickAt(cx, cy),
      hoverAt: (sx, sy) => this.hoverAt(sx, sy),
      cursorAt: (cx, cy) => this.cursorAt(cx, cy),
      setDragging: (d) => {
        this.canvas.dataset.dragging = String(d);
      },
    };
  }

  setupKeyboard() {
    const doc = this.doc;
    doc.addEventListener('keydown', (e) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey) return;
      const t = e.target;
      if (t instanceof Element && t.closest('input, textarea, select, [contenteditable="true"]')) {
        if (e.key === 'Escape' && t.id === 'username') t.blur();
        return;
      }
      if (this.$('help').open) return;
      const onCanvas = t === this.canvas;
      const onControl = t instanceof Element && t.closest('button, summary, a');
      switch (e.key) {
        case ' ':
          if (onControl) return; // Space activates buttons
          e.preventDefault();
          if (!this.spaceHeld) {
            this.spaceHeld = true;
            this.updateToolCursor();
          }
          return;
        case 'b': case 'B': this.setTool('brush'); break;
        case 'i': case 'I': this.setTool('picker'); break;
        case 'h': case 'H': this.setTool(this.tool === 'pan' ? 'brush' : 'pan'); break;
        case '+': case '=': this.zoomStep(1); break;
        case '-': case '_': this.zoomStep(-1); break;
        case '0': this.fit(); break;
        case '1': {
          const { w, h } = this.stageSize();
          this.setView(zoomTo(this.view, 1, w / 2, h / 2, this.limits()));
          break;
        }
        case 'g': case 'G': this.toggleGrid(); break;
        case 'x': case 'X': this.swapColor(); break;
        case '[': this.cyclePalette(-1); break;
        case ']': this.cyclePalette(1); break;
        case '?': this.openHelp(); break;
        case 'Escape':
          this.input.cancel();
          this.$('export-menu').open = false;
          if (this.$('side-panel').classList.contains('open')) this.setDrawer(false);
          break;
        case 'Enter':
          if (!onCanvas || !this.keyCursor) return;
          if (this.effectiveTool() === 'picker') {
            clearTimeout(this.keyAnnounceTimer);
            this.pickAt(this.keyCursor.x, this.keyCursor.y);
          } else {
            this.paintAtKeyCursor();
          }
          this.updateHoverInfo();
          break;
        case 'ArrowLeft': case 'ArrowRight': case 'ArrowUp': case 'ArrowDown': {
          const dx = e.key === 'ArrowLeft' ? -1 : e.key === 'ArrowRight' ? 1 : 0;
          const dy = e.key === 'ArrowUp' ? -1 : e.key === 'ArrowDown' ? 1 : 0;
          const step = e.shiftKey ? 10 : 1;
          if (onCanvas && this.board) this.moveKeyCursor(dx * step, dy * step);
          else this.setView({ ...this.view, ox: this.view.ox - dx * 48 * step / 2, oy: this.view.oy - dy * 48 * step / 2 });
          break;
        }
        default:
          return;
      }
      e.preventDefault();
    });
    doc.addEventListener('keyup', (e) => {
      if (e.key === ' ' && this.spaceHeld) {
        this.spaceHeld = false;
        this.updateToolCursor();
      }
    });
    this.win.addEventListener('blur', () => {
      this.spaceHeld = false;
      this.updateToolCursor();
    });
  }

  moveKeyCursor(dx, dy) {
    const b = this.board;
    if (!this.keyCursor) {
      const { w, h } = this.stageSize();
      const r = visibleRange(this.view, w, h, b.width, b.height);
      const c = screenToCanvas(this.view, w / 2, h / 2);
      this.keyCursor = {
        x: Math.min(Math.max(Math.floor(c.x), r.x0), Math.max(r.x0, r.x1 - 1)),
        y: Math.min(Math.max(Math.floor(c.y), r.y0), Math.max(r.y0, r.y1 - 1)),
      };
    } else {
      this.keyCursor = {
        x: Math.min(b.width - 1, Math.max(0, this.keyCursor.x + dx)),
        y: Math.min(b.height - 1, Math.max(0, this.keyCursor.y + dy)),
      };
    }
    const { w, h } = this.stageSize();
    const v = ensureVisible(this.view, this.keyCursor.x, this.keyCursor.y, w, h);
    if (v.ox !== this.view.ox || v.oy !== this.view.oy) this.setView(v);
    this.hover = null;
    this.updateHoverInfo();
    this.requestRender();
    // The canvas is a picture: say where the cursor is and what is there,
    // once it rests (holding an arrow key would otherwise queue dozens).
    clearTimeout(this.keyAnnounceTimer);
    this.keyAnnounceTimer = setTimeout(() => {
      const c = this.keyCursor;
      if (!c || !this.board || this.doc.activeElement !== this.canvas) return;
      this.announce(`${c.x}, ${c.y}, ${colorLabel(this.board.displayedHex(c.x, c.y))}`);
    }, KEY_CURSOR_ANNOUNCE_MS);
  }

  /** Enter on the canvas: paint the pixel under the keyboard cursor and say what happened. */
  paintAtKeyCursor() {
    const { x, y } = this.keyCursor;
    clearTimeout(this.keyAnnounceTimer);
    const before = this.board.displayedHex(x, y);
    this.beginStroke();
    this.strokeTo(x + 0.5, y + 0.5);
    this.endStroke();
    const label = colorLabel(this.color);
    if (before === this.color) this.announce(`${x}, ${y} is already ${label}`);
    else if (this.board.displayedHex(x, y) === this.color) this.announce(`Painted ${x}, ${y}, ${label}`);
    else this.announce(`Not painted: too many pixels are waiting to be sent`);
  }

  setupLifecycle() {
    const win = this.win;
    win.addEventListener('online', () => this.conn && this.conn.setOnline(true));
    win.addEventListener('offline', () => this.conn && this.conn.setOnline(false));
    this.doc.addEventListener('visibilitychange', () => {
      if (!this.conn) return;
      if (this.doc.visibilityState === 'hidden') {
        this.cursorAt(null, null);
      } else {
        this.conn.retryNow();
      }
    });
    win.addEventListener('pagehide', () => {
      this.cursorAt(null, null);
      if (!this.conn || this.conn.state === 'stopped') return;
      this.conn.stop();
      // stop() closes without the close callback. The page may be kept in the
      // back/forward cache and shown again later: it must come back as "not
      // live" (no old cursors or artists, writes in doubt rather than timed
      // out), exactly as after any other close.
      this.onClose();
    });
    win.addEventListener('pageshow', (e) => {
      // Back/forward cache restored the page: everything we knew may be old;
      // reconnecting resumes from our seq (or reloads the snapshot).
      if (e.persisted && this.conn && this.conn.state === 'stopped') this.conn.start();
    });
    // Moving the window to a screen with another pixel ratio changes no CSS
    // size, so the resize observer would not notice.
    const watchRatio = () => {
      if (!win.matchMedia) return;
      win.matchMedia(`(resolution: ${win.devicePixelRatio || 1}dppx)`).addEventListener('change', () => {
        this.onResize();
        watchRatio();
      }, { once: true });
    };
    watchRatio();
    if (win.navigator && win.navigator.onLine === false) {
      queueMicrotask(() => this.conn && this.conn.setOnline(false));
    }
  }

  // ---------------------------------------------------------------- test hook

  /**
   * window.__pixelPlayground: read-only views of the client's state for the
   * browser end-to-end tests. Nothing here changes anything.
   */
  installTestHook() {
    const app = this;
    const hook = {
      state() {
        const b = app.board;
        return {
          ready: !!b,
          connected: !!app.conn && app.conn.state === 'open' && app.phase === 'live',
          connection: app.$('conn').dataset.state,
          clientId: app.clientId,
          seq: b ? b.lastSeq : null,
          username: app.username,
          width: b ? b.width : null,
          height: b ? b.height : null,
          users: [...app.users],
          activeUsers: app.activeUsers,
          cursors: app.cursors.list().map((c) => ({ clientId: c.clientId, username: c.username, x: c.tx, y: c.ty })),
          pendingCount: b ? b.pendingCount : 0,
          tool: app.tool,
          color: app.color,
          grid: app.grid,
          view: { ...app.view },
        };
      },
      /** The colour shown at (x, y) as '#RRGGBB', or null outside the canvas / before load. */
      pixelAt(x, y) {
        return app.board ? app.board.displayedHex(x, y) : null;
      },
      /** The colour the server confirmed at (x, y). */
      confirmedAt(x, y) {
        return app.board ? app.board.confirmedHex(x, y) : null;
      },
      /** Viewport (client) coordinates of the centre of pixel (x, y): where to click. */
      clientPointOf(x, y) {
        const r = app.canvas.getBoundingClientRect();
        return { x: r.left + app.view.ox + (x + 0.5) * app.view.scale, y: r.top + app.view.oy + (y + 0.5) * app.view.scale };
      },
    };
    Object.defineProperty(this.win, '__pixelPlayground', { value: Object.freeze(hook), writable: false, configurable: false });
  }
}
