import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { fetchAnswered } from '../static/js/lib/http.js';

async function serve(handler) {
  const srv = createServer(handler);
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/`, close: () => { srv.closeAllConnections(); srv.close(); } };
}

test('a server that never answers is given up on', async (t) => {
  const srv = await serve(() => { /* never answers */ });
  t.after(srv.close);
  const started = Date.now();
  await assert.rejects(fetchAnswered(srv.url, {}, 200), (err) => err.name === 'TimeoutError' && /no answer from the server in 0.2 s/.test(err.message));
  assert.ok(Date.now() - started < 5000);
});

test('a body slower than the deadline is read whole once the answer has begun', async (t) => {
  const srv = await serve((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.write('a');
    setTimeout(() => res.end('b'), 400);
  });
  t.after(srv.close);
  const res = await fetchAnswered(srv.url, {}, 150);
  assert.equal(await res.text(), 'ab');
});

test('the caller can still abort, and hears its own reason', async (t) => {
  const srv = await serve(() => { /* never answers */ });
  t.after(srv.close);
  const ctl = new AbortController();
  const p = fetchAnswered(srv.url, { signal: ctl.signal }, 10000);
  ctl.abort();
  await assert.rejects(p, (err) => err.name === 'AbortError');
});

test('a signal aborted before the call aborts it at once', async (t) => {
  const srv = await serve(() => { /* never answers */ });
  t.after(srv.close);
  const ctl = new AbortController();
  ctl.abort();
  await assert.rejects(fetchAnswered(srv.url, { signal: ctl.signal }, 10000), (err) => err.name === 'AbortError');
});

test('the caller can abort the body after the answer has begun', async (t) => {
  const srv = await serve((req, res) => {
    res.writeHead(200);
    res.write('a'); // and never the rest
  });
  t.after(srv.close);
  const ctl = new AbortController();
  const res = await fetchAnswered(srv.url, { signal: ctl.signal }, 10000);
  const body = res.text();
  ctl.abort();
  await assert.rejects(body, (err) => err.name === 'AbortError');
});
