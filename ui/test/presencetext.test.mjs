// What the artists panel says about the unnamed (lib/presencetext.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unnamedText } from '../static/js/lib/presencetext.js';

test('alone and without a name: it is us, not "1 without a name"', () => {
  assert.equal(unnamedText({ users: [], activeUsers: 1, me: '' }), 'You, without a name (type one above to be listed)');
});

test('without a name among others without one: us, then the others', () => {
  assert.equal(unnamedText({ users: ['Ada'], activeUsers: 3, me: '' }),
    'You, without a name (type one above to be listed), and 1 other without a name');
  assert.equal(unnamedText({ users: [], activeUsers: 4, me: '' }),
    'You, without a name (type one above to be listed), and 3 others without a name');
});

test('with a name we are in the list: the unnamed are all others', () => {
  assert.equal(unnamedText({ users: ['Ada', 'Me'], activeUsers: 2, me: 'Me' }), '');
  assert.equal(unnamedText({ users: ['Me'], activeUsers: 3, me: 'Me' }), '+ 2 without a name');
});

test('a count behind the list (presence in flight) says nothing odd', () => {
  assert.equal(unnamedText({ users: ['Ada', 'Bob'], activeUsers: 1, me: 'Ada' }), '');
  assert.equal(unnamedText({ users: ['Ada'], activeUsers: 1, me: '' }), '', 'our connection not counted yet');
});
