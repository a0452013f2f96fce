// @ts-check
// A classic script, run before the app's modules: it reloads the page when
// the app's module graph fails to load. One module that does not arrive
// (main.js imports ~36) and the page would stay at "Loading the canvas…"
// for ever: Chromium cuts every request in flight with
// net::ERR_NETWORK_CHANGED when a network interface comes or goes (a VPN,
// Wi-Fi switching, a Docker container starting on the same machine), and a
// deploy can answer a request or two with an error. A reload fetches the
// graph again; the attempts are counted in sessionStorage (the app clears
// the count once it runs) and stop after MAX_ATTEMPTS, with a message.
(() => {
  const KEY = 'pixelPlayground.loadAttempts';
  const MAX_ATTEMPTS = 5;
  /** @param {string} text */
  const say = (text) => {
    const el = document.getElementById('loading-text');
    if (el) el.textContent = text;
  };
  window.addEventListener('error', (e) => {
    // Only a module script's own error event: its graph could not be
    // fetched. (An exception inside a module is reported at window.)
    const s = e.target;
    if (!(s instanceof HTMLScriptElement) || s.type !== 'module') return;
    let attempts;
    try {
      attempts = Number(sessionStorage.getItem(KEY)) || 0;
      sessionStorage.setItem(KEY, String(attempts + 1));
    } catch {
      attempts = MAX_ATTEMPTS; // cannot count: never reload in a loop
    }
    if (attempts >= MAX_ATTEMPTS) {
      say('The page could not load completely. Check your connection and reload.');
      return;
    }
    say('The page did not load completely; trying again…');
    setTimeout(() => location.reload(), Math.min(200 * 2 ** attempts, 3000));
  }, true);
})();
