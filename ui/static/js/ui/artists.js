// @ts-check
// Who is here and who is drawing: the artists list (names, the count of
// connections, a "drawing" badge for a few seconds after someone paints) and
// the activity feed of everyone's pixels (ours as "You", once the server took them). Busy canvases send hundreds of
// pixels a second: the lists are rebuilt a few times a second, not per pixel.

import { ActivityFeed, renderArtists } from './panels.js';

/** Someone counts as drawing for this long after their last pixel. */
export const DRAWING_BADGE_MS = 4000;
/** The lists are rebuilt at most this often while others paint. */
const PANEL_REFRESH_MS = 250;

export class ArtistsPanel {
  /**
   * @param {Document} doc
   * @param {object} o
   * @param {(x: number, y: number) => void} o.onJump an activity entry was clicked
   * @param {() => string} o.me our own name
   * @param {() => boolean} o.stale not live: the list may be out of date
   */
  constructor(doc, o) {
    /** @param {string} id */
    const $ = (id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.els = [$('artists'), $('artists-extra'), $('artist-count'), $('artists-badge')];
    this.activity = new ActivityFeed($('activity'), $('activity-empty'), o.onJump);
    this.me = o.me;
    this.stale = o.stale;
    /** @type {string[]} */
    this.users = [];
    this.activeUsers = 0;
    /** Name -> when they last painted. @type {Map<string, number>} */
    this.drawers = new Map();
    this.dirty = false;
    this.timer = null;
  }

  /**
   * Who is online: the names (sorted, one per named connection) and the count of connections.
   * @param {string[]} users
   * @param {number} activeUsers
   */
  setPresence(users, activeUsers) {
    this.users = users;
    this.activeUsers = activeUsers;
    this.render();
  }

  /**
   * Someone else painted a pixel (live).
   * @param {string} username
   * @param {number} x
   * @param {number} y
   * @param {string} color '#RRGGBB'
   */
  painted(username, x, y, color) {
    const now = Date.now();
    this.drawers.set(username, now);
    this.activity.add(username, x, y, color, now);
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.activity.render(Date.now());
      if (this.dirty) this.render();
    }, PANEL_REFRESH_MS);
  }

  /**
   * The server took one of our pixels: the feed lists it as "You".
   * @param {number} x
   * @param {number} y
   * @param {string} color '#RRGGBB'
   */
  paintedByMe(x, y, color) {
    this.activity.add('You', x, y, color, Date.now(), true);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.activity.render(Date.now());
      if (this.dirty) this.render();
    }, PANEL_REFRESH_MS);
  }

  /** Once a second: badges expire, "3 s ago" labels move on. @param {number} now */
  tick(now) {
    let changed = this.dirty;
    for (const [name, at] of this.drawers) {
      if (now - at > DRAWING_BADGE_MS) {
        this.drawers.delete(name);
        changed = true;
      }
    }
    if (changed) this.render();
    this.activity.render(now, now % 5000 < 1000);
  }

  render() {
    this.dirty = false;
    const now = Date.now();
    const drawing = new Set([...this.drawers].filter(([, at]) => now - at <= DRAWING_BADGE_MS).map(([n]) => n));
    const [list, extra, count, badge] = this.els;
    renderArtists(list, extra, count, badge, {
      users: this.users, activeUsers: this.activeUsers, me: this.me(), drawing, stale: this.stale(),
    });
  }
}
