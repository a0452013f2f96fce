import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Roster, codePointCompare } from '../static/js/lib/presence.js';
import { decodeFrame, decodeMessage } from '../static/js/lib/protocol.js';

/** A presence message as the gateway encodes it, through the page's decoder. */
const msg = (o) => {
  const m = decodeMessage({ type: 'presence', joined: [], left: [], ...o });
  assert.ok(m, `decodes: ${JSON.stringify(o)}`);
  return m;
};

test('presence decodes with its pairs; a bad entry refuses the whole message', () => {
  const { messages, dropped } = decodeFrame(JSON.stringify({
    type: 'batch',
    events: [
      { type: 'connected', clientId: 'c_1', seq: 3, width: 50, height: 50 },
      { type: 'presence', reset: true, activeUsers: 3, named: 3, joined: [['Al', 2], ['Bo', 1]], left: [] },
      { type: 'presence', activeUsers: 3, named: 3, joined: [['Cy', 1]], left: [['Bo', 1]] },
    ],
  }));
  assert.equal(dropped, 0);
  assert.deepEqual(messages[1], { type: 'presence', reset: true, activeUsers: 3, named: 3, joined: [{ name: 'Al', count: 2 }, { name: 'Bo', count: 1 }], left: [] });
  assert.equal(messages[2].reset, false);
  for (const bad of [
    { activeUsers: -1, named: 0 },
    { activeUsers: 1, named: 1.5 },
    { activeUsers: 1 },
    { activeUsers: 1, named: 1, joined: 'Al' },
    { activeUsers: 1, named: 1, joined: [['Al', 0]] },
    { activeUsers: 1, named: 1, joined: [['Al', 1, 2]] },
    { activeUsers: 1, named: 1, left: [[5, 1]] },
    { activeUsers: 1, named: 1, joined: [['Al', 1]], left: null },
  ]) {
    assert.equal(decodeMessage({ type: 'presence', joined: [], left: [], ...bad }), null, JSON.stringify(bad));
  }
});

test('the whole list, then changes: names repeat once per connection', () => {
  const r = new Roster();
  assert.equal(r.apply(msg({ reset: true, activeUsers: 4, named: 3, joined: [['Al', 2], ['Bo', 1]] })), true);
  assert.deepEqual(r.users, ['Al', 'Al', 'Bo']);
  assert.equal(r.activeUsers, 4);
  // One Al renames to Cy; someone anonymous arrives.
  r.apply(msg({ activeUsers: 5, named: 3, joined: [['Cy', 1]], left: [['Al', 1]] }));
  assert.deepEqual(r.users, ['Al', 'Bo', 'Cy']);
  assert.equal(r.activeUsers, 5);
  // Bo leaves, a second Cy joins.
  r.apply(msg({ activeUsers: 5, named: 3, joined: [['Cy', 1]], left: [['Bo', 1]] }));
  assert.deepEqual(r.users, ['Al', 'Cy', 'Cy']);
  // Only the count changed.
  r.apply(msg({ activeUsers: 2, named: 3 }));
  assert.deepEqual(r.users, ['Al', 'Cy', 'Cy']);
  assert.equal(r.activeUsers, 2);
  assert.equal(r.mismatches, 0);
  // A reset replaces everything.
  r.apply(msg({ reset: true, activeUsers: 1, named: 1, joined: [['Zed', 1]] }));
  assert.deepEqual(r.users, ['Zed']);
});

test('changes before the whole list are not applied; a closed socket waits for the next whole list', () => {
  const r = new Roster();
  assert.equal(r.apply(msg({ activeUsers: 1, named: 1, joined: [['Al', 1]] })), false);
  assert.deepEqual(r.users, []);
  r.apply(msg({ reset: true, activeUsers: 1, named: 1, joined: [['Al', 1]] }));
  r.disconnected();
  // Still shown (the panel says it is stale), but no change applies to it.
  assert.deepEqual(r.users, ['Al']);
  assert.equal(r.apply(msg({ activeUsers: 2, named: 2, joined: [['Bo', 1]] })), false);
  assert.deepEqual(r.users, ['Al']);
  r.apply(msg({ reset: true, activeUsers: 2, named: 2, joined: [['Al', 1], ['Bo', 1]] }));
  assert.deepEqual(r.users, ['Al', 'Bo']);
});

test('a name leaving more often than it was there goes, and is counted as a mismatch', () => {
  const r = new Roster();
  r.apply(msg({ reset: true, activeUsers: 1, named: 1, joined: [['Al', 1]] }));
  r.apply(msg({ activeUsers: 0, named: 0, left: [['Al', 2], ['Bo', 1]] }));
  assert.deepEqual(r.users, []);
  assert.equal(r.mismatches, 0);
  r.apply(msg({ activeUsers: 1, named: 2, joined: [['Al', 1]] }));
  assert.equal(r.mismatches, 1);
});

test('v1 stats and user_list give the same view', () => {
  const r = new Roster();
  r.setList(['Bo', 'Al', 'Bo']);
  r.setActiveUsers(5);
  assert.deepEqual(r.users, ['Al', 'Bo', 'Bo']);
  assert.equal(r.activeUsers, 5);
});

test('names sort in code point order, as the server sorts them', () => {
  const names = ['b', '😀', 'a', '～', 'B', 'é'];
  assert.deepEqual([...names].sort(codePointCompare), ['B', 'a', 'b', 'é', '～', '😀']);
  assert.equal(codePointCompare('ab', 'a'), 1);
  assert.equal(codePointCompare('a', 'ab'), -1);
  assert.equal(codePointCompare('', ''), 0);
});

test('random joins, leaves and renames: the roster equals the server\'s list after every change', () => {
  // The server's side, as the gateway computes it: the change between two
  // sorted lists as multisets (domain.DiffNames).
  const count = (l) => l.reduce((m, n) => m.set(n, (m.get(n) || 0) + 1), new Map());
  const diff = (before, after) => {
    const b = count(before);
    const a = count(after);
    const joined = [...a].filter(([n, c]) => c > (b.get(n) || 0)).map(([n, c]) => [n, c - (b.get(n) || 0)]);
    const left = [...b].filter(([n, c]) => c > (a.get(n) || 0)).map(([n, c]) => [n, c - (a.get(n) || 0)]);
    return { joined, left };
  };
  let seed = 7;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const conns = [];
  const r = new Roster();
  r.apply(msg({ reset: true, activeUsers: 0, named: 0 }));
  let sent = [];
  for (let step = 0; step < 1000; step++) {
    for (let k = 0; k <= rnd(3); k++) {
      const name = rnd(5) === 0 ? '' : `u${rnd(30)}`;
      const op = conns.length ? rnd(3) : 0;
      if (op === 0) conns.push(name);
      else if (op === 1) conns.splice(rnd(conns.length), 1);
      else conns[rnd(conns.length)] = name;
    }
    const now = conns.filter(Boolean).sort(codePointCompare);
    r.apply(msg({ activeUsers: conns.length, named: now.length, ...diff(sent, now) }));
    sent = now;
    assert.deepEqual(r.users, now, `step ${step}`);
    assert.equal(r.activeUsers, conns.length);
  }
  assert.equal(r.mismatches, 0);
});
