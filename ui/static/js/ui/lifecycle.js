// @ts-check
// The page's life around the connection: the browser going offline and
// online, the tab hidden and shown, the page put in (and restored from) the
// back/forward cache, and the window moving to a screen with another pixel
// ratio (no CSS size changes, so no resize observer notices).

/**
 * @param {Window} win
 * @param {object} o
 * @param {import('../lib/connection.js').Connection} o.conn
 * @param {() => void} o.hidden the page is hidden or going away: our cursor leaves
 * @param {() => void} o.stopped the connection was stopped for the back/forward cache (stop() reports no close)
 * @param {() => void} o.resized the pixel ratio changed
 */
export function watchLifecycle(win, { conn, hidden, stopped, resized }) {
  const doc = win.document;
  win.addEventListener('online', () => conn.setOnline(true));
  win.addEventListener('offline', () => conn.setOnline(false));
  doc.addEventListener('visibilitychange', () => {
    if (doc.visibilityState === 'hidden') hidden();
    else conn.retryNow();
  });
  win.addEventListener('pagehide', () => {
    hidden();
    if (conn.state === 'stopped') return;
    conn.stop();
    // The page may be kept in the back/forward cache and shown again later:
    // it must come back as "not live" (no old cursors or artists, writes in
    // doubt rather than timed out), exactly as after any other close.
    stopped();
  });
  win.addEventListener('pageshow', (e) => {
    // Back/forward cache restored the page: everything we knew may be old;
    // reconnecting resumes from our seq (or reloads the snapshot).
    if (e.persisted && conn.state === 'stopped') conn.start();
  });
  const watchRatio = () => {
    if (!win.matchMedia) return;
    win.matchMedia(`(resolution: ${win.devicePixelRatio || 1}dppx)`).addEventListener('change', () => {
      resized();
      watchRatio();
    }, { once: true });
  };
  watchRatio();
  if (win.navigator && win.navigator.onLine === false) {
    queueMicrotask(() => conn.setOnline(false));
  }
}
