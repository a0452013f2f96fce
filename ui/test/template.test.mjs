import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  normalizePlacement, loadPlacement, savePlacement, storageKey, sameOriginPath, wantedAt, nextWrongPixel, progress,
  coveredRect, MAX_STORED_SOURCE,
} from '../static/js/lib/template.js';

function memStorage(init = {}) {
  const m = new Map(Object.entries(init));
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
}

/** An RGBA image from rows of 0xRRGGBB numbers, null = transparent. */
function image(rows) {
  const height = rows.length;
  const width = rows[0].length;
  const data = new Uint8ClampedArray(width * height * 4);
  rows.forEach((row, y) => row.forEach((c, x) => {
    const i = (y * width + x) * 4;
    if (c === null) return;
    data[i] = c >> 16; data[i + 1] = (c >> 8) & 255; data[i + 2] = c & 255; data[i + 3] = 255;
  }));
  return { width, height, data };
}

const R = 0xe50000;
const B = 0x0000ea;
const W = 0xffffff;
const place = (o = {}) => normalizePlacement({ source: '/t.png', x: 0, y: 0, ...o });

test('a placement is validated: junk is refused or clamped, never trusted', () => {
  assert.equal(normalizePlacement(null), null);
  assert.equal(normalizePlacement({ source: 'javascript:alert(1)' }), null);
  assert.equal(normalizePlacement({ source: 'https://elsewhere.example/t.png' }), null);
  assert.deepEqual(normalizePlacement({ source: '/t.png', x: 2.6, y: 'no', scale: 7, opacity: 9, visible: false, name: 5 }),
    { x: 3, y: 0, scale: 1, opacity: 1, visible: false, source: '/t.png', name: '' });
  assert.equal(normalizePlacement({ source: 'data:image/png;base64,AAAA', scale: 0.5 }).scale, 0.5);
});

test('placements are kept per canvas and junk in storage is ignored', () => {
  const s = memStorage();
  const p = place({ x: 5, y: 6, scale: 2, opacity: 0.4, name: 'logo.png' });
  assert.equal(savePlacement(s, 'main', p), true);
  assert.deepEqual(loadPlacement(s, 'main'), p);
  assert.equal(loadPlacement(s, 'other'), null);
  s.setItem(storageKey('broken'), '{not json');
  assert.equal(loadPlacement(s, 'broken'), null);
  assert.equal(savePlacement(s, 'main', null), true);
  assert.equal(loadPlacement(s, 'main'), null);
  // Too big to keep: refused, not half-written.
  assert.equal(savePlacement(s, 'big', place({ source: 'data:image/png;base64,' + 'A'.repeat(MAX_STORED_SOURCE) })), false);
  assert.equal(s.map.has(storageKey('big')), false);
  const throwing = { getItem() { throw new Error('x'); }, setItem() { throw new Error('quota'); } };
  assert.equal(loadPlacement(throwing, 'main'), null);
  assert.equal(savePlacement(throwing, 'main', p), false);
});

test('a template address must be on the page\'s origin', () => {
  const o = 'https://px.example';
  assert.deepEqual(sameOriginPath('/templates/a.png', o), { path: '/templates/a.png' });
  assert.deepEqual(sameOriginPath('https://px.example/a.png?v=2', o), { path: '/a.png?v=2' });
  assert.deepEqual(sameOriginPath('a.png', o), { path: '/a.png' });
  assert.match(sameOriginPath('https://evil.example/a.png', o).error, /this site/);
  assert.match(sameOriginPath('', o).error, /address/);
  assert.match(sameOriginPath('http://[::1', o).error, /not an address/);
});

test('wantedAt maps canvas pixels to template pixels, at any scale, and skips transparency', () => {
  const img = image([[R, null], [B, W]]);
  const p = place({ x: 10, y: 20 });
  assert.equal(wantedAt(img, p, 10, 20), R);
  assert.equal(wantedAt(img, p, 11, 20), null); // transparent
  assert.equal(wantedAt(img, p, 10, 21), B);
  assert.equal(wantedAt(img, p, 9, 20), null); // outside
  assert.equal(wantedAt(img, p, 12, 20), null);
  const big = place({ x: 0, y: 0, scale: 3 });
  assert.equal(wantedAt(img, big, 2, 2), R);
  assert.equal(wantedAt(img, big, 2, 3), B);
  assert.equal(wantedAt(img, big, 5, 5), W);
  const small = place({ scale: 0.5 });
  assert.equal(wantedAt(img, small, 0, 0), R);
  assert.equal(wantedAt(img, small, 1, 0), null); // past the half-size template
  // A faint pixel (alpha below half) has no opinion.
  const faint = image([[R]]);
  faint.data[3] = 100;
  assert.equal(wantedAt(faint, place(), 0, 0), null);
});

test('nextWrongPixel walks in reading order, wraps once, skips transparent and right pixels', () => {
  const img = image([[R, null, R], [R, R, null]]);
  const p = place({ x: 1, y: 1 });
  const board = new Map(); // "x,y" -> colour; white elsewhere
  const colorAt = (x, y) => board.get(`${x},${y}`) ?? W;
  const canvas = { width: 8, height: 8 };
  assert.deepEqual(nextWrongPixel(img, p, canvas, colorAt, null), { x: 1, y: 1, want: R });
  assert.deepEqual(nextWrongPixel(img, p, canvas, colorAt, { x: 1, y: 1 }), { x: 3, y: 1, want: R }); // (2,1) is transparent
  assert.deepEqual(nextWrongPixel(img, p, canvas, colorAt, { x: 3, y: 1 }), { x: 1, y: 2, want: R });
  assert.deepEqual(nextWrongPixel(img, p, canvas, colorAt, { x: 2, y: 2 }), { x: 1, y: 1, want: R }); // wraps
  board.set('1,1', R);
  board.set('3,1', R);
  board.set('1,2', R);
  assert.deepEqual(nextWrongPixel(img, p, canvas, colorAt, null), { x: 2, y: 2, want: R });
  board.set('2,2', B); // a wrong colour is as wrong as white
  assert.deepEqual(nextWrongPixel(img, p, canvas, colorAt, { x: 5, y: 5 }), { x: 2, y: 2, want: R });
  assert.deepEqual(progress(img, p, canvas, colorAt), { total: 4, right: 3 });
  board.set('2,2', R);
  assert.equal(nextWrongPixel(img, p, canvas, colorAt, null), null);
  assert.deepEqual(progress(img, p, canvas, colorAt), { total: 4, right: 4 });
});

test('a template partly off the canvas is clipped, one wholly off covers nothing', () => {
  const img = image([[R, R], [R, R]]);
  const canvas = { width: 4, height: 4 };
  const white = () => W;
  assert.deepEqual(coveredRect(img, place({ x: -1, y: 3 }), 4, 4), { x0: 0, y0: 3, x1: 1, y1: 4 });
  assert.deepEqual(nextWrongPixel(img, place({ x: -1, y: 3 }), canvas, white, null), { x: 0, y: 3, want: R });
  assert.equal(nextWrongPixel(img, place({ x: 10, y: 10 }), canvas, white, null), null);
  assert.deepEqual(progress(img, place({ x: -5, y: -5 }), canvas, white), { total: 0, right: 0 });
});
