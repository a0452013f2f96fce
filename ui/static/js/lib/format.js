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

/** Zoom as a percentage of "one canvas pixel = one CSS pixel". */
export function zoomPercent(scale) {
  const p = scale * 100;
  return p >= 100 ? `${Math.round(p)}%` : `${Math.round(p * 10) / 10}%`;
}

/**
 * Zoom as a person says it: how many times bigger than "one canvas pixel =
 * one screen pixel" ("15×", "2.5×", "1/4×"), not a percentage.
 */
export function zoomLabel(scale) {
  if (!(scale > 0)) return '';
  if (scale >= 10) return `${Math.round(scale)}×`;
  if (scale >= 1) return `${Math.round(scale * 10) / 10}×`;
  return `1/${Math.round(1 / scale)}×`;
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
