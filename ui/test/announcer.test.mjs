import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_MESSAGES as M, StatusAnnouncer } from '../static/js/lib/announcer.js';

const run = (states) => {
  const a = new StatusAnnouncer();
  return states.map((s) => a.update(s)).filter((t) => t !== null);
};

test('start-up: loading, connecting (retries are not repeated), catching up, live', () => {
  assert.deepEqual(run(['loading', 'loading', 'connecting', 'waiting', 'connecting', 'waiting', 'connecting', 'syncing', 'live', 'live']),
    [M.loading, M.connecting, M.syncing, M.live]);
  assert.deepEqual(run(['loading', 'error', 'error', 'connecting', 'live']), [M.loading, M.error, M.connecting, M.live]);
});

test('an outage is announced once, however often it retries, and then live again', () => {
  const retries = [];
  for (let i = 0; i < 10; i++) retries.push('waiting', 'connecting');
  assert.deepEqual(run(['connecting', 'syncing', 'live', ...retries, 'syncing', 'live']),
    [M.connecting, M.syncing, M.live, M.lost, M.liveAgain]);
});

test('going offline during an outage is said once too; every outage gets its own message', () => {
  assert.deepEqual(run(['live', 'waiting', 'offline', 'connecting', 'offline', 'connecting', 'waiting', 'live', 'waiting', 'live']),
    [M.live, M.lost, M.offline, M.liveAgain, M.lost, M.liveAgain]);
});
