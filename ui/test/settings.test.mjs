// The creator's settings (lib/settings.js): the name check, the PATCH body,
// the answer validated, what a refusal says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCanvasName, MAX_NAME, patchBody, settingsAnswer, settingsErrorText } from '../static/js/lib/settings.js';
import { checkNewCanvas } from '../static/js/lib/lobby.js';

const INV = 'AbCdEfGhIjKlMnOpQrSt_-';

test('checkCanvasName: 1 to 40 characters counted as code points, trimmed', () => {
  assert.deepEqual(checkCanvasName('  Night Sky '), { ok: true, name: 'Night Sky' });
  assert.equal(MAX_NAME, 40);
  assert.match(/** @type {any} */ (checkCanvasName('   ')).error, /Give the canvas a name/);
  assert.match(/** @type {any} */ (checkCanvasName('')).error, /Give the canvas a name/);
  assert.deepEqual(checkCanvasName('x'.repeat(40)), { ok: true, name: 'x'.repeat(40) });
  assert.match(/** @type {any} */ (checkCanvasName('x'.repeat(41))).error, /at most 40 characters \(this one has 41\)/);
  // 40 emoji are 80 UTF-16 units but 40 characters.
  assert.equal(checkCanvasName('🎨'.repeat(40)).ok, true);
  assert.equal(checkCanvasName('🎨'.repeat(41)).ok, false);
  // Markup is just a name here; the page only ever sets it as text.
  assert.deepEqual(checkCanvasName('<img src=x onerror=alert(1)>'), { ok: true, name: '<img src=x onerror=alert(1)>' });
  // The lobby's form uses the same rule.
  assert.deepEqual(checkNewCanvas({ name: 'x'.repeat(41), width: '', height: '', private: false }),
    { ok: false, field: 'name', error: 'A name is at most 40 characters (this one has 41).' });
});

test('patchBody: only the fields that change', () => {
  assert.deepEqual(patchBody({ name: 'A' }), { name: 'A' });
  assert.deepEqual(patchBody({ private: false }), { private: false });
  assert.deepEqual(patchBody({ name: 'A', private: true }), { name: 'A', private: true });
  assert.deepEqual(patchBody({}), {});
});

test('settingsAnswer: the canvas a PATCH answered, the invite only for a private one', () => {
  const base = { slug: 's', name: 'New', width: 8, height: 8, private: false, archived: false, url: '/c/s' };
  assert.deepEqual(settingsAnswer(base), { name: 'New', private: false, archived: false, invite: null });
  assert.deepEqual(settingsAnswer({ ...base, private: true, invite: INV }), { name: 'New', private: true, archived: false, invite: INV });
  assert.deepEqual(settingsAnswer({ ...base, private: true }), { name: 'New', private: true, archived: false, invite: null });
  assert.equal(settingsAnswer({ ...base, private: false, invite: INV }).invite, null, 'a public canvas has no invite');
  assert.equal(settingsAnswer({ ...base, private: true, invite: 'not a token' }).invite, null);
  assert.equal(settingsAnswer({ ...base, archived: true }).archived, true);
  for (const bad of [null, 'x', [], {}, { ...base, name: '' }, { ...base, name: 3 }, { ...base, private: 'yes' }]) {
    assert.equal(settingsAnswer(bad), null, JSON.stringify(bad));
  }
});

test('settingsErrorText: the server\'s 400 as it is, plain words otherwise', () => {
  assert.equal(settingsErrorText(400, { error: 'Invalid canvas name: 1 to 40 characters' }), 'Invalid canvas name: 1 to 40 characters');
  assert.equal(settingsErrorText(400, null), 'The server refused this change.');
  assert.match(settingsErrorText(409, { error: 'x' }), /archived canvas cannot be changed/);
  assert.match(settingsErrorText(403, null), /no longer holds the key/);
  assert.match(settingsErrorText(404, null), /no longer holds the key/);
  assert.match(settingsErrorText(429, null), /try again/);
  assert.match(settingsErrorText(0, null), /not answering/);
  assert.match(settingsErrorText(503, { error: 'down' }), /not answering/);
  assert.equal(settingsErrorText(418, { error: 'teapot' }), 'teapot');
  assert.equal(settingsErrorText(418, null), 'The server refused this change (HTTP 418).');
});
