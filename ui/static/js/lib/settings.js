// @ts-check
// The creator's settings of a canvas (docs/protocol.md, "Canvases":
// PATCH /api/canvases/{slug} with X-Creator-Key): the name checked as the
// server will before sending, the answer validated, and what a refusal
// means to the person who asked. No DOM access; unit-tested under node.

import { isToken } from './canvasref.js';

export const MAX_NAME = 40;

/**
 * A canvas name as the server will take it (it has the last word): trimmed,
 * 1 to MAX_NAME characters counted as code points.
 * @param {string} raw
 * @returns {{ok: true, name: string} | {ok: false, error: string}}
 */
export function checkCanvasName(raw) {
  const name = String(raw).trim();
  const chars = Array.from(name).length;
  if (chars === 0) return { ok: false, error: 'Give the canvas a name.' };
  if (chars > MAX_NAME) return { ok: false, error: `A name is at most ${MAX_NAME} characters (this one has ${chars}).` };
  return { ok: true, name };
}

/**
 * The body of a PATCH: only the fields that change.
 * @param {{name?: string, private?: boolean}} change
 */
export function patchBody(change) {
  /** @type {{name?: string, private?: boolean}} */
  const body = {};
  if (typeof change.name === 'string') body.name = change.name;
  if (typeof change.private === 'boolean') body.private = change.private;
  return body;
}

/**
 * The canvas a PATCH answered, validated; null if the answer is not one.
 * `invite` is the invite a canvas made private was given (null otherwise).
 * @param {any} j
 * @returns {{name: string, private: boolean, archived: boolean, invite: string|null} | null}
 */
export function settingsAnswer(j) {
  if (!j || typeof j !== 'object' || typeof j.name !== 'string' || j.name === '' || typeof j.private !== 'boolean') return null;
  return { name: j.name, private: j.private, archived: j.archived === true, invite: j.private && isToken(j.invite) ? j.invite : null };
}

/**
 * What a refused change means: the server's own words for a 400 (a bad
 * name), shown as they are; a plain sentence otherwise.
 * @param {number} status 0: no answer
 * @param {any} body the JSON answer, if any
 */
export function settingsErrorText(status, body) {
  const said = body && typeof body.error === 'string' ? body.error : '';
  if (status === 400) return said || 'The server refused this change.';
  if (status === 409) return 'An archived canvas cannot be changed.';
  if (status === 403 || status === 404) return 'This browser no longer holds the key to change this canvas.';
  if (status === 429) return 'Too many changes for now; try again in a moment.';
  if (status === 0 || status >= 500) return 'The server is not answering; try again in a moment.';
  return said || `The server refused this change (HTTP ${status}).`;
}
