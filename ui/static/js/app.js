// @ts-check
// The application: builds the modules, connects them to the page and to
// each other. The logic lives elsewhere: the server session in lib/session.js
// (the sync life cycle in lib/sync.js),
// write pacing and strokes in lib/writes.js, "who painted it" in
// lib/pixelinfo.js, what the status bar says in lib/status.js, shortcuts in
// lib/shortcuts.js; the DOM pieces under ui/. What stays here is which event
// goes where, and the few reactions that touch several pieces at once.

import { Board } from './lib/board.js';
import { canvasEndpoints, parseCanvasLocation, viewAt } from './lib/canvasref.js';
import { hexToInt } from './lib/color.js';
import { resolveEndpoints } from './lib/endpoints.js';
import { fetchAnswered } from './lib/http.js';
import { PixelInfo } from './lib/pixelinfo.js';
import { loadOwned } from './lib/owned.js';
import { loadPrefs, saveUsername } from './lib/prefs.js';
import { Roster } from './lib/presence.js';
import { sanitizeUsername } from './lib/protocol.js';
import { Session } from './lib/session.js';
import { fetchSnapshot } from './lib/snapshot.js';
import { arrowPan } from './lib/viewport.js';
import { ArtistsPanel } from './ui/artists.js';
import { CanvasPage } from './ui/canvaspage.js';
import { exportPng, setupControls } from './ui/controls.js';
import { CursorLayer } from './ui/cursorlayer.js';
import { HoverCard } from './ui/hovercard.js';
import { attachInput } from './ui/input.js';
import { KeyCursor } from './ui/keycursor.js';
import { attachKeyboard } from './ui/keyboard.js';
import { watchLifecycle } from './ui/lifecycle.js';
import { Painter } from './ui/painter.js';
import { Toaster } from './ui/panels.js';
import { Renderer } from './ui/renderer.js';
import { StatusBar } from './ui/statusbar.js';
import { installTestHook } from './ui/testhook.js';
import { Tools } from './ui/tools.js';
import { ViewController } from './ui/view.js';
import { Guide } from './ui/guide.js';
import { LastSeen } from './ui/lastseen.js';
import { Minimap } from './ui/minimap.js';
import { OverlayLayer } from './ui/overlay.js';
import { QuotaRing } from './ui/quotaring.js';
import { TemplatePanel } from './ui/template.js';

/** A REST read whose server has not begun to answer in this long is given up (and retried). */
const SNAPSHOT_ANSWER_MS = 15000;
const PIXEL_INFO_ANSWER_MS = 10000;

/** Write ids unique across page loads and tabs. @param {number} n */
function randomId(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => (b % 36).toString(36)).join('');
}

/** localStorage, or null where it is refused (private modes, blocked cookies). @param {Window} win */
function safeStorage(win) {
  try {
    const s = win.localStorage;
    s.getItem('probe');
    return s;
  } catch {
    return null;
  }
}

/** @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => (n === 1 ? one : many);

export class App {
  /** @param {Window & typeof globalThis & {APP_CONFIG?: {WS_URL?: string, API_URL?: string}}} win */
  constructor(win) {
    this.win = win;
    this.doc = win.document;
    this.endpoints = resolveEndpoints(win.APP_CONFIG, win.location);
    this.storage = safeStorage(win);
    this.prefs = loadPrefs(this.storage);
    /** Which canvas: `main` on `/` (the old endpoints), any other on /c/{slug} (lib/canvasref.js). */
    this.ref = parseCanvasLocation(win.location.pathname, win.location.search);
    this.owned = this.ref.slug && !this.ref.main ? loadOwned(this.storage, this.ref.slug) : { creatorKey: null, invite: null };
    if (this.ref.invite) this.owned = { ...this.owned, invite: this.ref.invite };
    this.canvasUrls = canvasEndpoints(this.endpoints, { slug: this.ref.slug || 'main', main: this.ref.main }, this.owned.invite);
    /** The position the URL asked for, taken once the first snapshot is in. */
    this.startAt = this.ref.position;
    this.username = this.prefs.username;
    this.raf = 0;
    /** Who is online (lib/presence.js), from presence changes or v1's whole lists. */
    this.roster = new Roster();
  }

  /** @param {string} id */
  $(id) {
    return /** @type {HTMLElement} */ (this.doc.getElementById(id));
  }

  get board() { return this.session.board; }

  start() {
    const { doc, win } = this;
    const board = () => this.board;
    const redraw = () => this.requestRender();
    const announce = (/** @type {string} */ t) => this.announce(t);
    const stageSize = () => this.stageSize();
    const warn = (/** @type {string} */ t) => this.toaster.show(t, 'error');
    this.canvas = /** @type {HTMLCanvasElement} */ (this.$('canvas'));
    this.stage = this.$('stage');
    this.renderer = new Renderer(this.canvas);
    this.cursorLayer = new CursorLayer(this.$('cursor-layer'));
    this.toaster = new Toaster(this.$('toasts'));
    // Read on every use: the creator can make the canvas private, public or
    // give it a new invite while the page is open (setInvite below).
    const urls = {
      rest: (/** @type {string} */ path) => this.canvasUrls.rest(path),
      info: this.canvasUrls.info,
    };
    this.session = new Session({
      wsUrl: () => this.canvasUrls.wsUrl,
      WebSocketImpl: win.WebSocket,
      loadSnapshot: () => fetchSnapshot(this.endpoints.apiBase, (url, init) => fetchAnswered(url, init, SNAPSHOT_ANSWER_MS),
        { raw: urls.rest('canvas/raw'), json: urls.rest('canvas') }),
      idPrefix: randomId(6) + '-',
      onPixelShown: (x, y, rgb) => {
        this.renderer.setPixel(x, y, rgb);
        // Our own click under the pointer: the card says it is ours at once,
        // not what it said of the pixel before (online the echo did that; in
        // an outage nothing else would, for up to a second).
        const t = this.hoverCard.target();
        if (t && t.x === x && t.y === y) this.hoverCard.update(false);
        redraw();
      },
      username: () => this.username,
      hooks: {
        onBoard: (b, dropped) => this.onBoard(b, dropped),
        onSnapshot: (b, sizeChanged) => this.onSnapshot(sizeChanged),
        onPixel: (m, theirs) => this.onPixel(m, theirs),
        onReset: () => this.onReset(),
        onStatus: () => this.updateStatus(),
        onCounters: () => {
          this.statusBar.counters();
          // A write confirmed with the colour it showed changes no pixel, only its hatching.
          redraw();
        },
        onClosed: () => {
          this.roster.disconnected();
          this.cursorLayer.clear();
          redraw();
        },
        onOther: (m) => this.onMessage(m),
        warn,
      },
    });
    const { sync, conn } = this.session;
    this.pixelInfo = new PixelInfo({
      apiBase: this.endpoints.apiBase,
      url: (x, y) => urls.rest(`pixel/${x}/${y}`),
      fetch: (url, init) => fetchAnswered(url, init, PIXEL_INFO_ANSWER_MS),
      board,
      onAnswer: (x, y) => {
        const t = this.hoverCard.target();
        if (t && t.x === x && t.y === y) this.hoverCard.update(false);
      },
    });
    this.view = new ViewController({
      stageSize, canvasSize: board, readout: this.$('zoom-readout'),
      onChange: () => {
        if (this.hoverCard.pos) this.hoverCard.pointerAt(this.hoverCard.pos.x, this.hoverCard.pos.y);
        redraw();
      },
    });
    this.keyCursor = new KeyCursor({
      canvas: this.canvas, board, view: this.view, stageSize, announce,
      onMove: () => {
        this.hoverCard.leave();
        this.hoverCard.update();
        redraw();
      },
    });
    this.hoverCard = new HoverCard(doc, {
      info: this.pixelInfo, coarsePointer: !!(win.matchMedia && win.matchMedia('(pointer: coarse)').matches),
      board, view: () => this.view.view, stageSize, keyCursor: () => this.keyCursor.active,
      live: () => sync.phase === 'live', stroking: () => !!this.painter.stroke, onChange: redraw,
    });
    this.statusBar = new StatusBar(doc, {
      input: () => {
        const b = this.board;
        return {
          hasBoard: !!b, loadError: sync.loadError, loadRetryAt: sync.loadRetryAt, connState: conn.state, retryAt: conn.retryAt,
          phase: sync.phase, everLive: sync.everLive, now: Date.now(), seq: b ? b.lastSeq : null,
          pending: b ? b.pendingCount : 0, queued: b ? b.queuedCount : 0,
        };
      },
      announce,
      onLiveChange: () => this.artists.render(),
    });
    this.artists = new ArtistsPanel(doc, { onJump: (x, y) => this.jumpTo(x, y), me: () => this.username, stale: () => sync.phase !== 'live' });
    this.tools = new Tools(doc, { storage: this.storage, prefs: this.prefs, canvas: this.canvas, onChange: redraw });
    this.painter = new Painter({ board, tools: this.tools, pump: () => this.session.pacer.pump(), warn, announce });
    this.controls = setupControls(doc, {
      zoomStep: (d) => this.view.zoomStep(d),
      fit: () => this.view.fit(),
      retryNow: () => conn.retryNow(),
      commitName: (rewrite) => this.commitName(rewrite),
      exportPng: (s) => this.board && exportPng(doc, this.renderer, this.board, s, (t, k) => this.toaster.show(t, k)),
    });
    /** @type {HTMLInputElement} */ (this.$('username')).value = this.username;
    new ResizeObserver(() => this.onResize()).observe(this.stage);
    for (const type of ['focus', 'blur']) {
      this.canvas.addEventListener(type, () => {
        this.hoverCard.update();
        redraw();
      });
    }
    this.input = attachInput(this.canvas, {
      getView: () => this.view.view,
      setView: (v) => this.view.set(v),
      zoomLimits: () => this.view.limits(),
      zoomBy: (f, sx, sy) => this.view.zoomBy(f, sx, sy),
      toolFor: (e) => (this.tools.spaceHeld ? 'pan' : e.altKey ? 'picker' : this.tools.tool),
      beginStroke: () => { this.guide.dismiss(); this.painter.begin(); },
      strokeTo: (cx, cy) => this.painter.to(cx, cy),
      endStroke: () => {
        this.painter.end();
        // The card hides during a stroke; it comes back with what the stroke did.
        this.hoverCard.update(false);
      },
      pickAt: (cx, cy) => this.painter.pickAt(cx, cy),
      hoverAt: (sx, sy) => this.hoverCard.pointerAt(sx, sy),
      cursorAt: (cx, cy) => this.session.pointer(cx, cy),
      setDragging: (d) => { this.canvas.dataset.dragging = String(d); },
    });
    attachKeyboard(win, {
      canvas: this.canvas, blocked: () => this.controls.helpOpen(), run: (s) => this.shortcut(s), space: (held) => this.tools.holdSpace(held),
    });
    watchLifecycle(win, {
      conn, hidden: () => this.session.pointer(null, null), stopped: () => this.session.closed(), resized: () => this.onResize(),
    });
    installTestHook(win, {
      board, connected: () => this.session.live, connection: () => this.statusBar.state,
      clientId: () => this.session.clientId, username: () => this.username, users: () => this.artists.users,
      activeUsers: () => this.artists.activeUsers, cursors: () => this.session.cursors.list(), tool: () => this.tools.tool,
      color: () => this.tools.color, grid: () => this.tools.grid, view: () => this.view.view, canvas: this.canvas,
      slug: () => this.ref.slug, canvasName: () => this.page.name, catchUps: () => this.session.sync.catchUps,
    });
    this.page = new CanvasPage(doc, {
      ref: this.ref, owned: this.owned, origin: win.location.origin, info: urls.info, apiBase: this.endpoints.apiBase,
      storage: this.storage, fetch: (url, init) => fetchAnswered(url, init, PIXEL_INFO_ANSWER_MS),
      where: () => (this.board ? { view: this.view.view, stage: this.stageSize(), canvas: this.board } : null),
      toast: (t, k) => this.toaster.show(t, k),
      onInvite: (invite) => this.setInvite(invite),
    });
    this.startGuides(stageSize, redraw);
    this.renderer.fitToElement();
    this.updateStatus();
    setInterval(() => this.tick(), 1000);
    if (this.ref.main) {
      this.session.start();
      return;
    }
    // Another canvas: its name first, and a page that says so when there is
    // no such canvas (or it is private and this link has no valid invite).
    this.page.load().then((found) => {
      if (found === 'missing') this.page.missing();
      else this.session.start();
    });
  }

  /**
   * The canvas's invite changed (made private, public, or a new one): the
   * next connection, snapshot and pixel lookup carry the new one.
   * @param {string|null} invite
   */
  setInvite(invite) {
    this.owned = { ...this.owned, invite };
    this.canvasUrls = canvasEndpoints(this.endpoints, { slug: this.ref.slug || 'main', main: this.ref.main }, invite);
  }

  // ---------------------------------------------------------------- sync and messages

  /** @param {Board} b @param {number} dropped */
  onBoard(b, dropped) {
    if (dropped) this.toaster.show(`The canvas changed size; ${dropped} unsent ${plural(dropped, 'pixel', 'pixels')} dropped`, 'error');
    this.renderer.setSize(b.width, b.height);
    this.statusBar.setSize(b.width, b.height);
    this.canvas.setAttribute('aria-label',
      `Pixel canvas, ${b.width} by ${b.height}. Click or tap to paint; arrow keys move the keyboard cursor, Enter paints.`);
  }

  /** @param {boolean} sizeChanged */
  onSnapshot(sizeChanged) {
    this.renderer.loadFrom(this.board);
    this.pixelInfo.forget();
    this.$('loading').hidden = true;
    if (sizeChanged) this.view.fit();
    if (sizeChanged && this.startAt) {
      // A link to a spot (?x=&y=&zoom=): open there, once.
      this.view.set(viewAt(this.startAt, this.view.view.scale, this.stageSize()));
      this.startAt = null;
    }
    this.statusBar.counters();
    this.hoverCard.update();
    this.requestRender();
  }

  /** @param {import('./lib/protocol.js').PixelEvent} m @param {boolean} theirs someone else's, live: a ring, an activity entry */
  onPixel(m, theirs) {
    // The echo of our own write (only the sender gets its id) is ours: the
    // card says "You", as the activity feed does, not the name on the wire.
    const mine = !theirs && m.id !== null;
    this.pixelInfo.record(this.board.index(m.x, m.y), mine ? { ...m, username: 'You' } : m);
    if (theirs) {
      this.renderer.pulse(m.x, m.y, hexToInt(m.color), performance.now());
      this.artists.painted(m.username, m.x, m.y, m.color);
    } else if (mine) {
      this.artists.paintedByMe(m.x, m.y, m.color);
    }
    const t = this.hoverCard.target();
    if (t && t.x === m.x && t.y === m.y) this.hoverCard.update();
  }

  onReset() {
    this.renderer.loadFrom(this.board);
    this.pixelInfo.forget();
    this.artists.activity.clear();
    this.hoverCard.update();
    this.requestRender();
    this.toaster.show('The canvas was reset by an operator');
  }

  /** Presence and cursors. @param {import('./lib/protocol.js').ServerMessage} m */
  onMessage(m) {
    const { roster } = this;
    if (m.type === 'presence') {
      if (roster.apply(m)) this.artists.setPresence(roster.users, roster.activeUsers);
    } else if (m.type === 'stats') {
      roster.setActiveUsers(m.activeUsers);
      this.artists.setPresence(roster.users, roster.activeUsers);
    } else if (m.type === 'user_list') {
      roster.setList(m.users);
      this.artists.setPresence(roster.users, roster.activeUsers);
    } else if (m.type === 'cursors') {
      this.session.cursors.update(m, performance.now());
      this.requestRender();
    }
  }

  /** Once a second: undo writes nobody answered, recover speed, refresh labels. */
  tick() {
    const now = Date.now();
    this.session.tick(now);
    this.artists.tick(now);
    if (!this.board && this.session.sync.loadError) this.updateStatus();
    else this.statusBar.counters();
    if (this.hoverCard.target()) this.hoverCard.update();
  }

  // ---------------------------------------------------------------- input

  /** @param {boolean} rewriteField the field shows the cleaned name too */
  commitName(rewriteField) {
    const field = /** @type {HTMLInputElement} */ (this.$('username'));
    const clean = sanitizeUsername(field.value);
    if (rewriteField && field.value !== clean) field.value = clean;
    if (clean === this.username) return;
    this.username = clean;
    saveUsername(this.storage, clean);
    this.session.rename(clean);
    this.artists.render();
  }

  /** An activity entry was clicked: show that pixel and put the keyboard cursor there. @param {number} x @param {number} y */
  jumpTo(x, y) {
    if (!this.board) return;
    this.view.jumpTo(x, y);
    this.keyCursor.pos = { x, y };
    this.overlay.markPixel(x, y);
    this.requestRender();
  }

  /**
   * What helps a person find their way: the first-visit guide, the pixel
   * budget on the colour, the minimap, the template and the layer it and
   * the jump marker are drawn on.
   * @param {() => {w: number, h: number}} stageSize
   * @param {() => void} redraw
   */
  startGuides(stageSize, redraw) {
    const { doc, win } = this;
    const touch = !!(win.matchMedia && win.matchMedia('(pointer: coarse)').matches);
    this.guide = new Guide(doc, { stage: this.stage, storage: this.storage, touch, openHelp: () => this.controls.openHelp() });
    this.overlay = new OverlayLayer(doc, { canvas: this.canvas, stageSize, redraw });
    this.minimap = new Minimap(doc, {
      stage: this.stage, stageSize, canvasSize: () => this.board, view: () => this.view.view,
      setView: (v) => this.view.set(v), picture: () => (this.board ? this.renderer.off : null),
    });
    this.quota = new QuotaRing(doc, {
      host: /** @type {HTMLElement} */ (doc.querySelector('.current')),
      budget: () => {
        const b = this.board;
        const k = this.session.pacer.bucket;
        return b ? { tokens: k.tokens, at: k.at, rate: k.rate, burst: k.burst, queued: b.queuedCount } : null;
      },
    });
    this.template = new TemplatePanel(doc, {
      storage: this.storage, stage: this.stage, slug: () => this.ref.slug || 'main', overlay: this.overlay, board: () => this.board,
      view: () => this.view.view, stageSize, jumpTo: (x, y) => this.jumpTo(x, y), setColor: (hex) => this.tools.setColor(hex),
      fetch: (url, init) => fetchAnswered(String(url), init, PIXEL_INFO_ANSWER_MS),
    });
    this.template.restore();
    this.lastSeen = new LastSeen(doc, {
      storage: this.storage, slug: () => this.ref.slug || 'main', host: this.$('loading'), board: () => this.board,
      picture: () => (this.board ? this.renderer.off : null),
    });
  }

  /** @param {import('./lib/shortcuts.js').Shortcut} s @returns {boolean|void} false: not done */
  shortcut(s) {
    const { tools, view } = this;
    switch (s.type) {
      case 'tool': tools.setTool(s.tool); break;
      case 'togglePan': tools.togglePan(); break;
      case 'zoomStep': view.zoomStep(s.dir); break;
      case 'fit': view.fit(); break;
      case 'zoom100': view.zoom100(); break;
      case 'grid': tools.toggleGrid(); break;
      case 'swapColor': tools.swapColor(); break;
      case 'cyclePalette': tools.cyclePalette(s.dir); break;
      case 'help': this.controls.openHelp(); break;
      case 'escape': this.input.cancel(); this.controls.escape(); break;
      case 'enter': {
        const p = this.keyCursor.pos;
        if (!p || !this.board) return false;
        this.keyCursor.quiet();
        if (tools.effective() === 'picker') this.painter.pickAt(p.x, p.y);
        else this.painter.paintAt(p.x, p.y);
        this.hoverCard.update();
        break;
      }
      case 'arrow':
        if (s.onCanvas && this.board) this.keyCursor.move(s.dx, s.dy);
        else view.set(arrowPan(view.view, s.dx, s.dy));
        break;
      default: return false;
    }
  }

  // ---------------------------------------------------------------- drawing the page

  onResize() {
    this.renderer.fitToElement();
    this.view.resized();
    this.requestRender();
  }

  requestRender() {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.frame());
  }

  frame() {
    this.raf = 0;
    const b = this.board;
    if (!b) return;
    const now = performance.now();
    const view = this.view.view;
    const hover = this.hoverCard.hover;
    this.renderer.draw(view, {
      grid: this.tools.grid,
      hover,
      preview: this.tools.effective() === 'brush' && hover && !this.painter.stroke ? hexToInt(this.tools.color) : null,
      keyCursor: this.keyCursor.active,
      colorAt: (x, y) => b.displayedRGB(b.index(x, y)),
      pending: b.byPixel.keys(),
      now,
    });
    const moving = this.session.cursors.step(now);
    const { w, h } = this.stageSize();
    this.cursorLayer.render(this.session.cursors.list(), view, w, h, now);
    const marking = this.overlay.draw(view, now);
    this.minimap.draw();
    if (moving || marking || this.renderer.animating) this.requestRender();
  }

  stageSize() {
    return { w: this.renderer.cssW || this.stage.clientWidth, h: this.renderer.cssH || this.stage.clientHeight };
  }

  /** The connection pill, the stale banner, the counters. */
  updateStatus() {
    this.statusBar.update();
    if (this.lastSeen) this.lastSeen.update(!!this.board, !!this.session.sync.loadError);
  }

  /** Say something through the polite live region (#announcer). @param {string} text */
  announce(text) {
    const a = this.$('announcer');
    // The same words again (painting the same pixel twice) are no change to
    // the region and would be skipped: vary them invisibly.
    a.textContent = a.textContent === text ? `${text}\u00a0` : text;
  }
}
