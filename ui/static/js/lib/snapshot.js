// @ts-check
// Reads the canvas snapshot from the server: the packed RGB form
// (GET /api/canvas/raw with X-Canvas-* headers, one request for any size), or
// the JSON form (GET /api/canvas) when the headers are not readable
// (cross-origin without Access-Control-Expose-Headers) or the raw endpoint is
// missing. The fetch is injected: tested under node with fake responses.

import { hexToInt, normalizeHex } from './color.js';
import { epochOf } from './protocol.js';

/** The largest canvas the JSON form may describe (the raw form is bounded by its bytes). */
const MAX_PIXELS = 4096 * 4096;

/**
 * One attempt at the snapshot; throws (with a message for the page) when it fails.
 * @param {string} apiBase origin (and path prefix) of the API, no trailing /api
 * @param {(url: string, init: RequestInit) => Promise<Response>} fetchFn e.g. a fetch with a deadline
 * @param {{raw: string, json: string}} [urls] another canvas's (lib/canvasref.js); default main's
 * @returns {Promise<import('./sync.js').Snapshot>}
 */
export async function fetchSnapshot(apiBase, fetchFn, urls = { raw: `${apiBase}/api/canvas/raw`, json: `${apiBase}/api/canvas` }) {
  const res = await fetchFn(urls.raw, { cache: 'no-store' });
  if (res.ok) {
    const w = parseInt(res.headers.get('X-Canvas-Width') || '', 10);
    const h = parseInt(res.headers.get('X-Canvas-Height') || '', 10);
    const seqHeader = res.headers.get('X-Canvas-Seq');
    const buf = new Uint8Array(await res.arrayBuffer());
    if (w > 0 && h > 0 && buf.length === w * h * 3) {
      const seq = seqHeader !== null && /^\d+$/.test(seqHeader) ? Number(seqHeader) : null;
      return { width: w, height: h, seq, epoch: epochOf(res.headers.get('X-Canvas-Epoch')), rgb: buf };
    }
    // Headers not exposed (cross-origin without Access-Control-Expose-Headers): use JSON.
  } else if (res.status >= 500) {
    throw new Error(`HTTP ${res.status}`);
  }
  const jr = await fetchFn(urls.json, { cache: 'no-store' });
  if (!jr.ok) throw new Error(`HTTP ${jr.status}`);
  const j = await jr.json();
  return snapshotFromJSON(j);
}

/**
 * The JSON snapshot ({width, height, pixels: {"x,y": "#RRGGBB"}, seq, epoch}) as
 * packed RGB; unpainted pixels are white, malformed entries are skipped.
 * @param {any} j
 * @returns {import('./sync.js').Snapshot}
 */
export function snapshotFromJSON(j) {
  const w = j && j.width;
  const h = j && j.height;
  if (!Number.isSafeInteger(w) || !Number.isSafeInteger(h) || w <= 0 || h <= 0 || w * h > MAX_PIXELS) {
    throw new Error('the server sent a canvas with a bad size');
  }
  const rgb = new Uint8Array(w * h * 3).fill(255);
  const pixels = j.pixels && typeof j.pixels === 'object' ? j.pixels : {};
  for (const [key, hex] of Object.entries(pixels)) {
    const m = /^(\d+),(\d+)$/.exec(key);
    const c = normalizeHex(hex);
    if (!m || !c) continue;
    const x = +m[1];
    const y = +m[2];
    if (x >= w || y >= h) continue;
    const v = hexToInt(c);
    const o = (y * w + x) * 3;
    rgb[o] = v >> 16;
    rgb[o + 1] = (v >> 8) & 255;
    rgb[o + 2] = v & 255;
  }
  return { width: w, height: h, seq: Number.isSafeInteger(j.seq) && j.seq >= 0 ? j.seq : null, epoch: epochOf(j.epoch), rgb };
}
