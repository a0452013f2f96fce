// @ts-check
// Who is online, as the server tells it. A pixel.v2 server sends `presence`
// messages: the whole list once per connection (`reset`), then only the
// names that joined and left, with how many connections each (names
// repeat: two tabs with one name are two entries), plus the totals. A v1
// server sends the whole list (`user_list`) and the count (`stats`) instead.
// Either way the page sees the same thing: the names, sorted, repeated once
// per named connection, and the count of connections.

/** @typedef {import('./protocol.js').PresenceMessage} PresenceMessage */

/**
 * Code point order, as the server sorts (Go's byte-wise order of UTF-8
 * strings); JavaScript's own `<` compares UTF-16 units, which puts an emoji
 * before U+FF5E.
 * @param {string} a @param {string} b
 */
export function codePointCompare(a, b) {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = /** @type {number} */ (x.value.codePointAt(0));
    const cy = /** @type {number} */ (y.value.codePointAt(0));
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

export class Roster {
  constructor() {
    /** name -> connections using it @type {Map<string, number>} */
    this.counts = new Map();
    this.activeUsers = 0;
    /** Whether this connection was sent the whole list yet: changes before it are not applied. */
    this.have = false;
    /** Changes after which our count of names differed from the server's (never, unless a bug). */
    this.mismatches = 0;
    /** @type {string[]|null} */
    this.list = null;
  }

  /** The names, sorted in code point order, one per named connection. @returns {string[]} */
  get users() {
    if (!this.list) {
      const names = [...this.counts.keys()].sort(codePointCompare);
      this.list = names.flatMap((n) => Array(this.counts.get(n)).fill(n));
    }
    return this.list;
  }

  /** The number of names, repeats included. */
  get named() {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /**
   * A v2 `presence` message. Reports whether it was applied: a change that
   * comes before this connection's whole list is not.
   * @param {PresenceMessage} m
   */
  apply(m) {
    if (m.reset) {
      this.counts.clear();
      this.have = true;
    }
    if (!this.have) return false;
    for (const { name, count } of m.left) {
      const n = (this.counts.get(name) || 0) - count;
      if (n > 0) this.counts.set(name, n);
      else this.counts.delete(name);
    }
    for (const { name, count } of m.joined) this.counts.set(name, (this.counts.get(name) || 0) + count);
    this.activeUsers = m.activeUsers;
    this.list = null;
    if (this.named !== m.named) this.mismatches++;
    return true;
  }

  /** A v1 `user_list`: the whole list. @param {string[]} users */
  setList(users) {
    this.counts.clear();
    for (const u of users) this.counts.set(u, (this.counts.get(u) || 0) + 1);
    this.list = null;
  }

  /** A v1 `stats`. @param {number} n */
  setActiveUsers(n) {
    this.activeUsers = n;
  }

  /** The socket closed: what is shown stays until the next connection's whole list replaces it. */
  disconnected() {
    this.have = false;
  }
}
