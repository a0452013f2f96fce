// @ts-check
// Other people's pointers. The server sends a few position updates a second;
// drawing them where they were reported would make them jump, so each cursor
// glides towards its latest reported position every animation frame.
// No DOM access: unit-tested under node.

export class RemoteCursors {
  /**
   * @param {object} [o]
   * @param {number} [o.smoothingMs=80] time constant: after this long a cursor has covered ~63% of the way
   */
  constructor({ smoothingMs = 80 } = {}) {
    this.smoothingMs = smoothingMs;
    this.selfId = null;
    this.map = new Map();
  }

  /** Our own clientId: the server may include us, and we never draw ourselves. */
  setSelf(clientId) {
    this.selfId = clientId || null;
    if (this.selfId) this.map.delete(this.selfId);
  }

  /** Apply a decoded `cursors` message. */
  update(msg, nowMs) {
    for (const id of msg.gone || []) this.map.delete(id);
    for (const c of msg.cursors || []) {
      if (c.clientId === this.selfId) continue;
      const cur = this.map.get(c.clientId);
      if (cur) {
        cur.tx = c.x;
        cur.ty = c.y;
        cur.username = c.username;
        cur.updatedAt = nowMs;
      } else {
        this.map.set(c.clientId, { clientId: c.clientId, username: c.username, x: c.x, y: c.y, tx: c.x, ty: c.y, updatedAt: nowMs, stepAt: nowMs });
      }
    }
  }

  /**
   * Move every cursor towards its target for the time since the last step.
   * @returns {boolean} true while some cursor is still visibly moving
   */
  step(nowMs) {
    let moving = false;
    for (const c of this.map.values()) {
      const dt = Math.max(0, nowMs - c.stepAt);
      c.stepAt = nowMs;
      const k = this.smoothingMs > 0 ? 1 - Math.exp(-dt / this.smoothingMs) : 1;
      c.x += (c.tx - c.x) * k;
      c.y += (c.ty - c.y) * k;
      if (Math.abs(c.tx - c.x) < 0.01 && Math.abs(c.ty - c.y) < 0.01) {
        c.x = c.tx;
        c.y = c.ty;
      } else {
        moving = true;
      }
    }
    return moving;
  }

  /** Everyone, in a stable order. */
  list() {
    return [...this.map.values()];
  }

  get size() { return this.map.size; }

  /** Forget everyone (after a disconnect nothing we knew is current). */
  clear() {
    this.map.clear();
  }
}

/**
 * Calls fn at most once per intervalMs; the last call in a burst is never
 * lost (it runs when the interval ends), so a cursor stops where the pointer
 * stopped. Timers are injected for tests.
 */
export function throttle(fn, intervalMs, { now = () => Date.now(), setTimer = setTimeout, clearTimer = clearTimeout } = {}) {
  let last = -Infinity;
  let timer = null;
  let pending = null;
  const fire = () => {
    timer = null;
    last = now();
    const args = pending;
    pending = null;
    fn(...args);
  };
  const wrapped = (...args) => {
    pending = args;
    const wait = intervalMs - (now() - last);
    if (wait <= 0) {
      if (timer !== null) { clearTimer(timer); timer = null; }
      fire();
    } else if (timer === null) {
      timer = setTimer(fire, wait);
    }
  };
  wrapped.cancel = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
    pending = null;
  };
  return wrapped;
}
