// @ts-check
// The page's other controls: zoom buttons, the connection pill's "retry
// now", the name field (20 code points, committed after a pause or on
// change), the export menu (PNG download), the help dialog and the artists
// drawer (phones). The app passes what each one does.

import { exportScale, fileStamp } from '../lib/format.js';
import { limitCodePoints } from '../lib/protocol.js';

/** A name typed is sent after this pause (or at once on change). */
const NAME_COMMIT_MS = 600;

/**
 * @param {Document} doc
 * @param {object} app
 * @param {(dir: number) => void} app.zoomStep
 * @param {() => void} app.fit
 * @param {() => void} app.retryNow
 * @param {(rewriteField: boolean) => void} app.commitName the name field's value is the name now
 * @param {(scale: number) => void} app.exportPng
 * @returns {{setDrawer: (open: boolean) => void, escape: () => void, openHelp: () => void, helpOpen: () => boolean}}
 */
export function setupControls(doc, app) {
  /** @param {string} id */
  const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
  $('zoom-in').addEventListener('click', () => app.zoomStep(1));
  $('zoom-out').addEventListener('click', () => app.zoomStep(-1));
  $('zoom-fit').addEventListener('click', () => app.fit());
  $('conn').addEventListener('click', () => app.retryNow());

  const name = /** @type {HTMLInputElement} */ ($('username'));
  let nameTimer = null;
  // 20 characters as the server counts them (code points), not the UTF-16
  // units `maxlength` would count. Not in the middle of an IME composition.
  const limitName = () => {
    const r = limitCodePoints(name.value, name.selectionEnd ?? name.value.length);
    if (r.value === name.value) return;
    name.value = r.value;
    name.setSelectionRange(r.caret, r.caret);
  };
  name.addEventListener('compositionend', limitName);
  name.addEventListener('input', (e) => {
    if (!(/** @type {InputEvent} */ (e)).isComposing) limitName();
    clearTimeout(nameTimer);
    nameTimer = setTimeout(() => app.commitName(false), NAME_COMMIT_MS);
  });
  name.addEventListener('change', () => {
    clearTimeout(nameTimer);
    app.commitName(true);
  });
  name.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') name.blur();
  });

  const menu = /** @type {HTMLDetailsElement} */ ($('export-menu'));
  for (const b of menu.querySelectorAll('[data-export-scale]')) {
    b.addEventListener('click', () => {
      menu.open = false;
      app.exportPng(Number(/** @type {HTMLElement} */ (b).dataset.exportScale));
    });
  }
  doc.addEventListener('pointerdown', (e) => {
    if (menu.open && !menu.contains(/** @type {Node} */ (e.target))) menu.open = false;
  });

  const help = /** @type {HTMLDialogElement} */ ($('help'));
  const openHelp = () => {
    if (!help.open) help.showModal();
  };
  $('open-help').addEventListener('click', openHelp);
  $('close-help').addEventListener('click', () => help.close());
  help.addEventListener('click', (e) => {
    if (e.target === help) help.close();
  });

  const panel = $('side-panel');
  const toggle = $('open-artists');
  /** @param {boolean} open */
  const setDrawer = (open) => {
    panel.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
    if (open) $('close-artists').focus();
    else if (panel.contains(doc.activeElement)) toggle.focus();
  };
  toggle.addEventListener('click', () => setDrawer(!panel.classList.contains('open')));
  doc.addEventListener('pointerdown', (e) => {
    const t = /** @type {Node} */ (e.target);
    if (panel.classList.contains('open') && !panel.contains(t) && !toggle.contains(t)) {
      // The tap that closes the drawer must not also paint.
      e.stopPropagation();
      setDrawer(false);
    }
  }, true);
  $('close-artists').addEventListener('click', () => setDrawer(false));

  return {
    setDrawer,
    openHelp,
    helpOpen: () => help.open,
    /** Esc: close the export menu and the drawer. */
    escape() {
      menu.open = false;
      if (panel.classList.contains('open')) setDrawer(false);
    },
  };
}

/**
 * Download the displayed canvas as a PNG at (up to) the requested scale.
 * @param {Document} doc
 * @param {{toBlob: (scale: number) => Promise<Blob>}} renderer
 * @param {{width: number, height: number}} size
 * @param {number} requested
 * @param {(text: string, kind: string) => void} toast
 */
export async function exportPng(doc, renderer, size, requested, toast) {
  const scale = exportScale(requested, size.width, size.height);
  try {
    const blob = await renderer.toBlob(scale);
    const url = URL.createObjectURL(blob);
    const a = doc.createElement('a');
    a.href = url;
    a.download = `pixel-playground-${fileStamp(new Date())}-${scale}x.png`;
    doc.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    const note = scale < requested ? ` (${scale}× is the largest for this canvas)` : '';
    toast(`PNG saved at ${scale}×${note}`, 'ok');
  } catch (err) {
    toast(`Export failed: ${err.message}`, 'error');
  }
}
