import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLastSeen, saveLastSeen, lastSeenKey, MAX_PICTURE } from '../static/js/lib/lastseen.js';

function memStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

const pic = { at: 1000, width: 4, height: 3, png: 'data:image/png;base64,iVBORw0KGgo=' };

test('the last picture is kept per canvas', () => {
  const s = memStorage();
  assert.equal(saveLastSeen(s, 'main', pic), true);
  assert.deepEqual(loadLastSeen(s, 'main'), pic);
  assert.equal(loadLastSeen(s, 'other'), null);
  assert.equal(loadLastSeen(null, 'main'), null);
});

test('junk in storage is not shown', () => {
  const s = memStorage();
  for (const junk of ['{nope', '5', JSON.stringify({ ...pic, png: 'javascript:alert(1)' }), JSON.stringify({ ...pic, width: -1 }),
    JSON.stringify({ ...pic, at: 'x' }), JSON.stringify({ ...pic, png: 'data:image/png;base64,' + 'A'.repeat(MAX_PICTURE) })]) {
    s.setItem(lastSeenKey('main'), junk);
    assert.equal(loadLastSeen(s, 'main'), null, junk.slice(0, 40));
  }
});

test('too big or refused storage: not kept, no throw', () => {
  const s = memStorage();
  assert.equal(saveLastSeen(s, 'main', { ...pic, png: 'data:image/png;base64,' + 'A'.repeat(MAX_PICTURE) }), false);
  assert.equal(s.map.size, 0);
  assert.equal(saveLastSeen({ setItem() { throw new Error('quota'); } }, 'main', pic), false);
  assert.equal(saveLastSeen(null, 'main', pic), false);
});

test('a full storage gives up the other canvases\' pictures, nothing else', () => {
  const m = new Map([['pixelPlayground.username', 'Ada'], [lastSeenKey('a'), 'x'.repeat(10)], [lastSeenKey('b'), 'y']]);
  let room = 3; // entries the storage holds
  const s = {
    get length() { return m.size; },
    key: (i) => [...m.keys()][i] ?? null,
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => { if (!m.has(k) && m.size >= room) throw new Error('QuotaExceededError'); m.set(k, v); },
    removeItem: (k) => m.delete(k),
  };
  assert.equal(saveLastSeen(s, 'c', pic), true);
  assert.deepEqual([...m.keys()].sort(), ['pixelPlayground.lastSeen.c', 'pixelPlayground.username']);
  room = 0;
  assert.equal(saveLastSeen(s, 'd', pic), false);
  assert.equal(m.get('pixelPlayground.username'), 'Ada');
});
