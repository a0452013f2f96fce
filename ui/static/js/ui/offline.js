// @ts-check
// Registers the service worker (/sw.js, rules in lib/offline.js) that keeps
// the page's own files, so a reload while the server is down opens the page
// and its outage state instead of the browser's error page. Registered once
// the page has loaded: its install fetches every file of the page, which
// must not compete with the first load. A browser without service workers
// (or without module workers) simply has no offline page.

/** @param {Window} win */
export function registerOffline(win) {
  const nav = win.navigator;
  if (!nav.serviceWorker || !win.isSecureContext) return;
  const go = () => {
    nav.serviceWorker.register('/sw.js', { type: 'module', scope: '/' }).catch((e) => {
      console.info('offline page unavailable:', e && e.message);
    });
  };
  if (win.document.readyState === 'complete') go();
  else win.addEventListener('load', go, { once: true });
}
