// @ts-check
// The client's session with the server: one Connection (WebSocket with
// reconnects), the Sync machine on top of it, our writes going out (pacer,
// outbox), our cursor for the others, and the routing of each decoded
// message to whoever handles it. No DOM: the page hears of what happened
// through hooks. The WebSocket constructor and the snapshot loader are
// injected.

import { Backoff } from './backoff.js';
import { Board } from './board.js';
import { Connection } from './connection.js';
import { RemoteCursors } from './cursors.js';
import { withSince } from './endpoints.js';
import { Outbox } from './outbox.js';
import { OwnCursor } from './owncursor.js';
import { decodeFrame, encodePixelUpdate, encodeSetUsername } from './protocol.js';
import { Sync } from './sync.js';
import { WritePacer } from './writes.js';

/**
 * @typedef {object} SessionHooks
 * @property {(board: Board, dropped: number) => void} onBoard a board of a new size (see Sync)
 * @property {(board: Board, sizeChanged: boolean) => void} onSnapshot a snapshot is in the board
 * @property {(m: import('./protocol.js').PixelEvent, theirs: boolean) => void} onPixel a pixel event changed the board (theirs: someone else's, live)
 * @property {() => void} onReset an operator reset the canvas
 * @property {() => void} onStatus the connection or sync state changed
 * @property {() => void} onCounters the pending writes changed
 * @property {() => void} onClosed the socket closed (others' cursors are gone)
 * @property {(m: import('./protocol.js').ServerMessage) => void} onOther presence, cursors: messages for the page
 * @property {(text: string) => void} warn something the user should be told
 */

export class Session {
  /**
   * @param {object} o
   * @param {string | (() => string)} o.wsUrl a function is asked on every attempt (a canvas's invite can change)
   * @param {new (url: string, protocols?: string | string[]) => WebSocket} o.WebSocketImpl
   * @param {() => number} [o.random] in [0, 1): the reconnect jitter after a 1012 (tests pin it)
   * @param {() => Promise<import('./sync.js').Snapshot>} o.loadSnapshot
   * @param {string} o.idPrefix makes write ids unique across page loads and tabs
   * @param {(x: number, y: number, rgb: number) => void} o.onPixelShown the displayed colour of a pixel changed
   * @param {() => string} o.username
   * @param {() => number} [o.clock] the lag's clock (lib/catchup.js); tests inject one
   * @param {SessionHooks} o.hooks
   */
  constructor(o) {
    const hooks = o.hooks;
    this.hooks = hooks;
    this.username = o.username;
    /** @type {string|null} */
    this.clientId = null;
    this.cursors = new RemoteCursors();
    this.countersDirty = false;
    this.sync = new Sync({
      loadSnapshot: o.loadSnapshot,
      createBoard: (w, h) => new Board(w, h, { idPrefix: o.idPrefix, onPixel: o.onPixelShown }),
      clock: o.clock,
      hooks: {
        onBoard: hooks.onBoard,
        onSnapshot: hooks.onSnapshot,
        onPixel: (m, r, quiet) => this.pixel(m, r, quiet),
        onReset: hooks.onReset,
        onLive: (r) => this.outbox.settled(r.rolledBack),
        onChange: hooks.onStatus,
      },
    });
    const conn = new Connection({
      url: () => withSince(typeof o.wsUrl === 'function' ? o.wsUrl() : o.wsUrl, this.sync.dial(), this.sync.epoch),
      WebSocketImpl: o.WebSocketImpl,
      random: o.random,
      backoff: new Backoff({ baseMs: 100, maxMs: 2000 }),
      onState: hooks.onStatus,
      onOpen: () => this.opened(),
      onClose: () => this.closed(),
      onMessage: (text) => this.frame(text),
    });
    this.conn = conn;
    const board = () => this.sync.board;
    this.pacer = new WritePacer({
      board,
      ready: () => this.live,
      send: (w) => conn.send(encodePixelUpdate({ x: w.x, y: w.y, color: w.hex, id: w.id })),
      bufferedAmount: () => conn.bufferedAmount,
      onPump: hooks.onCounters,
    });
    this.outbox = new Outbox({ board, pacer: this.pacer, warn: hooks.warn, onChange: hooks.onCounters });
    this.ownCursor = new OwnCursor({ send: (t) => conn.send(t), live: () => this.live, bufferedAmount: () => conn.bufferedAmount });
  }

  get board() { return this.sync.board; }

  /** Open and caught up: writes and cursors go out. */
  get live() { return this.sync.live && this.conn.state === 'open'; }

  /** Load the snapshot, then connect. */
  start() {
    this.sync.start().then(() => this.conn.start());
  }

  /** Our name changed: tell the server if it can hear it. @param {string} name */
  rename(name) {
    if (this.conn.state === 'open') this.conn.send(encodeSetUsername(name));
  }

  /** Our pointer at canvas point (cx, cy); null: it left. @param {number|null} cx @param {number|null} cy */
  pointer(cx, cy) {
    const b = this.board;
    if (b) this.ownCursor.at(cx, cy, b.width, b.height);
  }

  /** About once a second. @param {number} now */
  tick(now) {
    // Not while a snapshot loads to catch up: the echoes of our writes are
    // waiting in its buffer, not lost.
    this.outbox.tick(now, this.sync.phase === 'live' && !this.sync.loading);
  }

  opened() {
    this.clientId = null;
    this.cursors.clear();
    this.ownCursor.reset();
    this.sync.opened();
    this.conn.send(encodeSetUsername(this.username()));
    this.hooks.onStatus();
  }

  /** The socket closed, or was stopped for the back/forward cache (stop() reports no close). */
  closed() {
    this.sync.closed();
    this.clientId = null;
    this.cursors.clear();
    this.ownCursor.gone();
    this.hooks.onClosed();
    this.hooks.onStatus();
  }

  /** @param {string} text one frame from the server */
  frame(text) {
    for (const m of decodeFrame(text).messages) {
      if (m.type === 'connected') {
        this.clientId = m.clientId;
        this.cursors.setSelf(m.clientId);
        this.pacer.serverLimit(m.pixelRate, m.pixelBurst);
      }
      if (this.sync.handle(m)) continue;
      if (m.type === 'error') {
        if (!this.outbox.error(m)) console.warn('server error', m.code, m.message);
      } else {
        this.hooks.onOther(m);
      }
    }
  }

  /**
   * @param {import('./protocol.js').PixelEvent} m
   * @param {{applied: boolean, write: object|null}} r
   * @param {boolean} quiet
   */
  pixel(m, r, quiet) {
    if (r.write && !this.countersDirty) {
      // Many echoes can arrive in one frame; update the counter once.
      this.countersDirty = true;
      queueMicrotask(() => {
        this.countersDirty = false;
        this.hooks.onCounters();
      });
    }
    if (r.applied) this.hooks.onPixel(m, r.write === null && m.id === null && !quiet);
  }
}
