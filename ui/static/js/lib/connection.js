// @ts-check
// One WebSocket that keeps itself alive: reconnects with backoff (at once
// after a 1012 "service restart"), gives up waiting for a handshake that
// hangs, notices a silently dead link with an application ping, and pauses
// while the browser says it is offline. It knows nothing about messages;
// the app decides what to send on open and what the frames mean.
// The WebSocket constructor and the timers are injected: tested under node.

import { Backoff } from './backoff.js';
import { SUBPROTOCOL_V2, encodePing } from './protocol.js';

/** Close code a server sends when it restarts: reconnect now, elsewhere. */
export const CLOSE_SERVICE_RESTART = 1012;

/** The longest wait before reconnecting after a 1012. */
export const RESTART_JITTER_MS = 2000;

/** A connection that stayed up this long was healthy: the next failure starts the backoff again. */
const HEALTHY_MS = 3000;

export class Connection {
  /**
   * @param {object} o
   * @param {() => string} o.url called for every attempt, so it can carry ?since=
   * @param {new (url: string, protocols?: string | string[]) => WebSocket} o.WebSocketImpl usually globalThis.WebSocket
   * @param {string[]} [o.protocols]
   * @param {Backoff} [o.backoff]
   * @param {{setTimeout: Function, clearTimeout: Function}} [o.timers]
   * @param {() => number} [o.now]
   * @param {() => number} [o.random] in [0, 1): the jitter after a 1012
   * @param {number} [o.connectTimeoutMs] a handshake that takes longer is abandoned
   * @param {number} [o.heartbeatMs] silence after which we ping; 0 disables
   * @param {number} [o.heartbeatTimeoutMs] silence after the ping after which the link is declared dead
   * @param {(state: string, conn: Connection) => void} [o.onState]
   * @param {(text: string) => void} [o.onMessage]
   * @param {() => void} [o.onOpen]
   * @param {(info: {code: number, reason: string, wasOpen: boolean}) => void} [o.onClose]
   */
  constructor(o) {
    this.urlFn = o.url;
    this.WebSocketImpl = o.WebSocketImpl;
    this.protocols = o.protocols || [SUBPROTOCOL_V2];
    this.backoff = o.backoff || new Backoff();
    this.timers = o.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.now = o.now || (() => Date.now());
    this.random = o.random || Math.random;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 8000;
    this.heartbeatMs = o.heartbeatMs ?? 25000;
    this.heartbeatTimeoutMs = o.heartbeatTimeoutMs ?? 10000;
    this.onState = o.onState || (() => {});
    this.onMessage = o.onMessage || (() => {});
    this.onOpen = o.onOpen || (() => {});
    this.onClose = o.onClose || (() => {});
    /** idle | connecting | open | waiting | offline | stopped */
    this.state = 'idle';
    this.ws = null;
    this.retryAt = null;
    this.online = true;
    this.timer = null;
    this.beat = null;
    this.openedAt = 0;
    this.lastRx = 0;
    this.pinged = false;
    this.attempts = 0;
  }

  start() {
    if (this.state === 'idle' || this.state === 'stopped') this.connect();
  }

  /** Close for good (page unload). */
  stop() {
    this.clearTimers();
    this.retryAt = null;
    if (this.ws) this.detachAndClose(1000, 'bye');
    this.setState('stopped');
  }

  /** Send a text frame; false when there is no open socket. */
  send(text) {
    if (this.state !== 'open' || !this.ws || this.ws.readyState !== 1) return false;
    try {
      this.ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Bytes queued in the socket (to avoid piling up cursor moves on a slow link). */
  get bufferedAmount() {
    return this.ws && typeof this.ws.bufferedAmount === 'number' ? this.ws.bufferedAmount : 0;
  }

  /** The browser's online/offline events. */
  setOnline(online) {
    if (online === this.online) return;
    this.online = online;
    if (this.state === 'stopped') return;
    if (!online) {
      // Whatever socket we have is about to die; waiting for it to time out
      // would show "connected" when nothing can get through.
      this.clearTimers();
      this.retryAt = null;
      if (this.ws) this.detachAndClose(4001, 'offline', true);
      this.setState('offline');
    } else if (this.state === 'offline') {
      this.backoff.reset();
      this.connect();
    }
  }

  /** Skip the remaining wait (the user clicked "retry now", or the tab came back). */
  retryNow() {
    if (this.state === 'waiting' || (this.state === 'offline' && this.online)) {
      this.clearTimers();
      this.connect();
    }
  }

  /** Drop the current socket and connect again (e.g. the app saw something it cannot trust). */
  restart() {
    if (this.state === 'stopped') return;
    if (this.ws) this.detachAndClose(4002, 'restart', true);
    else this.connect();
  }

  connect() {
    this.clearTimers();
    this.retryAt = null;
    if (!this.online) {
      this.setState('offline');
      return;
    }
    this.attempts++;
    let ws;
    try {
      ws = new this.WebSocketImpl(this.urlFn(), this.protocols);
    } catch {
      // A malformed URL throws synchronously; treat it like a failed attempt.
      this.scheduleReconnect(1006);
      return;
    }
    this.ws = ws;
    this.setState('connecting');
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.clearTimers();
      this.openedAt = this.now();
      this.lastRx = this.openedAt;
      this.pinged = false;
      this.setState('open');
      this.armHeartbeat();
      this.onOpen();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastRx = this.now();
      this.pinged = false;
      // Binary frames are not part of the protocol (browsers would hand us Blobs).
      if (typeof ev.data === 'string') this.onMessage(ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.handleClose(ev && typeof ev.code === 'number' ? ev.code : 1006, (ev && ev.reason) || '');
    };
    this.timer = this.timers.setTimeout(() => {
      if (this.ws === ws && this.state === 'connecting') this.detachAndClose(4000, 'connect timeout', true);
    }, this.connectTimeoutMs);
  }

  handleClose(code, reason) {
    const wasOpen = this.state === 'open';
    if (wasOpen && this.now() - this.openedAt >= HEALTHY_MS) this.backoff.reset();
    this.ws = null;
    this.clearTimers();
    this.onClose({ code, reason, wasOpen });
    if (this.state === 'stopped') return;
    if (!this.online) {
      this.setState('offline');
      return;
    }
    this.scheduleReconnect(code);
  }

  scheduleReconnect(code) {
    // A 1012 means this gateway is going away while the others are fine:
    // come back soon, but not all at once. Every client of a draining
    // gateway gets its 1012 within a few seconds of the others (the server
    // spreads them too, for clients without this jitter); a random wait of
    // up to RESTART_JITTER_MS more keeps them from landing on the remaining
    // gateways, each replaying its history, in the same instant.
    const delay = code === CLOSE_SERVICE_RESTART ? Math.floor(this.random() * RESTART_JITTER_MS) : this.backoff.next();
    this.retryAt = this.now() + delay;
    this.setState('waiting');
    this.timer = this.timers.setTimeout(() => this.connect(), delay);
  }

  /** Close a socket without waiting for its close event, then proceed as if it had closed. */
  detachAndClose(code, reason, reconnect = false) {
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    try {
      ws.close(code >= 4000 || code === 1000 ? code : 1000, reason);
    } catch {
      // Closing a socket that never opened can throw in some browsers.
    }
    if (reconnect) this.handleClose(code, reason);
    else this.ws = null;
  }

  armHeartbeat() {
    if (!this.heartbeatMs) return;
    const check = () => {
      if (this.state !== 'open') return;
      const idle = this.now() - this.lastRx;
      if (idle >= this.heartbeatMs + this.heartbeatTimeoutMs) {
        this.detachAndClose(4003, 'heartbeat timeout', true);
        return;
      }
      if (idle >= this.heartbeatMs && !this.pinged) {
        this.pinged = true;
        this.send(encodePing());
      }
      this.beat = this.timers.setTimeout(check, Math.min(this.heartbeatMs, this.heartbeatTimeoutMs) / 2);
    };
    this.beat = this.timers.setTimeout(check, Math.min(this.heartbeatMs, this.heartbeatTimeoutMs) / 2);
  }

  clearTimers() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    if (this.beat !== null) this.timers.clearTimeout(this.beat);
    this.timer = null;
    this.beat = null;
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.onState(s, this);
  }
}
