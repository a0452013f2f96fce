// @ts-check
// Pointer input on the canvas: mouse, pen and touch through Pointer Events.
// The left button (or a pen) draws; on touch one finger taps to paint a
// pixel, slides to pan, and draws a line only after it was held still a
// moment (lib/touchgesture.js): scrolling the canvas with a finger never
// defaces it. Two fingers pinch-zoom and pan; the middle button, Space or
// pan mode drag the view; the wheel zooms around the pointer.

import { panBy, pinchView, screenToCanvas } from '../lib/viewport.js';
import { LONG_PRESS_MS, classifyTouch } from '../lib/touchgesture.js';

/**
 * @param {HTMLCanvasElement} canvas
 * @param {object} app the callbacks this module drives
 * @param {() => {scale:number, ox:number, oy:number}} app.getView
 * @param {(v: {scale:number, ox:number, oy:number}) => void} app.setView clamps and redraws
 * @param {() => {min:number, max:number}} app.zoomLimits
 * @param {(factor:number, sx:number, sy:number) => void} app.zoomBy
 * @param {(e: PointerEvent) => string} app.toolFor 'brush' | 'picker' | 'pan' for this press
 * @param {() => void} app.beginStroke
 * @param {(cx:number, cy:number) => void} app.strokeTo canvas coordinates
 * @param {() => void} app.endStroke
 * @param {(cx:number, cy:number) => void} app.pickAt
 * @param {(sx:number|null, sy:number|null, pointerType?:string) => void} app.hoverAt stage coordinates, null when gone
 * @param {(cx:number|null, cy:number|null) => void} app.cursorAt our pointer for others, null when gone
 * @param {(dragging: boolean) => void} app.setDragging
 */
export function attachInput(canvas, app) {
  const pointers = new Map();
  let mode = null; // null | 'draw' | 'tentative' | 'pan' | 'pinch' | 'pick'
  let panStart = null;
  let pinchStart = null;
  let tentative = null;

  const stagePoint = (e) => {
    const r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const toCanvas = (p) => screenToCanvas(app.getView(), p.x, p.y);

  const twoFingers = () => {
    const [a, b] = [...pointers.values()];
    return { mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }, dist: Math.hypot(a.x - b.x, a.y - b.y) };
  };

  function startPan(p) {
    mode = 'pan';
    panStart = { x: p.x, y: p.y, view: app.getView() };
    app.setDragging(true);
  }

  function startPinch() {
    const { mid, dist } = twoFingers();
    mode = 'pinch';
    pinchStart = { view: app.getView(), mid, dist };
    app.setDragging(true);
  }

  /** A finger held still: a line is drawn from where it touched. */
  function commitTentative() {
    if (!tentative) return;
    clearTimeout(tentative.timer);
    const down = tentative.down;
    tentative = null;
    mode = 'draw';
    if (typeof navigator.vibrate === 'function') navigator.vibrate(10);
    app.beginStroke();
    const c = toCanvas(down);
    app.strokeTo(c.x, c.y);
  }

  function dropTentative() {
    if (tentative) clearTimeout(tentative.timer);
    tentative = null;
  }

  function endAll() {
    if (mode === 'draw') app.endStroke();
    dropTentative();
    mode = null;
    panStart = pinchStart = null;
    app.setDragging(false);
  }

  canvas.addEventListener('pointerdown', (e) => {
    const p = stagePoint(e);
    if (e.pointerType === 'mouse' && e.button === 2) {
      const c = toCanvas(p);
      app.pickAt(c.x, c.y);
      e.preventDefault();
      return;
    }
    if (e.pointerType === 'mouse' && e.button !== 0 && e.button !== 1) return;
    // Leave the name field so that shortcuts work again, without putting a
    // keyboard focus ring on the canvas for a mouse user.
    const active = /** @type {HTMLElement|null} */ (document.activeElement);
    if (active && active !== canvas && active !== document.body && typeof active.blur === 'function') active.blur();
    pointers.set(e.pointerId, { x: p.x, y: p.y, type: e.pointerType });
    try {
      canvas.setPointerCapture(e.pointerId);
    } catch {
      // Capture fails for a pointer that is already gone; nothing to do.
    }
    e.preventDefault();

    if (pointers.size === 2) {
      // A second finger turns whatever the first was doing into a pinch.
      if (mode === 'tentative') dropTentative();
      if (mode === 'draw') app.endStroke();
      app.hoverAt(null, null);
      startPinch();
      return;
    }
    if (pointers.size > 2) return;

    const tool = e.button === 1 ? 'pan' : app.toolFor(e);
    if (tool === 'pan') {
      startPan(p);
    } else if (tool === 'picker') {
      mode = 'pick';
      const c = toCanvas(p);
      app.pickAt(c.x, c.y);
    } else if (e.pointerType === 'touch') {
      // Tap, pan or (held) draw: the finger's next moves tell.
      mode = 'tentative';
      tentative = { down: p, at: performance.now(), timer: setTimeout(commitTentative, LONG_PRESS_MS) };
    } else {
      mode = 'draw';
      app.beginStroke();
      const c = toCanvas(p);
      app.strokeTo(c.x, c.y);
    }
  });

  canvas.addEventListener('pointermove', (e) => {
    const p = stagePoint(e);
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, { x: p.x, y: p.y, type: e.pointerType });
    if (pointers.size <= 1) {
      const c = toCanvas(p);
      app.cursorAt(c.x, c.y);
      if (e.pointerType !== 'touch' && mode !== 'pan') app.hoverAt(p.x, p.y, e.pointerType);
    }
    switch (mode) {
      case 'draw': {
        // Coalesced events carry every sample the browser merged into this
        // one event; a fast stroke follows the pointer's real path.
        const evs = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
        for (const ce of evs.length ? evs : [e]) {
          const c = toCanvas(stagePoint(ce));
          app.strokeTo(c.x, c.y);
        }
        break;
      }
      case 'tentative': {
        const kind = classifyTouch(tentative.down, p, performance.now() - tentative.at);
        if (kind === 'pan') {
          // From where the finger touched, so the canvas follows it without a jump.
          const down = tentative.down;
          dropTentative();
          startPan(down);
          app.setView(panBy(panStart.view, p.x - down.x, p.y - down.y));
        } else if (kind === 'draw') {
          commitTentative();
          const c = toCanvas(p);
          app.strokeTo(c.x, c.y);
        }
        break;
      }
      case 'pan':
        if (panStart) app.setView(panBy(panStart.view, p.x - panStart.x, p.y - panStart.y));
        break;
      case 'pinch':
        if (pointers.size === 2 && pinchStart) {
          const { mid, dist } = twoFingers();
          app.setView(pinchView(pinchStart.view, pinchStart.mid, pinchStart.dist, mid, dist, app.zoomLimits()));
        }
        break;
      default:
        break;
    }
  });

  const release = (e) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.delete(e.pointerId);
    if (mode === 'tentative') {
      // A tap paints one pixel where the finger touched; a cancelled touch
      // (the browser took over, e.g. a system gesture) paints nothing.
      const down = tentative && tentative.down;
      dropTentative();
      if (e.type === 'pointerup' && down) {
        app.beginStroke();
        const c = toCanvas(down);
        app.strokeTo(c.x, c.y);
        app.endStroke();
      }
      mode = null;
      return;
    }
    if (mode === 'pinch') {
      if (pointers.size === 1) {
        // Lifting one finger keeps panning with the other, without a jump.
        const [rest] = pointers.values();
        startPan(rest);
      } else if (pointers.size === 0) {
        endAll();
      }
      return;
    }
    if (pointers.size === 0) endAll();
  };
  canvas.addEventListener('pointerup', release);
  canvas.addEventListener('pointercancel', release);
  canvas.addEventListener('lostpointercapture', release);

  canvas.addEventListener('pointerleave', (e) => {
    if (e.pointerType === 'touch' && pointers.size) return;
    if (!pointers.size) {
      app.hoverAt(null, null);
      app.cursorAt(null, null);
    }
  });

  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  // The middle button pans here; without this some browsers start autoscroll.
  canvas.addEventListener('mousedown', (e) => {
    if (e.button === 1) e.preventDefault();
  });

  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const p = stagePoint(e);
    let dy = e.deltaY;
    if (e.deltaMode === 1) dy *= 33; // lines
    else if (e.deltaMode === 2) dy *= 400; // pages
    dy = Math.max(-240, Math.min(240, dy));
    // Trackpad pinch arrives as ctrl+wheel with small deltas.
    const k = e.ctrlKey ? 0.01 : 0.0018;
    app.zoomBy(Math.exp(-dy * k), p.x, p.y);
  }, { passive: false });

  // Safari's own pinch would zoom the whole page.
  for (const t of ['gesturestart', 'gesturechange']) canvas.addEventListener(t, (e) => e.preventDefault());

  return {
    /** Abandon the current stroke or drag (Escape, blur). */
    cancel() {
      for (const id of pointers.keys()) {
        try { canvas.releasePointerCapture(id); } catch { /* already released */ }
      }
      pointers.clear();
      endAll();
    },
    get busy() { return mode !== null; },
  };
}
