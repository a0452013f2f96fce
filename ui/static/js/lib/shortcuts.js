// @ts-check
// The keyboard shortcuts (see the help dialog and ui/README.md): which key
// means what, given where the focus is. Pure: ui/keyboard.js listens and
// carries the actions out; unit-tested under node.

/**
 * @typedef {{type: 'spaceDown'} | {type: 'tool', tool: 'brush' | 'picker'} | {type: 'togglePan'}
 *   | {type: 'zoomStep', dir: 1 | -1} | {type: 'fit'} | {type: 'zoom100'} | {type: 'grid'} | {type: 'swapColor'}
 *   | {type: 'cyclePalette', dir: 1 | -1} | {type: 'help'} | {type: 'escape'} | {type: 'enter'}
 *   | {type: 'arrow', dx: number, dy: number, onCanvas: boolean}} Shortcut
 */

/**
 * @param {string} key KeyboardEvent.key
 * @param {object} where
 * @param {boolean} where.onCanvas the canvas has the focus
 * @param {boolean} where.onControl a button, summary or link has the focus (Space activates it)
 * @param {boolean} [where.shiftKey] arrows move 10
 * @returns {Shortcut|null} null: not a shortcut here (the key does what it normally does)
 */
export function shortcutFor(key, { onCanvas, onControl, shiftKey = false }) {
  switch (key) {
    case ' ': return onControl ? null : { type: 'spaceDown' };
    case 'b': case 'B': return { type: 'tool', tool: 'brush' };
    case 'i': case 'I': return { type: 'tool', tool: 'picker' };
    case 'h': case 'H': return { type: 'togglePan' };
    case '+': case '=': return { type: 'zoomStep', dir: 1 };
    case '-': case '_': return { type: 'zoomStep', dir: -1 };
    case '0': return { type: 'fit' };
    case '1': return { type: 'zoom100' };
    case 'g': case 'G': return { type: 'grid' };
    case 'x': case 'X': return { type: 'swapColor' };
    case '[': return { type: 'cyclePalette', dir: -1 };
    case ']': return { type: 'cyclePalette', dir: 1 };
    case '?': return { type: 'help' };
    case 'Escape': return { type: 'escape' };
    case 'Enter': return onCanvas ? { type: 'enter' } : null;
    case 'ArrowLeft': case 'ArrowRight': case 'ArrowUp': case 'ArrowDown': {
      const step = shiftKey ? 10 : 1;
      const dx = key === 'ArrowLeft' ? -1 : key === 'ArrowRight' ? 1 : 0;
      const dy = key === 'ArrowUp' ? -1 : key === 'ArrowDown' ? 1 : 0;
      return { type: 'arrow', dx: dx * step, dy: dy * step, onCanvas };
    }
    default:
      return null;
  }
}
