// @ts-check
// The sync life cycle: how the client's canvas catches up with the server's
// and stays caught up.
//
//   load snapshot (seq S)
//   -> socket opens with ?since=S -> `connected` -> replay -> `resumed`
//        recovered: settle in-doubt writes from the replay, go live
//        not recovered: reload the snapshot (live events buffered meanwhile,
//        applied afterwards if newer), settle in-doubt writes, go live
//   -> on close: "down"; what the user draws stays queued; the next socket
//      resumes from the last seq and the same happens again.
//
// Epochs: a seq means something only on its timeline (the server's
// `epoch`; it changes when the server's store lost events it had sent). The
// board's epoch is the snapshot's, or the one a recovered resume named; the
// next socket resumes with it (&epoch=), and a server on another timeline
// answers recovered:false. `connected` on another timeline than the
// board's reloads at once; so does `resumed` with recovered:false, which a
// gateway also sends unasked when its store changed timeline. A snapshot
// from another timeline than the open socket's is not installed but
// loaded again after a backoff, until the two agree (a gateway notices a
// new timeline within a second or so).
//
// Falling behind: a live page whose main thread takes events slower than
// they come (lib/catchup.js measures how far behind it is) reloads the
// snapshot instead of working through the backlog: the events still
// queued are buffered like any during a load, and only those above the
// snapshot's seq are applied. It stays live meanwhile: the socket is the
// same, so its writes and their echoes keep flowing and nothing is in doubt.
//
// Two layers. `step(state, event)` is the pure core: it decides the next
// phase and lists what must be done (effects); it never touches the board,
// a timer or the network. `Sync` runs it: it owns the board, the buffer of
// events that arrive while a snapshot loads, the resume timer and the
// snapshot retry loop, with the loader, timers, clock and board factory
// injected, so the whole machine runs under `node --test` with no DOM.

import { Backoff } from './backoff.js';
import { DEFAULT_LIMITS, initialLag, newSocket, observeLag } from './catchup.js';

/** @typedef {import('./protocol.js').PixelEvent} PixelEvent */
/** @typedef {import('./protocol.js').ResetEvent} ResetEvent */

/** After `connected` with a since, `resumed` should follow; if not, reload. */
export const RESUME_WAIT_MS = 8000;
/** Live pixel events kept while a snapshot reload is in flight. */
export const MAX_BUFFERED = 250000;

/** @typedef {'loading' | 'syncing' | 'live' | 'down'} Phase */

/**
 * @typedef {object} SyncState
 * @property {Phase} phase loading: no socket yet; syncing: open, catching up; live: caught up, writes flow; down: closed
 * @property {number} gen bumped on every socket open: late timers and loads of an older socket are ignored
 * @property {boolean} open the socket is open
 * @property {number|null} sentSince the ?since= the current socket was opened with
 * @property {string|null} epoch the timeline the board's seq is on (null: not known, a server without epochs)
 * @property {string|null} streamEpoch the timeline the open socket delivers on, as it said last
 * @property {boolean} reloading a snapshot load is in flight (live events are buffered)
 * @property {number|null} liveAfterLoad the socket generation that goes live once the load finishes
 * @property {{width: number, height: number}|null} size the board's size; null before the first snapshot
 * @property {boolean} resumeArmed the resume timer is running
 * @property {boolean} everLive has been live at least once (the page says "Reconnecting", not "Connecting")
 * @property {string|null} loadError why the last snapshot load failed; null once one worked
 * @property {number} loadRetryAt when the failed load is tried again (ms, the injected clock)
 */

/**
 * @typedef {{type: 'load'}
 *   | {type: 'install'}
 *   | {type: 'buffer', event: PixelEvent | ResetEvent}
 *   | {type: 'apply', event: PixelEvent, quiet: boolean}
 *   | {type: 'reset', event: ResetEvent}
 *   | {type: 'armResume', gen: number}
 *   | {type: 'cancelResume'}
 *   | {type: 'advanceSeq', seq: number}
 *   | {type: 'retryLoad'}
 *   | {type: 'dropBuffer'}
 *   | {type: 'goLive', recovered: boolean}} Effect
 */

/**
 * @typedef {{type: 'start'}
 *   | {type: 'dial', since: number|null}
 *   | {type: 'open'}
 *   | {type: 'close'}
 *   | {type: 'loadFailed', error: string, retryAt: number}
 *   | {type: 'loaded', width: number, height: number, epoch?: string|null}
 *   | {type: 'connected', seq: number|null, epoch?: string|null, width?: number|null, height?: number|null}
 *   | {type: 'resumed', seq: number|null, recovered: boolean, epoch?: string|null}
 *   | {type: 'resumeTimeout', gen: number}
 *   | {type: 'pixel', event: PixelEvent}
 *   | {type: 'canvasReset', event: ResetEvent}
 *   | {type: 'fallBehind'}} SyncEvent
 */

/** @returns {SyncState} */
export function initialState() {
  return {
    phase: 'loading', gen: 0, open: false, sentSince: null, epoch: null, streamEpoch: null, reloading: false, liveAfterLoad: null,
    size: null, resumeArmed: false, everLive: false, loadError: null, loadRetryAt: 0,
  };
}

/**
 * Reload the snapshot for the current socket, then go live on it.
 * @param {SyncState} s
 * @param {Effect[]} fx
 * @returns {SyncState}
 */
function syncBySnapshot(s, fx) {
  if (!s.reloading) fx.push({ type: 'load' });
  return { ...s, phase: 'syncing', reloading: true, liveAfterLoad: s.gen };
}

/**
 * @param {SyncState} s
 * @param {boolean} recovered
 * @param {Effect[]} fx
 * @returns {SyncState}
 */
function goLive(s, recovered, fx) {
  fx.push({ type: 'goLive', recovered });
  return { ...s, phase: 'live', everLive: true };
}

/** The message of a snapshot refused for being on another timeline than the socket's. */
export const OTHER_TIMELINE = 'the snapshot is on another timeline than the live updates; loading it again';

/**
 * The pure core: the next state and the effects to run, in order.
 * @param {SyncState} s
 * @param {SyncEvent} ev
 * @returns {{state: SyncState, effects: Effect[]}}
 */
export function step(s, ev) {
  /** @type {Effect[]} */
  const fx = [];
  let n = s;
  switch (ev.type) {
    case 'start':
      if (!s.reloading) {
        fx.push({ type: 'load' });
        n = { ...s, reloading: true };
      }
      break;
    case 'dial':
      n = { ...s, sentSince: ev.since };
      break;
    case 'open':
      n = { ...s, gen: s.gen + 1, open: true, phase: 'syncing', streamEpoch: null };
      break;
    case 'close':
      if (s.resumeArmed) fx.push({ type: 'cancelResume' });
      n = { ...s, open: false, resumeArmed: false, phase: s.size ? 'down' : s.phase };
      break;
    case 'loadFailed':
      n = { ...s, loadError: ev.error, loadRetryAt: ev.retryAt };
      break;
    case 'loaded': {
      const epoch = ev.epoch ?? null;
      if (s.open && s.streamEpoch !== null && epoch !== null && epoch !== s.streamEpoch) {
        // Installed, its seq would be taken for one of the socket's
        // timeline. One of the two is behind the other (a gateway that has
        // not noticed the store's new timeline yet, or the reverse): load
        // again until they agree; the gateway says so (`resumed`) when it moves.
        fx.push({ type: 'retryLoad' });
        n = { ...s, loadError: OTHER_TIMELINE };
        break;
      }
      fx.push({ type: 'install' });
      n = { ...s, reloading: false, loadError: null, epoch, size: { width: ev.width, height: ev.height }, liveAfterLoad: null };
      // Only the socket that asked for the snapshot, and only while it is open.
      if (s.liveAfterLoad !== null && s.liveAfterLoad === s.gen && s.open) n = goLive(n, false, fx);
      break;
    }
    case 'connected': {
      const size = s.size;
      const sizeMismatch = !!(size && ev.width && ev.height && (ev.width !== size.width || ev.height !== size.height));
      // The server's canvas is behind what we have seen: its store lost data
      // or was replaced, and replaying "after our seq" would hide that (worse,
      // our per-pixel seqs would then drop its new events). A gateway merely
      // trailing the store looks the same; that costs one extra snapshot,
      // never a wrong canvas.
      const wentBack = ev.seq !== null && s.sentSince !== null && ev.seq < s.sentSince;
      // Another timeline: our seqs name other events there (the server
      // would answer the resume with recovered:false anyway).
      const streamEpoch = ev.epoch ?? null;
      const otherTimeline = streamEpoch !== null && s.epoch !== null && streamEpoch !== s.epoch;
      const withStream = { ...s, streamEpoch };
      // What was buffered for a load came from the old timeline.
      if (otherTimeline) fx.push({ type: 'dropBuffer' });
      // A v1 server (no seq) cannot resume, and without a since there is
      // nothing to resume from: the snapshot is the only way to be sure.
      if (sizeMismatch || wentBack || otherTimeline || ev.seq === null || s.sentSince === null) {
        n = syncBySnapshot(withStream, fx);
      } else {
        fx.push({ type: 'armResume', gen: s.gen });
        n = { ...withStream, resumeArmed: true };
      }
      break;
    }
    case 'resumeTimeout':
      if (ev.gen === s.gen && s.phase === 'syncing') n = syncBySnapshot({ ...s, resumeArmed: false }, fx);
      else n = { ...s, resumeArmed: ev.gen === s.gen ? false : s.resumeArmed };
      break;
    case 'resumed':
      if (s.resumeArmed) fx.push({ type: 'cancelResume' });
      // The gateway moved to another timeline: what it sent before is not
      // on it, buffered events included.
      if (ev.epoch != null && s.streamEpoch !== null && ev.epoch !== s.streamEpoch) fx.push({ type: 'dropBuffer' });
      n = { ...s, resumeArmed: false, streamEpoch: ev.epoch ?? s.streamEpoch };
      // A replay that completes while a snapshot is loading still waits for
      // the snapshot: the snapshot replaces what the replay applied.
      if (ev.recovered && !s.reloading) {
        if (ev.seq !== null) fx.push({ type: 'advanceSeq', seq: ev.seq });
        n = goLive({ ...n, epoch: ev.epoch ?? s.epoch }, true, fx);
      } else {
        n = syncBySnapshot(n, fx);
      }
      break;
    case 'pixel':
      if (s.reloading) fx.push({ type: 'buffer', event: ev.event });
      else if (s.size) fx.push({ type: 'apply', event: ev.event, quiet: s.phase !== 'live' });
      break;
    case 'canvasReset':
      if (s.reloading) fx.push({ type: 'buffer', event: ev.event });
      else if (s.size) fx.push({ type: 'reset', event: ev.event });
      break;
    case 'fallBehind':
      // Only a live page: while syncing, a snapshot or a replay is already
      // how it catches up, and a load in flight will do. No liveAfterLoad:
      // it never stopped being live, so there is nothing to reconcile.
      if (s.phase === 'live' && s.open && !s.reloading && s.size) {
        fx.push({ type: 'load' });
        n = { ...s, reloading: true };
      }
      break;
    default:
      throw new Error(`sync: unknown event ${JSON.stringify(/** @type {any} */ (ev).type)}`);
  }
  return { state: n, effects: fx };
}

/**
 * What a snapshot load yields.
 * @typedef {object} Snapshot
 * @property {number} width
 * @property {number} height
 * @property {number|null} seq the last event it includes; null from a v1 server
 * @property {string|null} [epoch] the timeline seq is on; null (or absent) from a server without epochs
 * @property {Uint8Array} rgb packed RGB, 3 bytes per pixel, row-major
 */

/**
 * The board as the sync machine uses it (lib/board.js's Board).
 * @typedef {import('./board.js').Board} Board
 */

/**
 * @typedef {object} SyncHooks
 * @property {(board: Board, dropped: number) => void} [onBoard] a board of a new size replaced the old one (dropped: unsent writes lost); before its snapshot is loaded
 * @property {(board: Board, sizeChanged: boolean) => void} [onSnapshot] a snapshot and the events buffered meanwhile are in the board
 * @property {(event: PixelEvent, result: {applied: boolean, write: object|null}, quiet: boolean) => void} [onPixel] a live pixel event was applied (quiet: not live yet, or from the buffer)
 * @property {(event: ResetEvent) => void} [onReset] an operator reset the canvas (applied live, not from the buffer)
 * @property {(result: {settled: number, requeued: number, rolledBack: number}, recovered: boolean) => void} [onLive] caught up; in-doubt writes settled
 * @property {() => void} [onChange] the phase or the load error changed
 */

/**
 * A loader's answer must be a snapshot the board can hold; anything else is a
 * failed load (retried), not a crash.
 * @param {Snapshot} snap
 * @returns {Snapshot}
 */
export function checkSnapshot(snap) {
  if (!snap || !Number.isSafeInteger(snap.width) || !Number.isSafeInteger(snap.height) || snap.width <= 0 || snap.height <= 0) {
    throw new Error('the snapshot has a bad size');
  }
  if (!snap.rgb || snap.rgb.length !== snap.width * snap.height * 3) {
    throw new Error(`the snapshot has ${snap.rgb ? snap.rgb.length : 0} bytes of colour, want ${snap.width * snap.height * 3}`);
  }
  if (snap.seq !== null && !(Number.isSafeInteger(snap.seq) && snap.seq >= 0)) throw new Error('the snapshot has a bad seq');
  if (snap.epoch != null && typeof snap.epoch !== 'string') throw new Error('the snapshot has a bad epoch');
  return snap;
}

export class Sync {
  /**
   * @param {object} o
   * @param {() => Promise<Snapshot>} o.loadSnapshot one attempt; rejects on failure
   * @param {(width: number, height: number) => Board} o.createBoard
   * @param {{setTimeout: (f: () => void, ms: number) => any, clearTimeout: (t: any) => void}} [o.timers]
   * @param {() => number} [o.now]
   * @param {{next(): number, reset(): void}} [o.backoff] between failed snapshot loads
   * @param {number} [o.resumeWaitMs]
   * @param {number} [o.maxBuffered]
   * @param {() => number} [o.clock] monotonic ms on the scale of the server's timestamps, for the lag (lib/catchup.js)
   * @param {import('./catchup.js').LagLimits} [o.lagLimits]
   * @param {SyncHooks} [o.hooks]
   */
  constructor(o) {
    if (!o || typeof o.loadSnapshot !== 'function' || typeof o.createBoard !== 'function') {
      throw new TypeError('Sync needs loadSnapshot and createBoard functions');
    }
    this.loader = o.loadSnapshot;
    this.createBoard = o.createBoard;
    this.timers = o.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.now = o.now || (() => Date.now());
    this.backoff = o.backoff || new Backoff({ baseMs: 500, maxMs: 5000 });
    this.resumeWaitMs = o.resumeWaitMs ?? RESUME_WAIT_MS;
    this.maxBuffered = o.maxBuffered ?? MAX_BUFFERED;
    this.hooks = o.hooks || {};
    this.clock = o.clock || (() => performance.timeOrigin + performance.now());
    this.lagLimits = o.lagLimits || DEFAULT_LIMITS;
    this.lag = initialLag();
    /** Snapshot reloads begun because the page fell behind (the test hook shows it). */
    this.catchUps = 0;
    this.state = initialState();
    /** @type {Board|null} */
    this.board = null;
    /** Live events received while a snapshot loads. @type {(PixelEvent | ResetEvent)[]} */
    this.buffer = [];
    /** @type {Snapshot|null} the snapshot the next `install` puts in */
    this.pending = null;
    this.resumeTimer = null;
    this.retryTimer = null;
    /** Callers of whenLoaded() waiting for the load in flight. @type {(() => void)[]} */
    this.waiters = [];
  }

  get phase() { return this.state.phase; }
  get live() { return this.state.phase === 'live' && this.state.open; }
  get everLive() { return this.state.everLive; }
  get loadError() { return this.state.loadError; }
  get loadRetryAt() { return this.state.loadRetryAt; }
  get loading() { return this.state.reloading; }
  /** The timeline the board's seq is on, for the next socket's URL (null: unknown). */
  get epoch() { return this.state.epoch; }

  /** Load the first snapshot. Resolves once the board has it. */
  start() {
    this.dispatch({ type: 'start' });
    return this.whenLoaded();
  }

  /** Resolves when the load in flight (if any) has been installed. */
  whenLoaded() {
    if (!this.state.reloading) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(() => resolve(undefined));
    });
  }

  /** The seq to resume from, for the next socket's URL (null: none yet). */
  dial() {
    const since = this.board ? this.board.lastSeq : null;
    this.dispatch({ type: 'dial', since });
    return since;
  }

  opened() {
    this.lag = newSocket(this.lag);
    this.dispatch({ type: 'open' });
  }

  closed() { this.dispatch({ type: 'close' }); }

  /**
   * A decoded server message. Returns true when it was about sync (the
   * caller handles the rest: presence, cursors, errors).
   * @param {import('./protocol.js').ServerMessage} m
   */
  handle(m) {
    if (!m) return false;
    switch (m.type) {
      case 'connected':
        this.dispatch({ type: 'connected', seq: m.seq ?? null, epoch: m.epoch ?? null, width: m.width, height: m.height });
        return true;
      case 'resumed':
        this.dispatch({ type: 'resumed', seq: m.seq ?? null, recovered: m.recovered === true, epoch: m.epoch ?? null });
        return true;
      case 'pixel_updated':
        this.watchLag(m.timestamp);
        this.dispatch({ type: 'pixel', event: m });
        return true;
      case 'canvas_reset':
        this.watchLag(m.timestamp);
        this.dispatch({ type: 'canvasReset', event: m });
        return true;
      default:
        return false;
    }
  }

  /**
   * A live event was taken from the socket's queue: how late? Too late and
   * the snapshot is reloaded before this event is handled (it is buffered).
   * Replays and buffered loads are history, not lag: only a live page
   * with no load in flight measures.
   * @param {number|null} timestamp
   */
  watchLag(timestamp) {
    const s = this.state;
    if (s.phase !== 'live' || !s.open || s.reloading) return;
    const r = observeLag(this.lag, this.clock(), timestamp, this.lagLimits);
    this.lag = r.state;
    if (!r.catchUp) return;
    this.catchUps++;
    this.dispatch({ type: 'fallBehind' });
  }

  /** @param {SyncEvent} ev */
  dispatch(ev) {
    const before = this.state;
    const { state, effects } = step(before, ev);
    this.state = state;
    for (const e of effects) this.run(e);
    if (state.phase !== before.phase || state.loadError !== before.loadError || state.loadRetryAt !== before.loadRetryAt) {
      this.hooks.onChange?.();
    }
  }

  /** @param {Effect} e */
  run(e) {
    switch (e.type) {
      case 'load':
        this.buffer = [];
        this.backoff.reset();
        this.attempt();
        break;
      case 'install':
        this.install();
        break;
      case 'buffer':
        // A reset is never dropped: without it the pixels before it would stay.
        if (e.event.type === 'canvas_reset' || this.buffer.length < this.maxBuffered) this.buffer.push(e.event);
        break;
      case 'apply':
        this.hooks.onPixel?.(e.event, this.board.applyPixel(e.event), e.quiet);
        break;
      case 'reset':
        this.board.reset(e.event.seq ?? null);
        this.hooks.onReset?.(e.event);
        break;
      case 'armResume': {
        this.timers.clearTimeout(this.resumeTimer);
        const gen = e.gen;
        this.resumeTimer = this.timers.setTimeout(() => {
          this.resumeTimer = null;
          this.dispatch({ type: 'resumeTimeout', gen });
        }, this.resumeWaitMs);
        break;
      }
      case 'cancelResume':
        this.timers.clearTimeout(this.resumeTimer);
        this.resumeTimer = null;
        break;
      case 'advanceSeq':
        this.board.lastSeq = Math.max(this.board.lastSeq ?? 0, e.seq);
        break;
      case 'retryLoad':
        this.retryLater(OTHER_TIMELINE);
        break;
      case 'dropBuffer':
        this.buffer = [];
        break;
      case 'goLive': {
        const r = this.board.reconcile(e.recovered);
        this.hooks.onLive?.(r, e.recovered);
        break;
      }
      default:
        throw new Error(`sync: unknown effect ${JSON.stringify(/** @type {any} */ (e).type)}`);
    }
  }

  /** One snapshot load; on failure, another after a backoff (never a page stuck loading). */
  attempt() {
    this.loader().then(checkSnapshot).then((snap) => {
      this.pending = snap;
      this.dispatch({ type: 'loaded', width: snap.width, height: snap.height, epoch: snap.epoch ?? null });
      if (this.state.reloading) return; // refused (another timeline): retried
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }, (err) => this.retryLater(err && err.message ? err.message : String(err)));
  }

  /**
   * Another attempt after a backoff.
   * @param {string} error why the last one did not do
   */
  retryLater(error) {
    const wait = this.backoff.next();
    this.dispatch({ type: 'loadFailed', error, retryAt: this.now() + wait });
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, wait);
  }

  /** Put the loaded snapshot in the board, then the events buffered while it loaded. */
  install() {
    const snap = this.pending;
    this.pending = null;
    let sizeChanged = false;
    if (!this.board || this.board.width !== snap.width || this.board.height !== snap.height) {
      sizeChanged = true;
      const dropped = this.board ? this.board.dropAll() : 0;
      this.board = this.createBoard(snap.width, snap.height);
      this.hooks.onBoard?.(this.board, dropped);
    }
    const board = this.board;
    board.loadSnapshot(snap.rgb, snap.seq);
    const buffered = this.buffer;
    this.buffer = [];
    for (const m of buffered) {
      if (m.type === 'canvas_reset') {
        // Only a reset after the snapshot: an older one is already in it.
        if (m.seq == null || snap.seq === null || m.seq > snap.seq) board.reset(m.seq ?? null);
      } else {
        // Pixels at or below the snapshot's seq are in it already: the
        // board's last-write-wins by seq drops them.
        this.hooks.onPixel?.(m, board.applyPixel(m), true);
      }
    }
    this.hooks.onSnapshot?.(board, sizeChanged);
  }
}
