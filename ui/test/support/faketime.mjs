// A manual clock and timer queue for unit tests: time moves only when a test
// says so, so timeouts and backoffs are tested exactly and without waiting.

export function fakeTime(start = 0) {
  let now = start;
  let seq = 0;
  /** @type {Map<number, {f: () => void, at: number}>} */
  const pending = new Map();
  return {
    now: () => now,
    timers: {
      /** @param {() => void} f @param {number} ms */
      setTimeout: (f, ms) => { const id = ++seq; pending.set(id, { f, at: now + ms }); return id; },
      /** @param {any} id */
      clearTimeout: (id) => { pending.delete(id); },
    },
    /** Advance time, firing due timers in order. @param {number} ms */
    advance(ms) {
      const end = now + ms;
      for (;;) {
        /** @type {[number, {f: () => void, at: number}]|null} */
        let next = null;
        for (const [id, t] of pending) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        pending.delete(next[0]);
        now = next[1].at;
        next[1].f();
      }
      now = end;
    },
    get count() { return pending.size; },
  };
}

/** Let pending promise callbacks run (a loader's answer, a then()). */
export async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}
