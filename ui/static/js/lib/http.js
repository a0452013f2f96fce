// @ts-check
// HTTP reads that cannot hang the page. A browser's fetch has no deadline
// of its own: a server that accepted the connection and never answers (a
// stuck pod, a half-dead proxy) would leave the page loading for ever.

/**
 * fetch, but give up when the server has not begun to answer (sent its
 * status and headers) within ms. The body may then take as long as it
 * needs: a 12 MB canvas on a slow phone link is slow, not stuck.
 * The error for a server that did not answer in time is named
 * 'TimeoutError'; one from init.signal keeps its own name.
 * @param {string} url
 * @param {RequestInit} init
 * @param {number} ms
 * @returns {Promise<Response>}
 */
export async function fetchAnswered(url, init, ms) {
  const ctl = new AbortController();
  const timer = setTimeout(() => {
    ctl.abort(new DOMException(`no answer from the server in ${Math.round(ms / 100) / 10} s`, 'TimeoutError'));
  }, ms);
  // The caller's signal is forwarded by hand: AbortSignal.any is too new
  // for some browsers we serve (Safari before 17.4).
  const outer = init && init.signal;
  if (outer) {
    const forward = () => ctl.abort(outer.reason);
    if (outer.aborted) forward();
    else outer.addEventListener('abort', forward, { once: true });
  }
  try {
    return await fetch(url, { ...init, signal: ctl.signal });
  } finally {
    clearTimeout(timer);
  }
}
