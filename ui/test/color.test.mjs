import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isHexColor, normalizeHex, hexToInt, intToHex, contrastRatio, readableOn, colorForName, PALETTE, hslToInt,
} from '../static/js/lib/color.js';

test('isHexColor accepts exactly #RRGGBB like the server', () => {
  for (const ok of ['#000000', '#abcdef', '#ABCDEF', '#0aF19c']) assert.equal(isHexColor(ok), true, ok);
  for (const bad of ['#abc', 'abcdef', '#abcdefa', '#gggggg', ' #abcdef', '#abcdef ', '', null, 0xabcdef, 'red']) {
    assert.equal(isHexColor(bad), false, String(bad));
  }
});

test('normalizeHex gives the canonical wire form or null', () => {
  assert.equal(normalizeHex('#abcdef'), '#ABCDEF');
  assert.equal(normalizeHex('abcdef'), '#ABCDEF');
  assert.equal(normalizeHex('#f0a'), '#FF00AA');
  assert.equal(normalizeHex('  #00ff00 '), '#00FF00');
  assert.equal(normalizeHex('#12345'), null);
  assert.equal(normalizeHex('blue'), null);
  assert.equal(normalizeHex(undefined), null);
});

test('hex and int round-trip', () => {
  for (const h of ['#000000', '#FFFFFF', '#0083C7', '#E50000', '#010203']) assert.equal(intToHex(hexToInt(h)), h);
  assert.equal(hexToInt('#0000ff'), 255);
  assert.equal(intToHex(0x1), '#000001');
  assert.throws(() => hexToInt('#12'), TypeError);
});

test('contrast ratio matches WCAG reference values', () => {
  assert.equal(Math.round(contrastRatio(0x000000, 0xffffff)), 21);
  assert.equal(contrastRatio(0x777777, 0x777777), 1);
  assert.ok(Math.abs(contrastRatio(0x777777, 0xffffff) - 4.48) < 0.01);
});

test('readableOn picks black on light and white on dark', () => {
  assert.equal(readableOn(0xffffff), 0x000000);
  assert.equal(readableOn(0xe5d900), 0x000000);
  assert.equal(readableOn(0x0000ea), 0xffffff);
  assert.equal(readableOn(0x222222), 0xffffff);
});

test('colorForName is stable and always readable with white text', () => {
  assert.equal(colorForName('Alice'), colorForName('Alice'));
  assert.notEqual(colorForName('Alice'), colorForName('Bob'));
  for (const n of ['Alice', 'Bob', 'Carol', 'Dave', 'Eve', 'Mallory', '', 'Anonymous', '名前', 'x'.repeat(20)]) {
    const c = colorForName(n);
    assert.ok(isHexColor(c), c);
    assert.ok(contrastRatio(hexToInt(c), 0xffffff) >= 4.5, `${n} -> ${c}`);
  }
});

test('hslToInt hits the primaries', () => {
  assert.equal(hslToInt(0, 100, 50), 0xff0000);
  assert.equal(hslToInt(120, 100, 50), 0x00ff00);
  assert.equal(hslToInt(240, 100, 50), 0x0000ff);
});

test('palette has 16 distinct valid colours', () => {
  assert.equal(PALETTE.length, 16);
  assert.equal(new Set(PALETTE.map((p) => p.hex)).size, 16);
  for (const p of PALETTE) assert.ok(isHexColor(p.hex) && p.hex === p.hex.toUpperCase() && p.name);
});

test('colorLabel: palette names, else the hex code', async () => {
  const { colorLabel } = await import('../static/js/lib/color.js');
  assert.equal(colorLabel('#E50000'), 'Red');
  assert.equal(colorLabel('#e50000'), 'Red');
  assert.equal(colorLabel('#123456'), '#123456');
  assert.equal(colorLabel('nope'), '');
});
