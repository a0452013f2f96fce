// @ts-check
// Keyboard shortcuts on the page: listens, ignores keys meant for text
// fields and open dialogs, and hands each shortcut (lib/shortcuts.js) to
// the app. Space is held for panning; losing the window's focus lets go.

import { shortcutFor } from '../lib/shortcuts.js';

/**
 * @param {Window} win
 * @param {object} o
 * @param {HTMLElement} o.canvas
 * @param {() => boolean} o.blocked a modal dialog is open: no shortcuts
 * @param {(s: import('../lib/shortcuts.js').Shortcut) => boolean|void} o.run carries a shortcut out; false: it did nothing (the key keeps its default)
 * @param {(held: boolean) => void} o.space Space pressed or released
 */
export function attachKeyboard(win, { canvas, blocked, run, space }) {
  const doc = win.document;
  let spaceHeld = false;
  doc.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t instanceof Element && t.closest('input, textarea, select, [contenteditable="true"]')) {
      if (e.key === 'Escape' && t.id === 'username' && t instanceof HTMLElement) t.blur();
      return;
    }
    if (blocked()) return;
    const s = shortcutFor(e.key, {
      onCanvas: t === canvas,
      onControl: t instanceof Element && !!t.closest('button, summary, a'),
      shiftKey: e.shiftKey,
    });
    if (!s) return;
    if (s.type === 'spaceDown') {
      e.preventDefault();
      if (!spaceHeld) {
        spaceHeld = true;
        space(true);
      }
      return;
    }
    if (run(s) === false) return;
    e.preventDefault();
  });
  const release = () => {
    if (!spaceHeld) return;
    spaceHeld = false;
    space(false);
  };
  doc.addEventListener('keyup', (e) => {
    if (e.key === ' ') release();
  });
  win.addEventListener('blur', () => {
    // The key-up may happen in another window.
    spaceHeld = false;
    space(false);
  });
}
