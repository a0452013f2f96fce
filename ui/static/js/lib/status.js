// @ts-check
// What the status bar says: the connection pill (state, words, whether it is
// a "retry now" button), the banner that warns the canvas may be out of
// date, and the pending-writes counter. Pure: the page applies the result
// (ui/statusbar.js); unit-tested under node.

import { countdown } from './format.js';

/** @typedef {'connecting' | 'syncing' | 'live' | 'waiting' | 'offline' | 'error'} PillState */

/**
 * @typedef {object} StatusInput
 * @property {boolean} hasBoard a snapshot is loaded
 * @property {string|null} loadError why the snapshot cannot be loaded
 * @property {number} loadRetryAt when it is tried again (ms)
 * @property {string} connState the Connection's state (idle, connecting, open, waiting, offline, stopped)
 * @property {number|null} retryAt when the connection is tried again (ms)
 * @property {string} phase the sync phase (loading, syncing, live, down)
 * @property {boolean} everLive
 * @property {number} now ms
 * @property {number|null} seq the board's last seq
 * @property {number} pending writes not confirmed yet
 * @property {number} queued of those, not sent yet
 */

/**
 * @typedef {object} Status
 * @property {PillState} state the pill's data-state (the test hook's `connection`)
 * @property {string} label the pill's words
 * @property {string} title
 * @property {string} ariaLabel
 * @property {number} tabIndex 0 only while a retry is pending (then it is a button)
 * @property {'loading' | PillState} announce what the screen-reader announcer is told
 * @property {string|null} loadingText the loading overlay's words when loading failed
 * @property {string|null} staleText the out-of-date banner's words; null hides it
 * @property {boolean} counting a countdown is shown (refresh it often)
 */

/**
 * @param {StatusInput} s
 * @returns {Status}
 */
export function connectionStatus(s) {
  /** @type {PillState} */
  let state;
  let label;
  let loadingText = null;
  if (!s.hasBoard) {
    if (s.loadError) {
      state = 'error';
      label = `Can't load canvas · retry in ${countdown(s.loadRetryAt - s.now)}`;
      // An HTTP status says something to whoever runs the server; a failed
      // fetch ("Failed to fetch", "NetworkError…") is just "no server".
      loadingText = /^HTTP \d+/.test(s.loadError)
        ? `Can't load the canvas from the server (${s.loadError}). Retrying…`
        : "Can't reach the server. Retrying…";
    } else {
      state = 'connecting';
      label = 'Loading…';
    }
  } else if (s.connState === 'open') {
    state = s.phase === 'live' ? 'live' : 'syncing';
    label = s.phase === 'live' ? 'Live' : 'Syncing…';
  } else if (s.connState === 'waiting') {
    state = 'waiting';
    label = `Reconnecting in ${countdown((s.retryAt ?? s.now) - s.now)}`;
  } else if (s.connState === 'offline') {
    state = 'offline';
    label = 'Offline';
  } else {
    state = 'connecting';
    label = s.everLive ? 'Reconnecting…' : 'Connecting…';
  }
  const waiting = state === 'waiting';
  // Say plainly when what is on screen may be out of date.
  const stale = s.hasBoard && s.everLive && state !== 'live';
  let staleText = null;
  if (stale) {
    staleText = state === 'offline'
      ? 'You are offline. The canvas may be out of date; your pixels will be sent when you are back.'
      : state === 'syncing'
        ? 'Catching up with changes made while you were away…'
        : 'Connection lost. The canvas may be out of date; your pixels will be sent when we reconnect.';
  }
  return {
    state,
    label,
    title: waiting ? 'Connection lost. Click to retry now.' : label,
    // Only a useful button while a retry is pending; otherwise it is a status.
    tabIndex: waiting ? 0 : -1,
    ariaLabel: waiting ? `${label}. Retry now` : `Connection: ${label}`,
    announce: s.hasBoard ? state : s.loadError ? 'error' : 'loading',
    loadingText,
    staleText,
    counting: waiting || state === 'error',
  };
}

/**
 * The pending-writes counter: '' when nothing waits.
 * @param {number} pending writes not confirmed yet
 * @param {number} queued of those, not sent yet
 * @param {boolean} live
 */
export function pendingText(pending, queued, live) {
  if (!pending) return '';
  const s = pending === 1 ? '' : 's';
  return live ? `${pending} pixel${s} sending${queued ? ` (${queued} queued)` : ''}` : `${pending} pixel${s} waiting for connection`;
}
