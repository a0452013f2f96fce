// @ts-check
// Colour helpers. Pixels travel as '#RRGGBB' strings and live in memory as
// 24-bit integers 0xRRGGBB, which are cheap to compare and to write into an
// ImageData buffer. No DOM access: unit-tested under node.

const HEX_RE = /^#[0-9A-Fa-f]{6}$/;

/** True for exactly '#' followed by six hex digits, the only form the server accepts. */
export function isHexColor(s) {
  return typeof s === 'string' && HEX_RE.test(s);
}

/**
 * Canonical upper-case '#RRGGBB', or null. Accepts '#rgb' and a missing '#'
 * because that is what people type; the result is always the wire form.
 */
export function normalizeHex(s) {
  if (typeof s !== 'string') return null;
  let t = s.trim();
  if (!t.startsWith('#')) t = '#' + t;
  if (/^#[0-9A-Fa-f]{3}$/.test(t)) t = '#' + t[1] + t[1] + t[2] + t[2] + t[3] + t[3];
  return HEX_RE.test(t) ? t.toUpperCase() : null;
}

/** '#RRGGBB' to 0xRRGGBB; throws on anything else so bugs surface early. */
export function hexToInt(hex) {
  if (!isHexColor(hex)) throw new TypeError(`not a #RRGGBB colour: ${String(hex)}`);
  return parseInt(hex.slice(1), 16);
}

/** 0xRRGGBB to upper-case '#RRGGBB'. */
export function intToHex(n) {
  return '#' + ((n & 0xffffff) >>> 0).toString(16).toUpperCase().padStart(6, '0');
}

export function rgbToInt(r, g, b) {
  return ((r & 255) << 16) | ((g & 255) << 8) | (b & 255);
}

export function intToRgb(n) {
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** WCAG relative luminance of 0xRRGGBB, 0 (black) .. 1 (white). */
export function relativeLuminance(n) {
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = intToRgb(n);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio between two colours, 1 .. 21. */
export function contrastRatio(a, b) {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** Black or white, whichever reads better on top of the colour (for outlines and labels). */
export function readableOn(n) {
  return contrastRatio(n, 0x000000) >= contrastRatio(n, 0xffffff) ? 0x000000 : 0xffffff;
}

/**
 * A stable, saturated colour for a name, so a person's cursor keeps its colour
 * across reloads and on every screen. Dark enough that white text on it passes
 * WCAG AA (4.5:1).
 */
export function colorForName(name) {
  let h = 2166136261;
  const s = String(name ?? '');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = (h >>> 0) % 360;
  // Lightness is lowered until white on top is readable; yellows need more.
  for (let l = 42; l >= 20; l -= 2) {
    const n = hslToInt(hue, 70, l);
    if (contrastRatio(n, 0xffffff) >= 4.5) return intToHex(n);
  }
  return intToHex(hslToInt(hue, 70, 20));
}

/** HSL (degrees, percent, percent) to 0xRRGGBB. */
export function hslToInt(h, s, l) {
  const sat = s / 100;
  const lig = l / 100;
  const k = (n) => (n + h / 30) % 12;
  const a = sat * Math.min(lig, 1 - lig);
  const f = (n) => lig - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return rgbToInt(Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255));
}

/** The 16-colour palette (the classic r/place set), in display order. */
export const PALETTE = Object.freeze([
  { hex: '#FFFFFF', name: 'White' },
  { hex: '#E4E4E4', name: 'Light grey' },
  { hex: '#888888', name: 'Grey' },
  { hex: '#222222', name: 'Black' },
  { hex: '#FFA7D1', name: 'Pink' },
  { hex: '#E50000', name: 'Red' },
  { hex: '#E59500', name: 'Orange' },
  { hex: '#A06A42', name: 'Brown' },
  { hex: '#E5D900', name: 'Yellow' },
  { hex: '#94E044', name: 'Lime' },
  { hex: '#02BE01', name: 'Green' },
  { hex: '#00D3DD', name: 'Cyan' },
  { hex: '#0083C7', name: 'Blue' },
  { hex: '#0000EA', name: 'Dark blue' },
  { hex: '#CF6EE4', name: 'Lilac' },
  { hex: '#820080', name: 'Purple' },
]);

/**
 * A colour as a person would say it: the palette's name ('Red'), else the
 * hex code. For screen-reader announcements.
 */
export function colorLabel(hex) {
  const c = normalizeHex(hex);
  if (!c) return '';
  const p = PALETTE.find((q) => q.hex === c);
  return p ? p.name : c;
}
