// Browser tests of the canvases pages (docs/canvases.md, "The pages"):
// the lobby at /canvases and the canvas page at /c/{slug}, in headless
// Chromium against the stand-in server (devserver.mjs). Opt-in like
// browser.test.mjs:
//
//   UI_E2E=1 node --test ui/test/
//   UI_E2E=1 UI_SCREENSHOTS=/tmp/shots node --test ui/test/canvases.browser.test.mjs   # also keep screenshots

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer } from './devserver.mjs';
import { findChromium, launchPage } from './support/cdp.mjs';

const enabled = process.env.UI_E2E === '1';
const skip = enabled ? false : 'set UI_E2E=1 to run the browser tests (they need Chromium)';
const shots = process.env.UI_SCREENSHOTS || '';

const RECORD_POLICY_VIOLATIONS = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`;

const LIVE = 'window.__pixelPlayground && window.__pixelPlayground.state().connected';

async function newPage(t, srv, opts = {}) {
  const page = await launchPage(opts);
  await page.send('Page.addScriptToEvaluateOnNewDocument', { source: RECORD_POLICY_VIOLATIONS });
  t.after(async () => {
    const blocked = await page.evaluate('window.__cspViolations || []').catch(() => []);
    page.close();
    assert.deepEqual(blocked, [], 'the page\'s Content-Security-Policy blocked something');
  });
  page.open = async (path, until = LIVE) => {
    await page.navigate(`${srv.url}${path}`);
    try {
      await page.waitFor(until, 20000);
    } catch (e) {
      const seen = await page.evaluate(`JSON.stringify({ href: location.href, title: document.title,
        app: window.__pixelPlayground ? window.__pixelPlayground.state() : null, loading: document.getElementById('loading-text')?.textContent })`).catch(String);
      throw new Error(`${e.message}; the page: ${seen}; page reports: ${JSON.stringify(page.diagnostics(), null, 1)}`);
    }
  };
  page.shot = async (name) => {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    const file = join(shots, `${name}.png`);
    writeFileSync(file, await page.screenshot());
    console.log(`screenshot: ${file}`);
  };
  page.centreOf = (sel) => page.evaluate(`(() => { const r = document.querySelector(${JSON.stringify(sel)}).getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
  page.type = async (sel, text) => {
    const p = await page.centreOf(sel);
    await page.click(p.x, p.y);
    await page.evaluate(`document.querySelector(${JSON.stringify(sel)}).select?.()`);
    await page.send('Input.insertText', { text });
  };
  return page;
}

async function server(t, opts) {
  if (!findChromium()) throw new Error('UI_E2E=1 but no Chromium found (set CHROMIUM)');
  const srv = await startDevServer(opts);
  t.after(() => srv.close());
  return srv;
}

const min = 60000;

test('lobby: lists by activity, names as text, searches, creates a canvas and goes to it', { skip, timeout: 90000 }, async (t) => {
  const now = Date.now();
  const srv = await server(t, { canvases: [
    { name: 'Quiet corner', width: 32, height: 32, lastActivity: now - 3 * 3600 * 1000 },
    { name: 'Night Sky', width: 64, height: 32, lastActivity: now - 3 * min, bots: 2 },
    { name: '<img src=x onerror=alert(1)>', width: 16, height: 16, lastActivity: now - 10 * min },
    { name: 'Hidden', private: true, lastActivity: now },
  ] });
  const page = await newPage(t, srv);
  await page.open('/canvases', 'document.querySelectorAll(".canvas-card").length === 3');
  const cards = await page.evaluate(`[...document.querySelectorAll('.canvas-card')].map((a) => ({
    href: a.getAttribute('href'), name: a.querySelector('.cc-name').textContent, meta: a.querySelector('.cc-meta').textContent,
    img: a.querySelector('img').getAttribute('src'), lazy: a.querySelector('img').loading }))`);
  assert.deepEqual(cards.map((c) => c.name), ['Night Sky', '<img src=x onerror=alert(1)>', 'Quiet corner']);
  assert.equal(cards[0].href, '/c/night-sky');
  assert.match(cards[0].meta, /64 × 32.*2 online.*active (just now|\d+ s ago)/);
  assert.match(cards[1].meta, /16 × 16.*nobody drawing.*active 10 min ago/);
  assert.match(cards[2].meta, /nobody drawing.*active 3 h ago/);
  assert.match(cards[0].img, /\/api\/canvases\/night-sky\/canvas\.png\?scale=2$/);
  assert.equal(cards[0].lazy, 'lazy');
  assert.equal(await page.evaluate('document.querySelectorAll(".canvas-list img").length'), 3, 'a name is never markup');
  await page.waitFor('[...document.querySelectorAll(".cc-thumb img")].every((i) => i.complete && i.naturalWidth > 0)', 5000);
  await page.shot('lobby');

  // Search, reflected in the URL (?q=); a reload keeps it.
  await page.type('#q', 'sky');
  await page.waitFor('document.querySelectorAll(".canvas-card").length === 1');
  assert.equal(await page.evaluate('location.search'), '?q=sky');
  await page.open('/canvases?q=quiet', 'document.querySelectorAll(".canvas-card").length === 1');
  assert.equal(await page.evaluate('document.getElementById("q").value'), 'quiet');
  await page.type('#q', 'zzz');
  await page.waitFor('/No public canvas matches/.test(document.getElementById("list-status").textContent)');

  // The form: a bad size is refused with a clear message, by the page first.
  await page.type('#nc-name', 'My Mural');
  await page.type('#nc-width', '0');
  await page.key('Enter', { text: '\r' });
  await page.waitFor('/width is a whole number/.test(document.getElementById("nc-error").textContent)', 3000);
  assert.equal(await page.evaluate('document.activeElement.id'), 'nc-width');
  assert.equal(await page.evaluate('document.getElementById("nc-width").getAttribute("aria-invalid")'), 'true');
  // Then by the server (the stand-in allows 1024 a side).
  await page.type('#nc-width', '2000');
  await page.key('Enter', { text: '\r' });
  await page.waitFor('/Invalid canvas size/.test(document.getElementById("nc-error").textContent)', 3000);
  // A good one: created, its creator key kept, and the page is the new canvas.
  await page.type('#nc-width', '40');
  await page.type('#nc-height', '20');
  const submit = await page.centreOf('#nc-submit');
  await page.click(submit.x, submit.y);
  await page.waitFor(`location.pathname === '/c/my-mural' && ${LIVE}`, 20000);
  const s = await page.evaluate('window.__pixelPlayground.state()');
  assert.deepEqual([s.canvas, s.canvasName, s.width, s.height], ['my-mural', 'My Mural', 40, 20]);
  assert.equal(await page.evaluate('document.title'), 'My Mural · Pixel Playground');
  assert.equal(await page.evaluate('document.getElementById("canvas-name").textContent'), 'My Mural');
  const kept = JSON.parse(await page.evaluate('localStorage.getItem("pixelPlayground.canvas.my-mural")'));
  assert.match(kept.creatorKey, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(await page.evaluate('document.getElementById("owner-menu").hidden'), false, 'the creator sees the settings');
  assert.equal(await page.evaluate('document.getElementById("lobby-link").getAttribute("href")'), '/canvases');
});

test('canvas page: two pages on one canvas see each other, main does not; a position link opens there; share copies it', { skip, timeout: 90000 }, async (t) => {
  const srv = await server(t, { canvases: [{ name: 'Night Sky', width: 64, height: 32, lastActivity: Date.now() }] });
  const a = await newPage(t, srv);
  const b = await newPage(t, srv);
  await a.open('/c/night-sky');
  await b.open('/c/night-sky?x=10&y=5&zoom=8');
  // b opened at the link's position: pixel (10, 5) in the middle of its stage, at 8 px per pixel.
  const sb = await b.evaluate('window.__pixelPlayground.state()');
  assert.equal(sb.view.scale, 8);
  assert.equal(await b.evaluate('document.title'), 'Night Sky · Pixel Playground');
  assert.equal(await b.evaluate('document.getElementById("owner-menu").hidden'), true, 'not the creator');

  const p = await a.evaluate('window.__pixelPlayground.clientPointOf(3, 4)');
  await a.click(p.x, p.y);
  await a.waitFor('window.__pixelPlayground.state().pendingCount === 0');
  await b.waitFor('window.__pixelPlayground.pixelAt(3, 4) === "#222222"', 5000);
  const q = await b.evaluate('window.__pixelPlayground.clientPointOf(10, 5)');
  await b.click(q.x, q.y);
  await a.waitFor('window.__pixelPlayground.pixelAt(10, 5) === "#222222"', 5000);
  assert.equal(srv.canvasState('night-sky').pixel(3, 4).color, '#222222');
  assert.equal(srv.state().pixel(3, 4).color, '#FFFFFF', 'main is another canvas');
  assert.equal(srv.state().seq, 0);
  await b.shot('canvas');

  // Share: the link to what b has in view, copied.
  const origin = new URL(srv.url).origin;
  await b.send('Browser.grantPermissions', { origin, permissions: ['clipboardReadWrite', 'clipboardSanitizedWrite'] });
  const share = await b.centreOf('#share');
  await b.click(share.x, share.y);
  await b.waitFor('/copied|box/.test(document.getElementById("toasts").textContent)', 3000);
  const want = `${srv.url}/c/night-sky?x=10&y=5&zoom=8`;
  const copied = await b.evaluate('navigator.clipboard.readText().catch((e) => "refused: " + e)');
  assert.equal(copied, want);
  assert.match(await b.evaluate('document.getElementById("toasts").textContent'), /Link to this spot copied/);
});

test('canvas page: a private canvas without its invite is "not found"; with it, it opens and shares the invite', { skip, timeout: 60000 }, async (t) => {
  const srv = await server(t, { canvases: [{ name: 'Secret garden', width: 20, height: 20, private: true }] });
  const r = await fetch(`${srv.url}/api/canvases`, { method: 'POST', body: JSON.stringify({ name: 'Mine', width: 8, height: 8, private: true }) });
  const mine = await r.json();
  const page = await newPage(t, srv);
  await page.open('/c/secret-garden', '/Canvas not found/.test(document.getElementById("loading-text").textContent)');
  assert.equal(await page.evaluate('document.title'), 'Canvas not found · Pixel Playground');
  assert.equal(await page.evaluate('document.querySelector(".missing-link").getAttribute("href")'), '/canvases');
  assert.equal(await page.evaluate('window.__pixelPlayground.state().ready'), false);
  // A canvas that does not exist looks the same.
  await page.open('/c/nothing-here', '/Canvas not found/.test(document.getElementById("loading-text").textContent)');
  // With the invite: it opens, the invite is kept and goes into a share link.
  await page.open(`/c/mine?invite=${mine.invite}`);
  assert.equal(await page.evaluate('window.__pixelPlayground.state().canvasName'), 'Mine');
  await page.open('/c/mine');
  const share = await page.centreOf('#share');
  await page.click(share.x, share.y);
  await page.waitFor('document.getElementById("share-url").value !== ""', 3000);
  assert.match(await page.evaluate('document.getElementById("share-url").value'), new RegExp(`/c/mine\\?invite=${mine.invite}&x=\\d+&y=\\d+&zoom=`));
});

/** A canvas made through the API, and a page of this browser holding its creator key. */
async function creatorOf(t, srv, body) {
  const r = await fetch(`${srv.url}/api/canvases`, { method: 'POST', body: JSON.stringify(body) });
  const made = await r.json();
  assert.equal(r.status, 201, JSON.stringify(made));
  const page = await newPage(t, srv);
  await page.open('/canvases', 'document.getElementById("list-status") !== null');
  await page.evaluate(`localStorage.setItem(${JSON.stringify(`pixelPlayground.canvas.${made.slug}`)}, ${JSON.stringify(JSON.stringify({ creatorKey: made.creatorKey }))})`);
  return { page, made };
}

const MENU = '#owner-menu > summary';
const ERROR = 'document.getElementById("owner-error").textContent';

test('settings: the creator renames (checked first, the server\'s refusal as it says); title and top bar change; others see it, without settings', { skip, timeout: 90000 }, async (t) => {
  const srv = await server(t, {});
  const { page: a } = await creatorOf(t, srv, { name: 'Mine', width: 16, height: 16 });
  const b = await newPage(t, srv);
  await b.open('/c/mine');
  assert.equal(await b.evaluate('document.getElementById("owner-menu").hidden'), true, 'not the creator: no settings');
  await a.open('/c/mine');
  assert.equal(await a.evaluate('document.getElementById("owner-menu").hidden'), false);

  // Open the menu: the field holds the name; the private switch is off.
  const menu = await a.centreOf(MENU);
  await a.click(menu.x, menu.y);
  await a.waitFor('document.getElementById("owner-menu").open && document.getElementById("owner-name").value === "Mine"', 3000);
  assert.equal(await a.evaluate('document.getElementById("owner-private").checked'), false);
  assert.equal(await a.evaluate('document.getElementById("owner-share-hint").hidden'), true);

  // Too long: refused by the page, nothing sent, the field marked and focused.
  await a.type('#owner-name', 'x'.repeat(41));
  await a.key('Enter', { text: '\r' });
  await a.waitFor(`/at most 40 characters/.test(${ERROR})`, 3000);
  assert.equal(await a.evaluate('document.activeElement.id'), 'owner-name');
  assert.equal(await a.evaluate('document.getElementById("owner-name").getAttribute("aria-invalid")'), 'true');
  // Nothing visible: the page lets it through, the server's 400 is shown as it is.
  await a.type('#owner-name', '\u200b');
  await a.key('Enter', { text: '\r' });
  await a.waitFor(`${ERROR} === "Invalid canvas name: 1 to 40 characters"`, 3000);
  assert.equal(await a.evaluate('document.title'), 'Mine · Pixel Playground');

  // A good name, markup in it as text: the title and the top bar change at once.
  const name = 'Night <b>Owl</b>';
  await a.type('#owner-name', name);
  await a.key('Enter', { text: '\r' });
  await a.waitFor(`document.title === ${JSON.stringify(`${name} · Pixel Playground`)}`, 3000);
  assert.equal(await a.evaluate('document.getElementById("canvas-name").textContent'), name);
  assert.equal(await a.evaluate('document.querySelectorAll("#canvas-name *, #owner-menu b").length'), 0, 'a name is never markup');
  assert.equal(await a.evaluate('window.__pixelPlayground.state().canvasName'), name);
  assert.equal(await a.evaluate(ERROR), '');
  assert.equal(await a.evaluate('document.getElementById("owner-name").hasAttribute("aria-invalid")'), false);
  assert.match(await a.evaluate('document.getElementById("toasts").textContent'), /Renamed/);
  // Esc closes the menu and gives the focus back to its button.
  await a.key('Escape');
  await a.waitFor('!document.getElementById("owner-menu").open', 3000);
  assert.equal(await a.evaluate('document.activeElement === document.querySelector("#owner-menu > summary")'), true);

  // The other page, reloaded, has the new name (and still no settings).
  await b.open('/c/mine');
  assert.equal(await b.evaluate('document.title'), `${name} · Pixel Playground`);
  assert.equal(await b.evaluate('document.getElementById("canvas-name").textContent'), name);
  assert.equal(await b.evaluate('document.getElementById("owner-menu").hidden'), true);
  const wire = await (await fetch(`${srv.url}/api/canvases/mine`)).json();
  assert.equal(wire.name, name);
});

test('settings: the creator makes the canvas private (off the lobby, the invite link opens it, a bare link does not) and public again', { skip, timeout: 90000 }, async (t) => {
  const srv = await server(t, {});
  const { page: a, made } = await creatorOf(t, srv, { name: 'Mine', width: 16, height: 16 });
  const b = await newPage(t, srv);
  await b.open('/canvases', 'document.querySelectorAll(".canvas-card").length === 1');
  await a.open('/c/mine');

  // By keyboard: focus the switch inside the open menu, Space toggles it.
  const menu = await a.centreOf(MENU);
  await a.click(menu.x, menu.y);
  await a.waitFor('document.getElementById("owner-menu").open', 3000);
  await a.evaluate('document.getElementById("owner-private").focus()');
  await a.key(' ', { code: 'Space', text: ' ' });
  await a.waitFor('document.getElementById("owner-private").checked && !document.getElementById("owner-private").disabled', 3000);
  await a.waitFor('!document.getElementById("owner-share-hint").hidden', 3000);
  assert.equal(await a.evaluate('document.activeElement.id'), 'owner-private');
  assert.match(await a.evaluate('document.getElementById("toasts").textContent'), /Private now/);
  assert.equal(await a.evaluate('document.getElementById("owner-invite").hidden'), false, 'a private canvas can get a new invite');
  const kept = JSON.parse(await a.evaluate('localStorage.getItem("pixelPlayground.canvas.mine")'));
  assert.equal(kept.creatorKey, made.creatorKey);
  assert.match(kept.invite, /^[A-Za-z0-9_-]{22}$/);
  const invite = kept.invite;

  // The creator's page reconnects with the invite (a connection without it is refused now).
  srv.restartCanvas('mine');
  await a.waitFor(`!(${LIVE})`, 5000).catch(() => {});
  await a.waitFor(LIVE, 10000);
  // Its share link carries the invite.
  await a.key('Escape');
  const share = await a.centreOf('#share');
  await a.click(share.x, share.y);
  await a.waitFor('document.getElementById("share-url").value !== ""', 3000);
  assert.match(await a.evaluate('document.getElementById("share-url").value'), new RegExp(`/c/mine\\?invite=${invite}&`));

  // The lobby no longer lists it; a bare link is "Canvas not found"; the invite link opens it.
  await b.open('/canvases', '/No public canvas/.test(document.getElementById("list-status").textContent)');
  assert.equal(await b.evaluate('document.querySelectorAll(".canvas-card").length'), 0);
  await b.open('/c/mine', '/Canvas not found/.test(document.getElementById("loading-text").textContent)');
  assert.equal(await b.evaluate('document.title'), 'Canvas not found · Pixel Playground');
  await b.open(`/c/mine?invite=${invite}`);
  assert.equal(await b.evaluate('window.__pixelPlayground.state().canvasName'), 'Mine');
  assert.equal(await b.evaluate('document.getElementById("owner-menu").hidden'), true, 'an invite is not the creator key');

  // Public again: the invite is forgotten, the lobby lists it, a bare link opens it.
  await a.click(menu.x, menu.y);
  await a.waitFor('document.getElementById("owner-menu").open', 3000);
  const box = await a.centreOf('#owner-private');
  await a.click(box.x, box.y);
  await a.waitFor('!document.getElementById("owner-private").checked && !document.getElementById("owner-private").disabled', 3000);
  await a.waitFor('document.getElementById("owner-share-hint").hidden', 3000);
  assert.match(await a.evaluate('document.getElementById("toasts").textContent'), /Public now/);
  assert.deepEqual(JSON.parse(await a.evaluate('localStorage.getItem("pixelPlayground.canvas.mine")')), { creatorKey: made.creatorKey, invite: null });
  const c = await newPage(t, srv);
  await c.open('/c/mine');
  await c.open('/canvases', 'document.querySelectorAll(".canvas-card").length === 1');
});
