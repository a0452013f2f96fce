// One finger on the canvas (lib/touchgesture.js): slide pans, tap paints,
// hold then drag draws.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LONG_PRESS_MS, TOUCH_SLOP_PX, classifyTouch } from '../static/js/lib/touchgesture.js';

const at = { x: 100, y: 100 };

test('a finger that slides is a pan, however long it was held', () => {
  assert.equal(classifyTouch(at, { x: 100 + TOUCH_SLOP_PX + 1, y: 100 }, 30), 'pan');
  assert.equal(classifyTouch(at, { x: 100, y: 100 - TOUCH_SLOP_PX - 1 }, 30), 'pan');
  assert.equal(classifyTouch(at, { x: 108, y: 108 }, 30), 'pan', 'diagonally');
});

test('a finger held still is undecided (a tap if lifted), then a line', () => {
  assert.equal(classifyTouch(at, at, 0), 'undecided');
  assert.equal(classifyTouch(at, { x: 104, y: 103 }, LONG_PRESS_MS - 1), 'undecided', 'a little wobble is still');
  assert.equal(classifyTouch(at, { x: 104, y: 103 }, LONG_PRESS_MS), 'draw');
});
