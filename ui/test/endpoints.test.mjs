import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveEndpoints, withSince } from '../static/js/lib/endpoints.js';

const http = { protocol: 'http:', host: 'localhost:3000', origin: 'http://localhost:3000' };
const https = { protocol: 'https:', host: 'pixels.example', origin: 'https://pixels.example' };

test('empty or missing config means same origin', () => {
  for (const cfg of [undefined, null, {}, { WS_URL: '', API_URL: '' }, 'junk']) {
    assert.deepEqual(resolveEndpoints(cfg, http), { wsUrl: 'ws://localhost:3000/ws', apiBase: 'http://localhost:3000' });
  }
  assert.deepEqual(resolveEndpoints({}, https), { wsUrl: 'wss://pixels.example/ws', apiBase: 'https://pixels.example' });
});

test('absolute URLs from separate services', () => {
  assert.deepEqual(resolveEndpoints({ WS_URL: 'ws://localhost:3002', API_URL: 'http://localhost:3001' }, http),
    { wsUrl: 'ws://localhost:3002', apiBase: 'http://localhost:3001' });
  assert.equal(resolveEndpoints({ WS_URL: 'https://gw.example/ws' }, http).wsUrl, 'wss://gw.example/ws');
  assert.equal(resolveEndpoints({ WS_URL: '/socket' }, https).wsUrl, 'wss://pixels.example/socket');
  assert.equal(resolveEndpoints({ WS_URL: 'gw.example:3002' }, https).wsUrl, 'wss://gw.example:3002');
});

test('API_URL: trailing slash and a stray /api are removed', () => {
  assert.equal(resolveEndpoints({ API_URL: 'http://api:3001/' }, http).apiBase, 'http://api:3001');
  assert.equal(resolveEndpoints({ API_URL: 'http://api:3001/api' }, http).apiBase, 'http://api:3001');
  assert.equal(resolveEndpoints({ API_URL: '/backend' }, http).apiBase, 'http://localhost:3000/backend');
});

test('withSince adds or replaces the resume parameter', () => {
  assert.equal(withSince('ws://h/ws', 5), 'ws://h/ws?since=5');
  assert.equal(withSince('ws://h/ws?x=1', 0), 'ws://h/ws?x=1&since=0');
  assert.equal(withSince('ws://h/ws?since=3', 9), 'ws://h/ws?since=9');
  assert.equal(withSince('ws://h/ws?since=3&x=1', 9), 'ws://h/ws?x=1&since=9');
  assert.equal(withSince('ws://h/ws', null), 'ws://h/ws');
  // The timeline the seq is on travels with it, and replaces an older one.
  assert.equal(withSince('ws://h/ws', 5, 'ab12'), 'ws://h/ws?since=5&epoch=ab12');
  assert.equal(withSince('ws://h/ws?since=3&epoch=old&canvas=x', 9, 'new'), 'ws://h/ws?canvas=x&since=9&epoch=new');
  assert.equal(withSince('ws://h/ws?since=3&epoch=old', 9, null), 'ws://h/ws?since=9');
  assert.equal(withSince('ws://h/ws', 5, 'a&b'), 'ws://h/ws?since=5&epoch=a%26b');
});
