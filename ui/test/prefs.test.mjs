import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPrefs, saveUsername, saveColor, saveRecent, saveGrid, pushRecent, KEYS, MAX_RECENT } from '../static/js/lib/prefs.js';
import { timeAgo, zoomTimes, countdown, exportScale, fileStamp } from '../static/js/lib/format.js';

function memStorage(init = {}) {
  const m = new Map(Object.entries(init));
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

test('defaults with empty storage, and with no storage at all', () => {
  assert.deepEqual(loadPrefs(memStorage()), { username: '', color: '#222222', recent: [], grid: true });
  assert.deepEqual(loadPrefs(null), { username: '', color: '#222222', recent: [], grid: true });
});

test('round trip', () => {
  const s = memStorage();
  saveUsername(s, '  Alice  ');
  saveColor(s, '#abcdef');
  saveRecent(s, ['#ABCDEF', '#000000']);
  saveGrid(s, false);
  assert.deepEqual(loadPrefs(s), { username: 'Alice', color: '#ABCDEF', recent: ['#ABCDEF', '#000000'], grid: false });
  assert.equal(saveColor(s, 'nope'), false);
});

test('junk in storage is ignored, not trusted', () => {
  const s = memStorage({
    [KEYS.username]: 'x'.repeat(50) + '\u0000',
    [KEYS.color]: 'javascript:alert(1)',
    [KEYS.recent]: '["#fff", "nope", 5, "#000000", "#000000"]',
  });
  const p = loadPrefs(s);
  assert.equal(p.username, 'x'.repeat(20));
  assert.equal(p.color, '#222222');
  assert.deepEqual(p.recent, ['#FFFFFF', '#000000']);
  assert.deepEqual(loadPrefs(memStorage({ [KEYS.recent]: '{not json' })).recent, []);
});

test('storage that throws does not break the page', () => {
  const broken = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('quota'); } };
  assert.equal(loadPrefs(broken).color, '#222222');
  assert.equal(saveUsername(broken, 'a'), false);
});

test('pushRecent moves to front, dedupes, caps', () => {
  let l = [];
  for (let i = 0; i < 15; i++) l = pushRecent(l, '#0000' + i.toString(16).padStart(2, '0'));
  assert.equal(l.length, MAX_RECENT);
  assert.equal(l[0], '#00000E');
  l = pushRecent(l, '#00000a');
  assert.equal(l[0], '#00000A');
  assert.equal(l.filter((x) => x === '#00000A').length, 1);
  assert.deepEqual(pushRecent(['#000000'], 'nope'), ['#000000']);
});

test('format helpers', () => {
  assert.equal(timeAgo(1000, 2000), 'just now');
  assert.equal(timeAgo(0, 30_000), '30 s ago');
  assert.equal(timeAgo(0, 5 * 60_000), '5 min ago');
  assert.equal(timeAgo(0, 3 * 3600_000), '3 h ago');
  assert.equal(timeAgo(0, 2 * 86400_000), '2 d ago');
  assert.equal(timeAgo(NaN, 0), '');
  assert.equal(zoomTimes(15), '15×');
  assert.equal(zoomTimes(12.345), '12×');
  assert.equal(zoomTimes(2.54), '2.5×');
  assert.equal(zoomTimes(1), '1×');
  assert.equal(zoomTimes(0.1875), '0.19×');
  assert.equal(countdown(1234), '1.2 s');
  assert.equal(countdown(-5), '0.0 s');
  assert.equal(exportScale(8, 50, 50), 8);
  assert.equal(exportScale(8, 2048, 2048), 4);
  assert.equal(exportScale(8, 4096, 100, 8192), 2);
  assert.equal(exportScale(0, 50, 50), 1);
  assert.equal(fileStamp(new Date(Date.UTC(2026, 10, 22, 3, 25, 1))), '2026-11-22T03-25-01');
});
