import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canvasOutOfView, minimapSize, viewportOnMinimap, viewCentredOn } from '../static/js/lib/minimap.js';
import { guideLines, guideSeen, markGuideSeen, GUIDE_KEY } from '../static/js/lib/guide.js';

const stage = { w: 800, h: 600 };
const canvas = { width: 1000, height: 500 };

test('the minimap is wanted only when part of the canvas is out of view', () => {
  assert.equal(canvasOutOfView({ scale: 0.8, ox: 0, oy: 100 }, stage, canvas), false); // fitted
  assert.equal(canvasOutOfView({ scale: 0.8, ox: 0.3, oy: 99.7 }, stage, canvas), false); // rounding
  assert.equal(canvasOutOfView({ scale: 2, ox: -100, oy: 0 }, stage, canvas), true);
  assert.equal(canvasOutOfView({ scale: 0.5, ox: 400, oy: 0 }, stage, canvas), true); // pushed off the right
});

test('minimap size keeps the canvas\'s shape', () => {
  assert.deepEqual(minimapSize(canvas, 160), { w: 160, h: 80, scale: 0.16 });
  assert.deepEqual(minimapSize({ width: 100, height: 400 }, 160), { w: 40, h: 160, scale: 0.4 });
});

test('the viewport rectangle is the part in view, clipped, and moves with a pan', () => {
  const v = { scale: 4, ox: -400, oy: -200 }; // canvas x 100..300, y 50..200 in view
  assert.deepEqual(viewportOnMinimap(v, stage, canvas, 0.16), { x: 16, y: 8, w: 32, h: 24 });
  const panned = { ...v, ox: v.ox - 400 }; // 100 canvas pixels further right
  assert.equal(viewportOnMinimap(panned, stage, canvas, 0.16).x, 32);
  // Near the edge: clipped to the canvas.
  const edge = viewportOnMinimap({ scale: 4, ox: 100, oy: -1900 }, stage, canvas, 0.16);
  assert.deepEqual(edge, { x: 0, y: 76, w: 28, h: 4 });
});

test('a click on the minimap centres the view there at the same zoom', () => {
  assert.deepEqual(viewCentredOn({ scale: 4, ox: 0, oy: 0 }, stage, 500, 250), { scale: 4, ox: -1600, oy: -700 });
});

test('the guide speaks to the pointer in hand and is shown once', () => {
  assert.match(guideLines(false).join(' '), /Click to paint.*drag to draw.*Scroll to zoom/);
  const touch = guideLines(true).join(' ');
  assert.match(touch, /Tap to paint/);
  assert.match(touch, /one finger to move/);
  assert.match(touch, /pinch to zoom/);
  assert.match(touch, /hold a finger still a moment, then drag/);
  const m = new Map();
  const s = { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v) };
  assert.equal(guideSeen(s), false);
  markGuideSeen(s);
  assert.equal(guideSeen(s), true);
  assert.equal(m.get(GUIDE_KEY), '1');
  assert.equal(guideSeen(null), false);
  markGuideSeen({ setItem() { throw new Error('quota'); } }); // no throw
});
