// A small Chrome DevTools Protocol client over --remote-debugging-pipe (no
// WebSocket, no npm), for the opt-in browser tests. Not a test file itself.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The Chromium binary: $CHROMIUM, or the usual install locations. */
export function findChromium() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p) => p && existsSync(p)) || null;
}

/**
 * Launch headless Chromium with one page.
 * @returns {Promise<object>} page helpers: send, evaluate, waitFor, mouse, click, key, touch, screenshot, close,
 *   diagnostics (what the page reported: exceptions, console errors, failed requests, requests unanswered)
 */
export async function launchPage({ width = 1280, height = 800, mobile = false } = {}) {
  const bin = findChromium();
  if (!bin) throw new Error('chromium not found (set CHROMIUM)');
  const dir = mkdtempSync(join(tmpdir(), 'pp-chromium-'));
  const proc = spawn(bin, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--remote-debugging-pipe',
    `--user-data-dir=${dir}`, `--window-size=${width},${height}`], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const toChrome = proc.stdio[3];
  const fromChrome = proc.stdio[4];
  let id = 0;
  const waiting = new Map();
  let pending = '';
  fromChrome.on('data', (d) => {
    pending += d.toString();
    let nul;
    while ((nul = pending.indexOf('\0')) >= 0) {
      const msg = JSON.parse(pending.slice(0, nul));
      pending = pending.slice(nul + 1);
      if (msg.method) onEvent(msg.method, msg.params || {});
      const w = msg.id && waiting.get(msg.id);
      if (w) {
        waiting.delete(msg.id);
        if (msg.error) w.reject(new Error(`${w.method}: ${JSON.stringify(msg.error)}`));
        else w.resolve(msg.result);
      }
    }
  });
  // What went wrong in the page, for a test's error message: exceptions,
  // console errors, failed or refused requests, and the requests still
  // unanswered (a module that never arrives leaves no error at all).
  const t0 = Date.now();
  const problems = [];
  const note = (text) => {
    if (problems.length < 100) problems.push(`+${Date.now() - t0}ms ${text}`);
  };
  const requests = new Map(); // requestId -> "GET url", while unanswered
  const urls = new Map(); // requestId -> "GET url"
  const describe = (id) => urls.get(id) || `request ${id}`;
  const onEvent = (method, p) => {
    switch (method) {
      case 'Runtime.exceptionThrown': {
        const d = p.exceptionDetails || {};
        note(`exception: ${d.exception?.description || d.text} (${d.url || 'no url'}:${d.lineNumber}:${d.columnNumber})`);
        break;
      }
      case 'Runtime.consoleAPICalled':
        if (p.type === 'error' || p.type === 'assert') {
          note(`console.${p.type}: ${(p.args || []).map((a) => a.value ?? a.description ?? a.type).join(' ')}`);
        }
        break;
      case 'Log.entryAdded':
        if (p.entry?.level === 'error') note(`log (${p.entry.source}): ${p.entry.text}${p.entry.url ? ` ${p.entry.url}` : ''}`);
        break;
      case 'Network.requestWillBeSent': {
        const d = `${p.request.method} ${p.request.url}`;
        urls.set(p.requestId, d);
        requests.set(p.requestId, d);
        break;
      }
      case 'Network.responseReceived':
        if (p.response.status >= 400) note(`HTTP ${p.response.status} for ${describe(p.requestId)}`);
        break;
      case 'Network.loadingFinished':
        requests.delete(p.requestId);
        break;
      case 'Network.loadingFailed':
        requests.delete(p.requestId);
        note(`request failed: ${describe(p.requestId)}: ${p.errorText}${p.canceled ? ' (canceled)' : ''}${p.blockedReason ? ` (blocked: ${p.blockedReason})` : ''}`);
        break;
      case 'Inspector.targetCrashed':
        note('the page crashed');
        break;
      default:
    }
  };
  /** What the page reported so far, and the requests it still waits for (WebSockets excluded). */
  const diagnostics = () => ({
    problems: [...problems],
    unanswered: [...requests.values()].filter((r) => !/^GET wss?:/.test(r)),
  });
  let session;
  const send = (method, params = {}, timeoutMs = 10000) => new Promise((resolve, reject) => {
    const i = ++id;
    const timer = setTimeout(() => {
      waiting.delete(i);
      reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    waiting.set(i, {
      method,
      resolve: (v) => { clearTimeout(timer); resolve(v); },
      reject: (e) => { clearTimeout(timer); reject(e); },
    });
    const msg = { id: i, method, params };
    if (session && !method.startsWith('Target.') && !method.startsWith('Browser.')) msg.sessionId = session;
    toChrome.write(JSON.stringify(msg) + '\0');
  });
  const close = () => {
    try { proc.kill('SIGKILL'); } catch { /* already gone */ }
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* chromium may still hold files */ }
  };
  try {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    ({ sessionId: session } = await send('Target.attachToTarget', { targetId, flatten: true }));
    await send('Page.enable');
    await send('Runtime.enable');
    await send('Log.enable');
    await send('Network.enable');
    await send('Inspector.enable');
    if (mobile) {
      await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 3, mobile: true });
      await send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
    } else {
      await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    }
  } catch (e) {
    close();
    throw e;
  }
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`evaluate ${expression}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
    return r.result.value;
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const waitFor = async (expression, timeoutMs = 15000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await evaluate(expression).catch(() => false);
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for: ${expression}`);
      await sleep(30);
    }
  };
  const mouse = (type, x, y, extra = {}) => send('Input.dispatchMouseEvent', {
    type, x, y, button: 'left', buttons: type === 'mouseReleased' ? 0 : 1, clickCount: 1, ...extra,
  });
  const KEYCODES = { Enter: 13, Escape: 27, Tab: 9, ' ': 32, ArrowLeft: 37, ArrowUp: 38, ArrowRight: 39, ArrowDown: 40 };
  const key = async (k, { code = k, text, modifiers = 0 } = {}) => {
    const windowsVirtualKeyCode = KEYCODES[k] ?? (k.length === 1 ? k.toUpperCase().charCodeAt(0) : 0);
    await send('Input.dispatchKeyEvent', { type: text ? 'keyDown' : 'rawKeyDown', key: k, code, text, modifiers, windowsVirtualKeyCode });
    await send('Input.dispatchKeyEvent', { type: 'keyUp', key: k, code, modifiers, windowsVirtualKeyCode });
  };
  return {
    send,
    evaluate,
    waitFor,
    sleep,
    close,
    mouse,
    diagnostics,
    navigate: async (url) => {
      const r = await send('Page.navigate', { url });
      if (r.errorText) note(`navigation to ${url} failed: ${r.errorText}`);
    },
    click: async (x, y) => {
      await mouse('mousePressed', x, y);
      await mouse('mouseReleased', x, y);
    },
    key,
    touch: (type, points) => send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, i) => ({ x: p.x, y: p.y, id: p.id ?? i })) }),
    screenshot: async () => Buffer.from((await send('Page.captureScreenshot', { format: 'png' })).data, 'base64'),
  };
}
