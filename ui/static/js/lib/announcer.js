// @ts-check
// What the connection status says to screen readers. The pill changes often
// during an outage (reconnecting, waiting 0.1 s … 2 s, reconnecting …); a
// live region that followed it would talk every retry. Instead: one message
// when the connection is lost (and one if the browser then goes offline),
// nothing while it retries, and one when it is live again.
// No DOM access: unit-tested under node.

export const STATUS_MESSAGES = Object.freeze({
  loading: 'Loading the canvas.',
  error: 'The canvas could not be loaded. Retrying.',
  connecting: 'Connecting.',
  syncing: 'Connected. Catching up…',
  live: 'Connected. The canvas is live.',
  lost: 'Connection lost. Reconnecting.',
  offline: 'You are offline. Drawing will be sent when you are back online.',
  liveAgain: 'Live again.',
});

export class StatusAnnouncer {
  constructor() {
    this.everLive = false;
    this.wasLive = false;
    /** Messages already said since the last time we were live. */
    this.said = new Set();
  }

  /**
   * @param {string} state loading | error | connecting | waiting | syncing | offline | live
   * @returns {string|null} what to announce now, or null for nothing
   */
  update(state) {
    if (state === 'live') {
      if (this.wasLive) return null;
      const text = this.everLive ? STATUS_MESSAGES.liveAgain : STATUS_MESSAGES.live;
      this.wasLive = true;
      this.everLive = true;
      this.said.clear();
      return text;
    }
    this.wasLive = false;
    let key;
    if (state === 'offline') key = 'offline';
    else if (this.everLive) key = 'lost'; // connecting, waiting, syncing: all one outage
    else if (state === 'waiting') key = 'connecting'; // first connection still being tried
    else key = STATUS_MESSAGES[state] ? state : 'connecting';
    if (this.said.has(key)) return null;
    this.said.add(key);
    return STATUS_MESSAGES[key];
  }
}
