import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linePixels, Stroke } from '../static/js/lib/line.js';

// Consecutive points of a rasterised line are 8-neighbours: no gaps, no repeats.
function assertConnected(pts) {
  for (let i = 1; i < pts.length; i++) {
    const dx = Math.abs(pts[i][0] - pts[i - 1][0]);
    const dy = Math.abs(pts[i][1] - pts[i - 1][1]);
    assert.ok(dx <= 1 && dy <= 1 && dx + dy > 0, `gap or repeat between ${pts[i - 1]} and ${pts[i]}`);
  }
}

test('single point', () => {
  assert.deepEqual(linePixels(3, 4, 3, 4), [[3, 4]]);
});

test('horizontal, vertical and diagonal lines', () => {
  assert.deepEqual(linePixels(0, 0, 3, 0), [[0, 0], [1, 0], [2, 0], [3, 0]]);
  assert.deepEqual(linePixels(2, 3, 2, 0), [[2, 3], [2, 2], [2, 1], [2, 0]]);
  assert.deepEqual(linePixels(0, 0, 3, 3), [[0, 0], [1, 1], [2, 2], [3, 3]]);
  assert.deepEqual(linePixels(3, 0, 0, 3), [[3, 0], [2, 1], [1, 2], [0, 3]]);
});

test('all octants: connected, exact ends, length max(|dx|,|dy|)+1', () => {
  for (const [x1, y1] of [[7, 2], [2, 7], [-2, 7], [-7, 2], [-7, -2], [-2, -7], [2, -7], [7, -2], [5, 5], [-5, 5]]) {
    const pts = linePixels(10, 10, 10 + x1, 10 + y1);
    assert.deepEqual(pts[0], [10, 10]);
    assert.deepEqual(pts[pts.length - 1], [10 + x1, 10 + y1]);
    assert.equal(pts.length, Math.max(Math.abs(x1), Math.abs(y1)) + 1);
    assertConnected(pts);
  }
});

test('a line and its reverse cover the same number of pixels', () => {
  assert.equal(linePixels(0, 0, 13, 5).length, linePixels(13, 5, 0, 0).length);
});

test('fractional inputs are truncated', () => {
  assert.deepEqual(linePixels(0.9, 0.2, 2.7, 0.99), [[0, 0], [1, 0], [2, 0]]);
});

test('stroke never yields a pixel twice and fills gaps between samples', () => {
  const s = new Stroke(50, 50);
  assert.deepEqual(s.moveTo(1.5, 1.5), [[1, 1]]);
  assert.deepEqual(s.moveTo(1.9, 1.1), []); // still inside the same pixel
  assert.deepEqual(s.moveTo(4.2, 1.7), [[2, 1], [3, 1], [4, 1]]);
  // Going back over the same pixels produces nothing new.
  assert.deepEqual(s.moveTo(1.2, 1.2), []);
  const down = s.moveTo(1.2, 4.2);
  assert.deepEqual(down, [[1, 2], [1, 3], [1, 4]]);
  assert.equal(s.size, 7);
});

test('stroke clips to the canvas but keeps the line going', () => {
  const s = new Stroke(5, 5);
  assert.deepEqual(s.moveTo(-2.5, 2.5), []);
  assert.deepEqual(s.moveTo(1.5, 2.5), [[0, 2], [1, 2]]);
  assert.deepEqual(s.moveTo(7, 2.5), [[2, 2], [3, 2], [4, 2]]);
});

test('stroke with a painter: a pixel is done only when painted', () => {
  const s = new Stroke(10, 1);
  let budget = 2;
  const painted = [];
  const paint = (x, y) => {
    if (budget === 0) return false;
    budget--;
    painted.push([x, y]);
    return true;
  };
  assert.deepEqual(s.moveTo(0.5, 0.5, paint), [[0, 0]]);
  // Only one more fits: the rest of this segment is not marked as done.
  assert.deepEqual(s.moveTo(4.5, 0.5, paint), [[1, 0]]);
  assert.equal(s.size, 2);
  budget = 10;
  // Back over the same pixels: the ones never painted are offered again.
  assert.deepEqual(s.moveTo(1.5, 0.5, paint), [[4, 0], [3, 0], [2, 0]]);
  assert.deepEqual(s.moveTo(4.5, 0.5, paint), []);
  assert.deepEqual(painted, [[0, 0], [1, 0], [4, 0], [3, 0], [2, 0]]);
});
