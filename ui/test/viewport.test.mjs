import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  screenToCanvas, canvasToScreen, pixelAt, fitView, fitScale, zoomAt, zoomLimits, clampView, pinchView,
  visibleRange, ensureVisible, panBy, MAX_SCALE, nextZoomStep, moveKeyCursor, arrowPan, ZOOM_STEPS,
} from '../static/js/lib/viewport.js';

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('screen and canvas coordinates are inverse', () => {
  const v = { scale: 7.5, ox: -13, oy: 42 };
  for (const [x, y] of [[0, 0], [3.25, 9.5], [100, 2]]) {
    const s = canvasToScreen(v, x, y);
    const c = screenToCanvas(v, s.x, s.y);
    close(c.x, x);
    close(c.y, y);
  }
});

test('pixelAt floors and bounds', () => {
  const v = { scale: 10, ox: 5, oy: 5 };
  assert.deepEqual(pixelAt(v, 5, 5, 50, 50), { x: 0, y: 0 });
  assert.deepEqual(pixelAt(v, 14.9, 24.99, 50, 50), { x: 0, y: 1 });
  assert.equal(pixelAt(v, 4.9, 10, 50, 50), null);
  assert.equal(pixelAt(v, 505, 10, 50, 50), null);
});

test('fit uses whole-number scales when zoomed in and centres the canvas', () => {
  const v = fitView(1000, 600, 50, 50);
  assert.equal(v.scale, 11); // (600-32)/50 = 11.36
  assert.equal(v.ox, Math.round((1000 - 550) / 2));
  assert.equal(v.oy, Math.round((600 - 550) / 2));
  // The documented click mapping: pixel (x, y) centre at ox + (x+0.5)*scale.
  assert.deepEqual(pixelAt(v, v.ox + 7.5 * v.scale, v.oy + 3.5 * v.scale, 50, 50), { x: 7, y: 3 });
  const big = fitView(390, 500, 2048, 2048);
  assert.ok(big.scale < 1 && big.scale > 0.17);
  assert.ok(2048 * big.scale <= 390);
  assert.equal(fitScale(100000, 100000, 50, 50), MAX_SCALE);
});

test('zoomAt keeps the point under the pointer fixed and respects limits', () => {
  const lim = { min: 0.5, max: 40 };
  const v = { scale: 4, ox: 10, oy: 20 };
  const before = screenToCanvas(v, 123, 77);
  const z = zoomAt(v, 2.5, 123, 77, lim);
  assert.equal(z.scale, 10);
  const after = screenToCanvas(z, 123, 77);
  close(after.x, before.x);
  close(after.y, before.y);
  assert.equal(zoomAt(v, 1000, 0, 0, lim).scale, 40);
  assert.equal(zoomAt(v, 0.0001, 0, 0, lim).scale, 0.5);
});

test('zoom limits allow zooming out below fit and far in', () => {
  const l = zoomLimits(800, 600, 2048, 2048);
  assert.ok(l.min < fitScale(800, 600, 2048, 2048));
  assert.equal(l.max, MAX_SCALE);
  const small = zoomLimits(800, 600, 50, 50);
  assert.equal(small.min, 0.25);
});

test('clampView keeps part of the canvas on the stage', () => {
  const v = clampView({ scale: 10, ox: 5000, oy: -5000 }, 800, 600, 50, 50, 48);
  assert.equal(v.ox, 800 - 48);
  assert.equal(v.oy, 48 - 500);
  const same = { scale: 10, ox: 100, oy: 50 };
  assert.deepEqual(clampView(same, 800, 600, 50, 50), same);
});

test('pinch: anchor stays under the moving midpoint', () => {
  const lim = { min: 0.1, max: 80 };
  const start = { scale: 5, ox: 0, oy: 0 };
  const startMid = { x: 100, y: 100 };
  const anchor = screenToCanvas(start, 100, 100);
  const v = pinchView(start, startMid, 100, { x: 150, y: 120 }, 200, lim);
  assert.equal(v.scale, 10);
  const p = canvasToScreen(v, anchor.x, anchor.y);
  close(p.x, 150);
  close(p.y, 120);
  assert.equal(pinchView(start, startMid, 0, startMid, 50, lim).scale, 5);
});

test('visibleRange and ensureVisible', () => {
  const v = { scale: 10, ox: -100, oy: 0 };
  assert.deepEqual(visibleRange(v, 200, 100, 50, 50), { x0: 10, y0: 0, x1: 30, y1: 10 });
  const moved = ensureVisible(v, 40, 2, 200, 100, 10);
  const r = visibleRange(moved, 200, 100, 50, 50);
  assert.ok(r.x1 > 40);
  assert.deepEqual(ensureVisible(v, 15, 2, 200, 100, 10), v);
  assert.deepEqual(panBy(v, 3, -4), { scale: 10, ox: -97, oy: -4 });
});

test('zoom steps: the next whole step in or out, ×1.5 past the ends', () => {
  assert.equal(nextZoomStep(1, 1), 2);
  assert.equal(nextZoomStep(2.5, 1), 3);
  assert.equal(nextZoomStep(2.5, -1), 2);
  assert.equal(nextZoomStep(4, -1), 3);
  assert.equal(nextZoomStep(80, 1), 120);
  assert.equal(nextZoomStep(0.125, -1), 0.125 / 1.5);
  assert.deepEqual([...ZOOM_STEPS].sort((a, b) => a - b), [...ZOOM_STEPS]);
});

test('keyboard cursor: starts at the visible centre, moves, stays on the canvas; arrows off the canvas pan', () => {
  const view = { scale: 10, ox: 0, oy: 0 };
  assert.deepEqual(moveKeyCursor(null, 1, 0, view, 200, 100, 50, 50), { x: 10, y: 5 });
  assert.deepEqual(moveKeyCursor({ x: 10, y: 5 }, 10, -1, view, 200, 100, 50, 50), { x: 20, y: 4 });
  assert.deepEqual(moveKeyCursor({ x: 48, y: 0 }, 10, -10, view, 200, 100, 50, 50), { x: 49, y: 0 });
  // A canvas smaller than the stage: the first position is on it.
  assert.deepEqual(moveKeyCursor(null, 0, 0, { scale: 1, ox: 0, oy: 0 }, 200, 100, 4, 4), { x: 3, y: 3 });
  assert.deepEqual(arrowPan(view, -1, 0), { scale: 10, ox: 24, oy: 0 });
  assert.deepEqual(arrowPan(view, 0, 10), { scale: 10, ox: 0, oy: -240 });
});
