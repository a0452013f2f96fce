import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeFrame, decodeMessage, encodePixelUpdate, encodeSetUsername, encodeCursor, encodeCursorLeave,
  encodeResume, encodePing, sanitizeUsername, utf8Length, describeError, SUBPROTOCOL_V2,
} from '../static/js/lib/protocol.js';

test('v1 pixel_updated without extensions decodes with nulls', () => {
  const { messages, dropped } = decodeFrame('{"type":"pixel_updated","x":1,"y":2,"color":"#abcdef","username":"Alice","timestamp":1795316057524}');
  assert.equal(dropped, 0);
  assert.deepEqual(messages, [{ type: 'pixel_updated', x: 1, y: 2, color: '#ABCDEF', username: 'Alice', timestamp: 1795316057524, seq: null, id: null }]);
});

test('extension fields: seq, id, fractional timestamp', () => {
  const [m] = decodeFrame('{"type":"pixel_updated","x":0,"y":0,"color":"#000000","username":"Bob","timestamp":1795316057524.123,"seq":42,"id":"w1"}').messages;
  assert.equal(m.seq, 42);
  assert.equal(m.id, 'w1');
  assert.equal(m.timestamp, 1795316057524.123);
});

test('v2 batch flattens in order and drops only the bad events', () => {
  const frame = JSON.stringify({
    type: 'batch',
    events: [
      { type: 'pixel_updated', x: 1, y: 1, color: '#111111', seq: 5 },
      { type: 'pixel_updated', x: 2.5, y: 1, color: '#111111', seq: 6 },
      { type: 'stats', activeUsers: 3 },
      { type: 'batch', events: [] },
      { type: 'user_list', users: ['a', 5, 'b'] },
      { type: 'mystery' },
    ],
  });
  const { messages, dropped } = decodeFrame(frame);
  assert.deepEqual(messages.map((m) => m.type), ['pixel_updated', 'stats', 'user_list']);
  assert.deepEqual(messages[2].users, ['a', 'b']);
  assert.equal(messages[0].username, 'Anonymous');
  assert.equal(dropped, 3);
});

test('invalid input never throws', () => {
  for (const bad of ['', 'not json', 'null', '[]', '42', '"x"', '{}', '{"type":5}', '{"type":"batch"}', '{"type":"batch","events":5}']) {
    const r = decodeFrame(bad);
    assert.equal(r.messages.length, 0, bad);
    assert.ok(r.dropped >= 1, bad);
  }
});

test('pixel_updated validation', () => {
  const base = { type: 'pixel_updated', x: 1, y: 1, color: '#FFFFFF' };
  assert.ok(decodeMessage(base));
  for (const patch of [{ x: -1 }, { y: 1.5 }, { x: '1' }, { color: 'red' }, { color: '#fff' }, { seq: -1 }, { seq: 1.5 }, { seq: '3' }]) {
    assert.equal(decodeMessage({ ...base, ...patch }), null, JSON.stringify(patch));
  }
  assert.equal(decodeMessage({ ...base, seq: null }).seq, null);
});

test('connected, resumed, error, reset, cursors, pong', () => {
  assert.deepEqual(decodeMessage({ type: 'connected', message: 'hi', clientId: 'c_1', seq: 9, epoch: 'e1', width: 64, height: 32 }),
    { type: 'connected', clientId: 'c_1', seq: 9, epoch: 'e1', width: 64, height: 32, pixelRate: null, pixelBurst: null });
  assert.deepEqual(decodeMessage({ type: 'connected', clientId: 'c_1' }),
    { type: 'connected', clientId: 'c_1', seq: null, epoch: null, width: null, height: null, pixelRate: null, pixelBurst: null });
  const limited = decodeMessage({ type: 'connected', clientId: 'c_1', pixelRate: 2.5, pixelBurst: 4 });
  assert.equal(limited.pixelRate, 2.5);
  assert.equal(limited.pixelBurst, 4);
  for (const bad of [0, -1, 'x', NaN, null]) {
    const m = decodeMessage({ type: 'connected', clientId: 'c_1', pixelRate: bad, pixelBurst: bad });
    assert.equal(m.pixelRate, null, `rate ${bad}`);
    assert.equal(m.pixelBurst, null, `burst ${bad}`);
  }
  assert.equal(decodeMessage({ type: 'connected', clientId: 'c', pixelBurst: 2.5 }).pixelBurst, null, 'a burst is whole');
  assert.deepEqual(decodeMessage({ type: 'resumed', seq: 10, recovered: false }), { type: 'resumed', seq: 10, recovered: false, epoch: null });
  assert.deepEqual(decodeMessage({ type: 'resumed', seq: 10, recovered: false, epoch: 'e2' }), { type: 'resumed', seq: 10, recovered: false, epoch: 'e2' });
  // Not an epoch: the message still counts, without one.
  assert.equal(decodeMessage({ type: 'resumed', seq: 10, recovered: true, epoch: 7 }).epoch, null);
  assert.equal(decodeMessage({ type: 'resumed', seq: 10, recovered: true, epoch: 'x'.repeat(33) }).epoch, null);
  assert.equal(decodeMessage({ type: 'resumed', seq: 10 }), null);
  assert.deepEqual(decodeMessage({ type: 'error', message: 'Rate limit exceeded', code: 'rate_limited', id: 'w9' }),
    { type: 'error', message: 'Rate limit exceeded', code: 'rate_limited', id: 'w9', retryAfter: null });
  assert.deepEqual(decodeMessage({ type: 'error', message: 'Invalid message format' }),
    { type: 'error', message: 'Invalid message format', code: null, id: null, retryAfter: null });
  assert.equal(decodeMessage({ type: 'error', code: 'rate_limited', id: 'w9', retryAfter: 480 }).retryAfter, 480);
  assert.equal(decodeMessage({ type: 'error', code: 'rate_limited', retryAfter: -5 }).retryAfter, null);
  assert.equal(decodeMessage({ type: 'error', code: 'rate_limited', retryAfter: '5' }).retryAfter, null);
  assert.equal(decodeMessage({ type: 'error', code: 'rate_limited', retryAfter: 1e12 }).retryAfter, 3600000, 'capped at an hour');
  assert.equal(decodeMessage({ type: 'canvas_reset', seq: 77 }).seq, 77);
  const c = decodeMessage({ type: 'cursors', cursors: [{ clientId: 'c_2', username: 'Bob', x: 12.5, y: 3 }, { clientId: 'c_3', x: NaN, y: 1 }, { x: 1, y: 1 }], gone: ['c_4', 7] });
  assert.deepEqual(c, { type: 'cursors', cursors: [{ clientId: 'c_2', username: 'Bob', x: 12.5, y: 3 }], gone: ['c_4'] });
  assert.deepEqual(decodeMessage({ type: 'cursors' }), { type: 'cursors', cursors: [], gone: [] });
  assert.equal(decodeMessage({ type: 'pong', timestamp: 5 }).timestamp, 5);
  assert.equal(decodeMessage({ type: 'stats', activeUsers: -1 }), null);
});

test('encoders produce the exact wire shapes', () => {
  assert.deepEqual(JSON.parse(encodePixelUpdate({ x: 3, y: 4, color: '#abcdef', id: 'p1' })),
    { type: 'pixel_update', x: 3, y: 4, color: '#ABCDEF', id: 'p1' });
  assert.deepEqual(JSON.parse(encodePixelUpdate({ x: 0, y: 0, color: '#000000' })), { type: 'pixel_update', x: 0, y: 0, color: '#000000' });
  assert.throws(() => encodePixelUpdate({ x: 1.5, y: 0, color: '#000000' }), RangeError);
  assert.throws(() => encodePixelUpdate({ x: 1, y: 0, color: 'black' }), TypeError);
  assert.throws(() => encodePixelUpdate({ x: 1, y: 0, color: '#000000', id: 'é'.repeat(33) }), RangeError);
  assert.deepEqual(JSON.parse(encodeSetUsername('  Alice\u202E  ')), { type: 'set_username', username: 'Alice' });
  assert.deepEqual(JSON.parse(encodeCursor(12.3456, 3)), { type: 'cursor', x: 12.35, y: 3 });
  assert.deepEqual(JSON.parse(encodeCursorLeave()), { type: 'cursor' });
  assert.deepEqual(JSON.parse(encodeResume(12)), { type: 'resume', since: 12 });
  assert.throws(() => encodeResume(-1), RangeError);
  assert.deepEqual(JSON.parse(encodePing()), { type: 'ping' });
  assert.equal(SUBPROTOCOL_V2, 'pixel.v2');
});

test('sanitizeUsername matches the server rules', () => {
  assert.equal(sanitizeUsername('  Bob  '), 'Bob');
  assert.equal(sanitizeUsername('a\u0000b\u200Bc\nd'), 'abcd');
  assert.equal(sanitizeUsername('x'.repeat(30)), 'x'.repeat(20));
  // Counted in code points, so an emoji counts once.
  assert.equal(Array.from(sanitizeUsername('😀'.repeat(25))).length, 20);
  assert.equal(sanitizeUsername('a'.repeat(19) + ' b'), 'a'.repeat(19));
  assert.equal(sanitizeUsername(42), '');
  assert.equal(sanitizeUsername('<img src=x onerror=alert(1)>'), '<img src=x onerror=a');
});

test('utf8Length', () => {
  assert.equal(utf8Length('abc'), 3);
  assert.equal(utf8Length('é'), 2);
  assert.equal(utf8Length('€'), 3);
  assert.equal(utf8Length('😀'), 4);
});

test('describeError covers the documented codes', () => {
  for (const code of ['rate_limited', 'bad_pixel', 'unavailable', 'too_large', 'bad_json']) {
    assert.notEqual(describeError(code, 'raw'), 'raw', code);
  }
  assert.equal(describeError(null, 'Invalid pixel data'), 'Invalid pixel data');
  assert.match(describeError('rate_limited'), /slow down/i);
});

test('limitCodePoints keeps a name field to 20 characters as the server counts them', async () => {
  const { limitCodePoints } = await import('../static/js/lib/protocol.js');
  const emoji = '😀'.repeat(25);
  // maxlength="20" would have stopped at 10 emoji (20 UTF-16 units).
  const r = limitCodePoints(emoji, emoji.length);
  assert.equal(Array.from(r.value).length, 20);
  assert.equal(r.value, '😀'.repeat(20));
  assert.equal(r.caret, r.value.length);
  assert.deepEqual(limitCodePoints('😀'.repeat(20), 40), { value: '😀'.repeat(20), caret: 40 }, 'fits: unchanged');
  // What was just pasted (before the caret) is cut, not the end of the name.
  const pasted = 'abc' + 'XYZ'.repeat(7) + 'def'; // 27 code points, caret after the paste
  const p = limitCodePoints(pasted, 3 + 21);
  assert.equal(p.value, 'abc' + 'XYZ'.repeat(7).slice(0, 14) + 'def');
  assert.equal(p.caret, 17);
  // A surrogate pair is never split.
  const q = limitCodePoints('a'.repeat(19) + '😀😀', 21);
  assert.equal(q.value, 'a'.repeat(19) + '😀');
  assert.equal(q.caret, 19);
});
