// @ts-check
// Viewport maths. A view is {scale, ox, oy}: canvas pixel (x, y) has its
// top-left corner at stage point (ox + x*scale, oy + y*scale), in CSS pixels
// relative to the stage (the <canvas> element). Views are plain immutable
// objects: every function returns a new one.

export const MAX_SCALE = 80;

/** Stage point to canvas coordinates (fractional). */
export function screenToCanvas(view, sx, sy) {
  return { x: (sx - view.ox) / view.scale, y: (sy - view.oy) / view.scale };
}

/** Canvas coordinates to stage point. */
export function canvasToScreen(view, x, y) {
  return { x: view.ox + x * view.scale, y: view.oy + y * view.scale };
}

/** The integer pixel under a stage point, or null outside the canvas. */
export function pixelAt(view, sx, sy, width, height) {
  const p = screenToCanvas(view, sx, sy);
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  return x >= 0 && y >= 0 && x < width && y < height ? { x, y } : null;
}

/** The largest scale at which the whole canvas fits in the stage with padding. */
export function fitScale(stageW, stageH, width, height, padding = 16) {
  const availW = Math.max(1, stageW - 2 * padding);
  const availH = Math.max(1, stageH - 2 * padding);
  const s = Math.min(availW / width, availH / height);
  // Whole numbers keep every pixel the same size on screen, which matters a
  // lot for pixel art; below 1 there is no choice.
  return s >= 1 ? Math.min(MAX_SCALE, Math.floor(s)) : s;
}

/** The view showing the whole canvas, centred on whole CSS pixels. */
export function fitView(stageW, stageH, width, height, padding = 16) {
  const scale = fitScale(stageW, stageH, width, height, padding);
  return {
    scale,
    ox: Math.round((stageW - width * scale) / 2),
    oy: Math.round((stageH - height * scale) / 2),
  };
}

/** How far zoom may go: out to a quarter of "fit" (at most 1:1), in to MAX_SCALE. */
export function zoomLimits(stageW, stageH, width, height) {
  const fit = fitScale(stageW, stageH, width, height);
  return { min: Math.min(fit, 1) / 4, max: Math.max(MAX_SCALE, fit) };
}

export function clampScale(scale, limits) {
  return Math.min(limits.max, Math.max(limits.min, scale));
}

/** Multiply the scale by factor, keeping the canvas point under (sx, sy) fixed. */
export function zoomAt(view, factor, sx, sy, limits) {
  const scale = clampScale(view.scale * factor, limits);
  const k = scale / view.scale;
  return { scale, ox: sx - (sx - view.ox) * k, oy: sy - (sy - view.oy) * k };
}

/** Set an absolute scale around (sx, sy). */
export function zoomTo(view, scale, sx, sy, limits) {
  return zoomAt(view, scale / view.scale, sx, sy, limits);
}

export function panBy(view, dx, dy) {
  return { scale: view.scale, ox: view.ox + dx, oy: view.oy + dy };
}

/**
 * Two-finger gesture: the canvas point that was under the fingers' midpoint
 * when the gesture started stays under the current midpoint, and the scale
 * follows the change of distance between the fingers.
 */
export function pinchView(startView, startMid, startDist, mid, dist, limits) {
  const ratio = startDist > 0 ? dist / startDist : 1;
  const scale = clampScale(startView.scale * ratio, limits);
  const anchor = screenToCanvas(startView, startMid.x, startMid.y);
  return { scale, ox: mid.x - anchor.x * scale, oy: mid.y - anchor.y * scale };
}

/**
 * Keep at least `margin` CSS pixels of the canvas on the stage in each
 * direction so it can never be lost off-screen.
 */
export function clampView(view, stageW, stageH, width, height, margin = 48) {
  const w = width * view.scale;
  const h = height * view.scale;
  const mx = Math.min(margin, w, stageW);
  const my = Math.min(margin, h, stageH);
  const ox = Math.min(stageW - mx, Math.max(mx - w, view.ox));
  const oy = Math.min(stageH - my, Math.max(my - h, view.oy));
  return { scale: view.scale, ox, oy };
}

/** Integer pixel range [x0, x1) × [y0, y1) visible on the stage. */
export function visibleRange(view, stageW, stageH, width, height) {
  const a = screenToCanvas(view, 0, 0);
  const b = screenToCanvas(view, stageW, stageH);
  return {
    x0: Math.max(0, Math.floor(a.x)),
    y0: Math.max(0, Math.floor(a.y)),
    x1: Math.min(width, Math.ceil(b.x)),
    y1: Math.min(height, Math.ceil(b.y)),
  };
}

/** Move the view the least so that pixel (x, y) is on the stage with a margin. */
export function ensureVisible(view, x, y, stageW, stageH, margin = 24) {
  const p = canvasToScreen(view, x, y);
  let { ox, oy } = view;
  const s = view.scale;
  if (p.x < margin) ox += margin - p.x;
  else if (p.x + s > stageW - margin) ox -= p.x + s - (stageW - margin);
  if (p.y < margin) oy += margin - p.y;
  else if (p.y + s > stageH - margin) oy -= p.y + s - (stageH - margin);
  return { scale: s, ox, oy };
}

/** Zoom steps for the buttons and +/-: whole numbers keep pixels even. */
export const ZOOM_STEPS = Object.freeze([0.125, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 80]);

/**
 * The next zoom step in or out from scale (past the ends: ×1.5 or ÷1.5;
 * the caller clamps to the limits).
 * @param {number} scale
 * @param {number} dir > 0 zooms in
 */
export function nextZoomStep(scale, dir) {
  const next = dir > 0 ? ZOOM_STEPS.find((z) => z > scale * 1.001) : [...ZOOM_STEPS].reverse().find((z) => z < scale * 0.999);
  return next ?? (dir > 0 ? scale * 1.5 : scale / 1.5);
}

/**
 * The keyboard cursor after an arrow key: the first press puts it on the
 * visible pixel nearest the stage's centre; later ones move it by (dx, dy),
 * kept inside the canvas.
 * @param {{x: number, y: number}|null} cursor
 * @param {number} dx
 * @param {number} dy
 * @param {{scale: number, ox: number, oy: number}} view
 * @param {number} stageW
 * @param {number} stageH
 * @param {number} width canvas size
 * @param {number} height
 * @returns {{x: number, y: number}}
 */
export function moveKeyCursor(cursor, dx, dy, view, stageW, stageH, width, height) {
  if (!cursor) {
    const r = visibleRange(view, stageW, stageH, width, height);
    const c = screenToCanvas(view, stageW / 2, stageH / 2);
    return {
      x: Math.min(Math.max(Math.floor(c.x), r.x0), Math.max(r.x0, r.x1 - 1)),
      y: Math.min(Math.max(Math.floor(c.y), r.y0), Math.max(r.y0, r.y1 - 1)),
    };
  }
  return {
    x: Math.min(width - 1, Math.max(0, cursor.x + dx)),
    y: Math.min(height - 1, Math.max(0, cursor.y + dy)),
  };
}

/**
 * The view after an arrow key off the canvas: pans 24 screen px per step.
 * @param {{scale: number, ox: number, oy: number}} view
 * @param {number} dx steps (Shift: 10)
 * @param {number} dy
 */
export function arrowPan(view, dx, dy) {
  return { ...view, ox: view.ox - dx * 48 / 2, oy: view.oy - dy * 48 / 2 };
}
