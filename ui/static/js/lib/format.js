// @ts-check
// Text formatting for the status bar and tooltips. No DOM access.

/** "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago", or a date for older. */
export function timeAgo(thenMs, nowMs) {
  if (!Number.isFinite(thenMs)) return '';
  const s = Math.round((nowMs - thenMs) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.floor(h / 24);
  if (d < 30) return `${d} d ago`;
  return new Date(thenMs).toISOString().slice(0, 10);
}

/**
 * Zoom as a person reads a magnifier: "15×" (each canvas pixel 15 screen
 * pixels wide), "2.5×", "0.25×" below one; not "1500%".
 */
export function zoomTimes(scale) {
  if (scale >= 10) return `${Math.round(scale)}×`;
  if (scale >= 1) return `${Math.round(scale * 10) / 10}×`;
  return `${Math.round(scale * 100) / 100}×`;
}

/** Seconds with one decimal below 10 s, for the reconnect countdown. */
export function countdown(ms) {
  const s = Math.max(0, ms) / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.ceil(s)} s`;
}

/** A filename-safe timestamp, e.g. 2026-11-22T03-25-01. */
export function fileStamp(date) {
  return date.toISOString().slice(0, 19).replace(/:/g, '-');
}

/** The largest export scale ≤ requested that keeps the image within maxSide pixels. */
export function exportScale(requested, width, height, maxSide = 8192) {
  const fit = Math.floor(maxSide / Math.max(width, height));
  return Math.max(1, Math.min(Math.floor(requested) || 1, fit));
}
