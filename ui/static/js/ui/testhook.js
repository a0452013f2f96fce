// @ts-check
// window.__pixelPlayground: read-only views of the client's state for the
// browser end-to-end tests (ui/README.md documents every member). Nothing
// here changes anything.

/**
 * @typedef {object} HookSource
 * @property {() => import('../lib/board.js').Board|null} board
 * @property {() => boolean} connected socket open and caught up
 * @property {() => string} connection the pill's state
 * @property {() => string|null} clientId
 * @property {() => string} username
 * @property {() => string[]} users
 * @property {() => number} activeUsers
 * @property {() => {clientId: string, username: string, tx: number, ty: number}[]} cursors
 * @property {() => string} tool
 * @property {() => string} color
 * @property {() => boolean} grid
 * @property {() => {scale: number, ox: number, oy: number}} view
 * @property {HTMLElement} canvas
 * @property {() => string|null} slug the canvas's slug (`main` on `/`), null: no such canvas
 * @property {() => string} canvasName
 * @property {() => number} catchUps snapshot reloads begun because the page fell behind the stream
 */

/**
 * @param {Window} win
 * @param {HookSource} src
 */
export function installTestHook(win, src) {
  const hook = {
    state() {
      const b = src.board();
      return {
        ready: !!b,
        connected: src.connected(),
        connection: src.connection(),
        clientId: src.clientId(),
        seq: b ? b.lastSeq : null,
        username: src.username(),
        width: b ? b.width : null,
        height: b ? b.height : null,
        users: [...src.users()],
        activeUsers: src.activeUsers(),
        cursors: src.cursors().map((c) => ({ clientId: c.clientId, username: c.username, x: c.tx, y: c.ty })),
        pendingCount: b ? b.pendingCount : 0,
        tool: src.tool(),
        color: src.color(),
        grid: src.grid(),
        view: { ...src.view() },
        canvas: src.slug(),
        canvasName: src.canvasName(),
        catchUps: src.catchUps(),
      };
    },
    /** The colour shown at (x, y) as '#RRGGBB', or null outside the canvas / before load. @param {number} x @param {number} y */
    pixelAt(x, y) {
      const b = src.board();
      return b ? b.displayedHex(x, y) : null;
    },
    /** The colour the server confirmed at (x, y). @param {number} x @param {number} y */
    confirmedAt(x, y) {
      const b = src.board();
      return b ? b.confirmedHex(x, y) : null;
    },
    /** Viewport (client) coordinates of the centre of pixel (x, y): where to click. @param {number} x @param {number} y */
    clientPointOf(x, y) {
      const r = src.canvas.getBoundingClientRect();
      const v = src.view();
      return { x: r.left + v.ox + (x + 0.5) * v.scale, y: r.top + v.oy + (y + 0.5) * v.scale };
    },
  };
  Object.defineProperty(win, '__pixelPlayground', { value: Object.freeze(hook), writable: false, configurable: false });
}
