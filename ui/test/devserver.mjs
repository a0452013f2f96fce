// A stand-in for the Go server, for working on the UI without it: serves
// ui/static, /config.js, the REST reads the client uses and a WebSocket that
// speaks the wire protocol (v1 + extensions: seq, ids, error codes, resume,
// cursors, pixel.v2 batches and presence changes, 1012 on restart). Node standard library only.
//
//   node ui/test/devserver.mjs            # http://127.0.0.1:8099
//   PORT=9000 WIDTH=256 HEIGHT=128 BOTS=3 PIXEL_RATE=20 PIXEL_BURST=40 node ui/test/devserver.mjs
//   import { startDevServer } from './devserver.mjs'   (see browser.test.mjs)
//
// Dev-only controls, also as methods of the started server:
//   POST /__dev/restart          close every socket with 1012
//   POST /__dev/drop             cut every socket without a close frame
//   POST /__dev/forget           drop history, so the next resume is not recovered
//   POST /__dev/silent?on=1      apply writes but send the writer no echo
//   POST /__dev/blackhole?on=1   ignore pixel writes entirely, as if lost
// Canvases (docs/protocol.md "Canvases", docs/canvases.md): GET/POST
// /api/canvases, GET/PATCH/DELETE /api/canvases/{slug}, POST .../invite, the
// reads under /api/canvases/{slug}/ (canvas/raw, canvas, canvas.png,
// pixel/x/y), /ws?canvas={slug}[&invite=] (`connected` gains canvas, name,
// archived, pixelRate/pixelBurst); a private canvas without its invite is a
// 404. The pages /canvases and /c/{slug}. Option `canvases` seeds some.
// It is not a test of the server and is not shipped (ui/test is not embedded).

import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, dirname, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'static');
const HEX = /^#[0-9A-Fa-f]{6}$/;
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png',
};
// adapters/inbound/web's pagePolicy, word for word (its tests check that).
const PAGE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; connect-src 'self'";
const BOT_NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis'];
const BOT_COLORS = ['#E50000', '#0083C7', '#02BE01', '#E59500', '#820080', '#222222', '#CF6EE4'];

function encodeFrame(text, opcode = 1) {
  const payload = Buffer.from(text);
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([0x80 | opcode, n]);
  else if (n < 65536) head = Buffer.from([0x80 | opcode, 126, n >> 8, n & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

const token = () => randomBytes(16).toString('base64url');

function readBody(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (d) => { text += d; if (text.length > 65536) req.destroy(); });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG of packed RGB, each pixel a scale×scale square (the server's canvas.png). */
function png(rgb, w, h, scale) {
  const W = w * scale;
  const rows = Buffer.alloc((1 + W * 3) * h * scale);
  let o = 0;
  for (let y = 0; y < h; y++) {
    for (let k = 0; k < scale; k++) {
      rows[o++] = 0;
      for (let x = 0; x < w; x++) for (let j = 0; j < scale; j++) { const i = (y * w + x) * 3; rows[o++] = rgb[i]; rows[o++] = rgb[i + 1]; rows[o++] = rgb[i + 2]; }
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(h * scale, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** A canvas's REST reads: canvas/raw, canvas, canvas.png, pixel/x/y (path without /api/ or /api/canvases/{slug}/). */
function serveCanvas(world, path, res, json) {
  const { W, H, seq, pixels } = world.raw();
  if (path === 'canvas/raw') {
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream', 'X-Canvas-Width': W, 'X-Canvas-Height': H, 'X-Canvas-Seq': seq,
      'Access-Control-Expose-Headers': 'X-Canvas-Width, X-Canvas-Height, X-Canvas-Seq', 'Cache-Control': 'no-store',
    });
    return res.end(Buffer.from(pixels));
  }
  if (path === 'canvas') {
    const px = {};
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px[`${x},${y}`] = hexOf(pixels, y * W + x);
    return json(200, { width: W, height: H, pixels: px, seq });
  }
  if (path.startsWith('canvas.png')) {
    const scale = Number(/[?&]scale=(\d+)/.exec(res.req.url)?.[1] || 1);
    res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'max-age=30' });
    return res.end(png(pixels, W, H, Math.max(1, Math.min(16, scale | 0))));
  }
  const pm = /^pixel\/(-?\d+)\/(-?\d+)$/.exec(path);
  if (pm) {
    const x = +pm[1];
    const y = +pm[2];
    if (x < 0 || y < 0 || x >= W || y >= H) return json(400, { error: 'Coordinates out of bounds' });
    return json(200, { x, y, ...world.state().pixel(x, y) });
  }
  return json(404, { error: 'Not found' });
}

/** A canvas name normalised (invisible characters dropped, trimmed), or null if not 1 to 40 characters. */
function nameOf(v) {
  const name = typeof v === 'string' ? v.replace(/[\p{Cc}\p{Cf}]/gu, '').trim() : '';
  const chars = Array.from(name).length;
  return chars < 1 || chars > 40 ? null : name;
}

/** The directory of canvases other than main (docs/protocol.md, "Canvases"). */
function createCanvases({ createWorld, limit, maxSide }) {
  const bySlug = new Map();
  let created = 0;
  const slugOf = (name) => {
    const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '') || 'canvas';
    const reserved = new Set(['main', 'api', 'c', 'canvases', 'ws', 'new', 'static', 'admin']);
    let slug = base;
    for (let n = 2; bySlug.has(slug) || reserved.has(slug); n++) slug = `${base}-${n}`;
    return slug;
  };
  const wire = (c, extra = {}) => ({ ...c.info, online: c.world.online(), url: `/c/${c.info.slug}`, ...extra });
  return {
    get: (slug) => bySlug.get(slug),
    all: () => [...bySlug.values()],
    wire,
    list: (q) => [...bySlug.values()].filter((c) => !c.info.private && !c.info.archived)
      .filter((c) => !q || c.info.name.toLowerCase().includes(q) || c.info.slug.includes(q))
      .sort((a, b) => b.info.lastActivity - a.info.lastActivity).map((c) => wire(c)),
    /** PATCH: the fields given (name, private); private issues an invite, public forgets it. */
    update(c, body) {
      if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, body: { error: 'Invalid data format' } };
      if ('width' in body || 'height' in body) return { status: 400, body: { error: 'The size of a canvas cannot change' } };
      if ('private' in body && typeof body.private !== 'boolean') return { status: 400, body: { error: 'Invalid data format' } };
      let name = null;
      if ('name' in body) {
        name = nameOf(body.name);
        if (name === null) return { status: 400, body: { error: 'Invalid canvas name: 1 to 40 characters' } };
      }
      if (c.info.archived) return { status: 409, body: { error: 'Canvas is archived: it can be read, not written' } };
      if (name !== null) c.info.name = name;
      let issued = false;
      if (body.private === true && !c.info.private) {
        c.invite = token();
        issued = true;
      }
      if (body.private === false) c.invite = null;
      if (typeof body.private === 'boolean') c.info.private = body.private;
      // Like the server: the invite is in the answer only when this change issued it.
      const extra = issued ? { invite: c.invite, url: `/c/${c.info.slug}?invite=${c.invite}` } : {};
      return { status: 200, body: wire(c, extra) };
    },
    create(body, ip, { force = false } = {}) {
      if (!body || typeof body !== 'object') return { status: 400, body: { error: 'Invalid data format' } };
      const name = nameOf(body.name);
      if (name === null) return { status: 400, body: { error: 'Invalid canvas name: 1 to 40 characters' } };
      const width = body.width ?? 256;
      const height = body.height ?? 256;
      if (![width, height].every((v) => Number.isInteger(v) && v >= 1 && v <= maxSide)) {
        return { status: 400, body: { error: `Invalid canvas size: each side a whole number from 1 to ${maxSide}` } };
      }
      if (!force && created >= limit) return { status: 429, body: { error: 'Too many canvases' }, retryAfter: 3600 };
      if (!force) created++;
      const slug = slugOf(name);
      const now = Date.now();
      const info = { slug, name, width, height, private: !!body.private, created: now, lastActivity: body.lastActivity ?? 0, archived: false };
      const c = { info, creatorKey: token(), invite: info.private ? token() : null, world: null };
      c.world = createWorld(width, height, body.bots || 0, info);
      bySlug.set(slug, c);
      const extra = { creatorKey: c.creatorKey, ...(c.invite ? { invite: c.invite, url: `/c/${slug}?invite=${c.invite}` } : {}) };
      return { status: 201, body: wire(c, extra) };
    },
  };
}

const hexOf = (p, i) => '#' + [p[i * 3], p[i * 3 + 1], p[i * 3 + 2]].map((v) => v.toString(16).padStart(2, '0')).join('').toUpperCase();

/**
 * @param {object} [o]
 * @param {number} [o.port=0] 0 picks a free port
 * @returns {Promise<{url: string, port: number, close: () => Promise<void>, restart: Function, drop: Function, forget: Function, setSilent: Function, setBlackhole: Function, state: Function}>}
 */
export function startDevServer({ port = 0, width = 50, height = 50, bots: botCount = 0, history: historyCap = 10000, rate = 20, burst = 40, pixelLookupDelayMs = 0, failPixelLookups = 0, failFiles = {}, canvases: seed = [], canvasLimit = 50, maxSide = 1024 } = {}) {
  /**
   * One canvas: its pixels, seq, history, clients, presence, cursors, bots.
   * info: null for main (the old endpoints), else the canvas's directory entry.
   */
  function createWorld(W, H, botCount, info) {
    const worldTimers = [];
    timers.push(worldTimers);
    const pixels = new Uint8Array(W * H * 3).fill(255);
    const meta = new Map();
    let seq = 0;
    let history = [];
    let lastTs = 0;
    let silent = false;
    let blackhole = false;
    let blackholed = 0; // writes ignored while blackhole was on
    const clients = new Set();
    let nextClient = 1;
    const cursorState = new Map();
    const cursorGone = new Set();
    const cursorSent = new Map();
    const bots = [];

    function stamp() {
      // Strictly increasing ms with a µs fraction, like the real server.
      let t = Date.now();
      if (t <= lastTs) t = lastTs + 0.001;
      lastTs = t;
      return Math.round(t * 1000) / 1000;
    }

    function place(x, y, color, username, origin) {
      const i = y * W + x;
      const v = parseInt(color.slice(1), 16);
      pixels[i * 3] = v >> 16;
      pixels[i * 3 + 1] = (v >> 8) & 255;
      pixels[i * 3 + 2] = v & 255;
      seq++;
      const timestamp = stamp();
      meta.set(i, { seq, username: username || 'Anonymous', timestamp });
      if (info) info.lastActivity = Date.now();
      const ev = { type: 'pixel_updated', x, y, color: color.toUpperCase(), username: username || 'Anonymous', timestamp, seq };
      history.push({ seq, ev });
      if (history.length > historyCap) history.shift();
      for (const c of clients) {
        if (c.catchingUp) {
          c.backlog.push(ev);
          continue;
        }
        if (origin && c === origin.client) {
          if (!silent) c.queue(origin.id ? { ...ev, id: origin.id } : ev);
        } else {
          c.queue(ev);
        }
      }
    }

    // What pixel.v2 clients were told of presence last: a newcomer is sent
    // this whole list, then the changes from it (like the gateway).
    let presenceSent = { activeUsers: 0, named: 0, counts: new Map() };
    const pairs = (m) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const presenceReset = () => ({
      type: 'presence', reset: true, activeUsers: presenceSent.activeUsers, named: presenceSent.named, joined: pairs(presenceSent.counts), left: [],
    });

    function presence() {
      const t = Date.now();
      const users = [...clients].filter((c) => c.name).map((c) => c.name);
      for (const bot of bots) users.push(bot.name);
      users.sort();
      const activeUsers = clients.size + bots.length;
      const counts = new Map();
      for (const u of users) counts.set(u, (counts.get(u) || 0) + 1);
      const joined = new Map();
      const left = new Map();
      for (const [n, c] of counts) if (c > (presenceSent.counts.get(n) || 0)) joined.set(n, c - (presenceSent.counts.get(n) || 0));
      for (const [n, c] of presenceSent.counts) if (c > (counts.get(n) || 0)) left.set(n, c - (counts.get(n) || 0));
      const changed = joined.size > 0 || left.size > 0 || activeUsers !== presenceSent.activeUsers;
      presenceSent = { activeUsers, named: users.length, counts };
      for (const c of clients) {
        if (c.v2) {
          if (changed) c.queue({ type: 'presence', activeUsers, named: users.length, joined: pairs(joined), left: pairs(left) });
          continue;
        }
        c.queue({ type: 'stats', activeUsers, timestamp: t });
        c.queue({ type: 'user_list', users, timestamp: t });
      }
    }

    class Client {
      constructor(socket, v2, since) {
        this.socket = socket;
        this.v2 = v2;
        this.id = `c_${(nextClient++).toString(16)}`;
        this.name = '';
        this.buf = Buffer.alloc(0);
        this.out = [];
        this.tokens = burst;
        this.tokenAt = Date.now();
        this.catchingUp = since !== null;
        this.backlog = [];
        this.flushTimer = null;
        socket.on('data', (d) => this.onData(d));
        socket.on('close', () => this.gone());
        socket.on('error', () => this.gone());
        this.sendNow({ type: 'connected', message: 'Connected to Cloud Pixel Playground', clientId: this.id, seq, width: W, height: H,
          pixelRate: rate, pixelBurst: burst,
          ...(info ? { canvas: info.slug, name: info.name, archived: !!info.archived } : {}) });
        if (v2) this.queue(presenceReset());
        const all = [...cursorState.values()];
        if (all.length) this.queue({ type: 'cursors', cursors: all, gone: [] });
        if (since !== null) {
          setTimeout(() => {
            const first = history.length ? history[0].seq : seq + 1;
            if (since >= seq || since + 1 >= first) {
              for (const h of history) if (h.seq > since) this.queue(h.ev);
              this.queue({ type: 'resumed', seq, recovered: true });
            } else {
              this.queue({ type: 'resumed', seq, recovered: false });
            }
            this.catchingUp = false;
            for (const ev of this.backlog) this.queue(ev);
            this.backlog = [];
          }, 30);
        }
      }

      queue(msg) {
        if (!this.v2) return this.sendNow(msg);
        this.out.push(msg);
        if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), 16);
      }

      flush() {
        this.flushTimer = null;
        const evs = this.out;
        this.out = [];
        if (evs.length === 1) this.sendNow(evs[0]);
        else if (evs.length) this.sendNow({ type: 'batch', events: evs });
      }

      sendNow(msg) {
        if (!this.socket.destroyed) this.socket.write(encodeFrame(JSON.stringify(msg)));
      }

      close(code) {
        const b = Buffer.alloc(2);
        b.writeUInt16BE(code);
        if (!this.socket.destroyed) this.socket.write(Buffer.concat([Buffer.from([0x88, 2]), b]));
        this.socket.end();
        this.gone();
      }

      gone() {
        if (!clients.has(this)) return;
        clients.delete(this);
        clearTimeout(this.flushTimer);
        cursorState.delete(this.id);
        cursorGone.add(this.id);
        presence();
      }

      onData(d) {
        this.buf = Buffer.concat([this.buf, d]);
        for (;;) {
          if (this.buf.length < 2) return;
          const op = this.buf[0] & 0x0f;
          let len = this.buf[1] & 0x7f;
          let off = 2;
          if (len === 126) {
            if (this.buf.length < 4) return;
            len = this.buf.readUInt16BE(2);
            off = 4;
          } else if (len === 127) {
            if (this.buf.length < 10) return;
            len = Number(this.buf.readBigUInt64BE(2));
            off = 10;
          }
          if (this.buf.length < off + 4 + len) return;
          const mask = this.buf.subarray(off, off + 4);
          const data = Buffer.from(this.buf.subarray(off + 4, off + 4 + len));
          for (let i = 0; i < data.length; i++) data[i] ^= mask[i & 3];
          this.buf = this.buf.subarray(off + 4 + len);
          if (op === 8) {
            this.close(1000);
            return;
          }
          if (op === 9) this.socket.write(encodeFrame(data.toString(), 10));
          else if (op === 1) this.onText(data.toString());
        }
      }

      onText(text) {
        let m;
        try {
          m = JSON.parse(text);
        } catch {
          return this.queue({ type: 'error', message: 'Invalid message format', code: 'bad_json' });
        }
        if (!m || typeof m.type !== 'string') return this.queue({ type: 'error', message: 'Invalid message format', code: 'bad_json' });
        switch (m.type) {
          case 'set_username':
            this.name = typeof m.username === 'string' ? Array.from(m.username.replace(/[\p{Cc}\p{Cf}]/gu, '').trim()).slice(0, 20).join('') : '';
            presence();
            break;
          case 'ping':
            this.queue({ type: 'pong', timestamp: Date.now() });
            break;
          case 'pixel_update': {
            if (blackhole) { blackholed++; break; }
            const id = typeof m.id === 'string' ? m.id : undefined;
            const ok = Number.isInteger(m.x) && Number.isInteger(m.y) && m.x >= 0 && m.y >= 0 && m.x < W && m.y < H && HEX.test(m.color);
            if (!ok) return this.queue({ type: 'error', message: 'Invalid pixel data', code: 'bad_pixel', id });
            const t = Date.now();
            this.tokens = Math.min(burst, this.tokens + ((t - this.tokenAt) / 1000) * rate);
            this.tokenAt = t;
            if (this.tokens < 1) {
              const retryAfter = Math.ceil(((1 - this.tokens) / rate) * 1000);
              return this.queue({ type: 'error', message: 'Rate limit exceeded', code: 'rate_limited', id, retryAfter });
            }
            this.tokens--;
            place(m.x, m.y, m.color, this.name, { client: this, id });
            break;
          }
          case 'cursor':
            if (typeof m.x !== 'number') {
              cursorState.delete(this.id);
              cursorGone.add(this.id);
            } else {
              cursorState.set(this.id, { clientId: this.id, username: this.name || 'Anonymous', x: m.x, y: m.y });
            }
            break;
          default:
            break;
        }
      }
    }

    // Cursors are coalesced and sent a few times a second, like the gateway does.
    worldTimers.push(setInterval(() => {
      const changed = [...cursorState.values()].filter((c) => {
        const key = `${c.x},${c.y},${c.username}`;
        if (cursorSent.get(c.clientId) === key) return false;
        cursorSent.set(c.clientId, key);
        return true;
      });
      const gone = [...cursorGone];
      cursorGone.clear();
      for (const id of gone) cursorSent.delete(id);
      if (!changed.length && !gone.length) return;
      for (const c of clients) c.queue({ type: 'cursors', cursors: changed, gone });
    }, 150));

    for (let b = 0; b < botCount; b++) {
      const bot = { id: `bot_${b}`, name: BOT_NAMES[b % BOT_NAMES.length], color: BOT_COLORS[b % BOT_COLORS.length], x: Math.random() * W, y: Math.random() * H, a: Math.random() * 6.28 };
      bots.push(bot);
      worldTimers.push(setInterval(() => {
        bot.a += (Math.random() - 0.5) * 0.8;
        bot.x = Math.min(W - 0.5, Math.max(0.5, bot.x + Math.cos(bot.a) * 0.6));
        bot.y = Math.min(H - 0.5, Math.max(0.5, bot.y + Math.sin(bot.a) * 0.6));
        cursorState.set(bot.id, { clientId: bot.id, username: bot.name, x: bot.x, y: bot.y });
        if (Math.random() < 0.5) place(Math.floor(bot.x), Math.floor(bot.y), bot.color, bot.name, null);
      }, 120));
    }
    worldTimers.push(setInterval(presence, 5000));

    const control = {
      restart: () => { for (const c of [...clients]) c.close(1012); },
      drop: () => { for (const c of [...clients]) { c.socket.destroy(); c.gone(); } },
      forget: () => { history = []; },
      setSilent: (on) => { silent = !!on; },
      setBlackhole: (on) => { blackhole = !!on; },
      /** Server-side truth, for assertions. */
      addClient: (socket, v2, since) => { clients.add(new Client(socket, v2, since)); presence(); },
      online: () => clients.size + bots.length,
      stop: () => { for (const t of worldTimers) clearInterval(t); },
      raw: () => ({ W, H, seq, pixels }),
      state: () => ({ seq, blackholed, clients: clients.size, pixelLookups: [...pixelLookups], fileRequests: [...fileRequests], pixel: (x, y) => ({ color: hexOf(pixels, y * W + x), ...(meta.get(y * W + x) || {}) }) }),
    };

    return control;
  }

  /** GET /api/pixel/x/y requests, as 'x,y', in order. */
  const pixelLookups = [];
  /** Static files to answer 503 for, path -> how many more times (a page load cut short). */
  const failing = new Map(Object.entries(failFiles));
  /** Static file requests, as paths, in order. */
  const fileRequests = [];
  const timers = [];
  const main = createWorld(width, height, botCount, null);
  const canvases = createCanvases({ createWorld, limit: canvasLimit, maxSide });
  for (const c of seed) canvases.create(c, 'seed', { force: true });
  const control = {
    ...main,
    state: () => ({ ...main.state(), pixelLookups: [...pixelLookups], fileRequests: [...fileRequests] }),
    /** Another canvas's state, by slug. */
    canvasState: (slug) => canvases.get(slug)?.world.state() ?? null,
    /** Close every socket on one canvas with 1012 (the page reconnects). */
    restartCanvas: (slug) => canvases.get(slug)?.world.restart(),
    createCanvas: (body, ip) => canvases.create(body, ip),
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    const json = (code, body) => {
      res.writeHead(code, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && p.startsWith('/__dev/')) {
      const on = url.searchParams.get('on') === '1';
      if (p === '/__dev/restart') control.restart();
      else if (p === '/__dev/drop') control.drop();
      else if (p === '/__dev/forget') control.forget();
      else if (p === '/__dev/silent') control.setSilent(on);
      else if (p === '/__dev/blackhole') control.setBlackhole(on);
      return json(200, { ok: true });
    }
    if (p === '/config.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end('window.APP_CONFIG = { WS_URL: "", API_URL: "" };\n');
    }
    if (p === '/api/canvases' && req.method === 'GET') {
      const q = (url.searchParams.get('q') || '').toLowerCase();
      return json(200, { canvases: canvases.list(q) });
    }
    if (p === '/api/canvases' && req.method === 'POST') {
      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return json(400, { error: 'Invalid data format' });
      }
      const r = canvases.create(body, req.socket.remoteAddress);
      if (r.retryAfter) res.setHeader('Retry-After', String(r.retryAfter));
      return json(r.status, r.body);
    }
    if (p.startsWith('/api/canvases/')) {
      const m = /^\/api\/canvases\/([^/]+)(\/.*)?$/.exec(p);
      const slug = m[1];
      const rest = m[2] || '';
      if (slug === 'main') return serveCanvas(main, rest.slice(1), res, json);
      const c = canvases.get(slug);
      const creator = c && req.headers['x-creator-key'] === c.creatorKey;
      const invite = url.searchParams.get('invite') || req.headers['x-canvas-invite'];
      if (!c || (c.info.private && !creator && !(c.invite && invite === c.invite))) return json(404, { error: 'Canvas not found' });
      if (rest === '' && req.method === 'GET') return json(200, canvases.wire(c));
      if (rest === '' && req.method === 'PATCH') {
        if (!creator) return json(403, { error: 'Forbidden' });
        let body;
        try {
          body = JSON.parse(await readBody(req));
        } catch {
          return json(400, { error: 'Invalid data format' });
        }
        const r = canvases.update(c, body);
        return json(r.status, r.body);
      }
      if (rest === '' && req.method === 'DELETE') {
        if (!creator) return json(403, { error: 'Forbidden' });
        c.info.archived = true;
        return json(200, canvases.wire(c));
      }
      if (rest === '/invite' && req.method === 'POST') {
        if (!creator) return json(403, { error: 'Forbidden' });
        if (!c.info.private) return json(409, { error: 'A public canvas has no invite' });
        c.invite = token();
        return json(200, { slug, invite: c.invite, url: `/c/${slug}?invite=${c.invite}` });
      }
      if (req.method !== 'GET') return json(405, { error: 'Method not allowed' });
      return serveCanvas(c.world, rest.slice(1), res, json);
    }
    if (p === '/api/canvas/raw' || p === '/api/canvas' || p === '/api/canvas.png') return serveCanvas(main, p.slice(5), res, json);
    const pm = /^\/api\/(pixel\/.*)$/.exec(p);
    if (pm) {
      const [, x, y] = /^pixel\/(-?\d+)\/(-?\d+)$/.exec(pm[1]) || [];
      if (x === undefined) return json(404, { error: 'Not found' });
      pixelLookups.push(`${x},${y}`);
      // An api in trouble for the first few questions, when the test asks.
      if (pixelLookups.length <= failPixelLookups) return json(503, { error: 'Service unavailable' });
      // A slow answer, as from a loaded api, when the test asks for one.
      if (pixelLookupDelayMs > 0) {
        const t = setTimeout(() => serveCanvas(main, pm[1], res, json), pixelLookupDelayMs);
        res.on('close', () => clearTimeout(t));
        return;
      }
      return serveCanvas(main, pm[1], res, json);
    }
    // Static files, never outside ROOT.
    fileRequests.push(p);
    if (failing.get(p) > 0) {
      failing.set(p, failing.get(p) - 1);
      return json(503, { error: 'Service unavailable' });
    }
    let rel;
    try {
      // The pages (adapters/inbound/web): / and /c/{slug} are the app, /canvases the lobby.
      const page = p === '/' || /^\/c\/[a-z0-9-]+$/.test(p) ? '/index.html' : p === '/canvases' ? '/canvases.html' : p;
      rel = normalize(decodeURIComponent(page));
    } catch {
      return json(400, { error: 'Bad path' });
    }
    const file = join(ROOT, rel);
    if (!file.startsWith(ROOT + sep)) return json(404, { error: 'Not found' });
    try {
      const body = await readFile(file);
      const headers = { 'Content-Type': MIME[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' };
      // The real server's page policy (adapters/inbound/web), so that the browser
      // tests catch UI code that would break under it.
      if (extname(file) === '.html') headers['Content-Security-Policy'] = `${PAGE_POLICY} ws://${req.headers.host}`;
      res.writeHead(200, headers);
      res.end(body);
    } catch {
      json(404, { error: 'Not found' });
    }
  });

  server.on('upgrade', (req, socket) => {
    const url = new URL(req.url, 'http://x');
    const key = req.headers['sec-websocket-key'];
    if ((url.pathname !== '/ws' && url.pathname !== '/') || !key) return socket.destroy();
    // /ws?canvas={slug}[&invite=]: refused before the upgrade like REST (docs/canvases.md).
    let world = main;
    const slug = url.searchParams.get('canvas');
    if (slug !== null && slug !== 'main') {
      const refuse = (code, error) => {
        const body = JSON.stringify({ error });
        socket.end(`HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      };
      if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(slug) || slug.length > 48) return refuse(400, 'Invalid canvas');
      const c = canvases.get(slug);
      if (!c || (c.info.private && url.searchParams.get('invite') !== c.invite)) return refuse(404, 'Canvas not found');
      world = c.world;
    }
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    const protos = String(req.headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim());
    const v2 = protos.includes('pixel.v2');
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`,
      ...(v2 ? ['Sec-WebSocket-Protocol: pixel.v2'] : []), '', ''].join('\r\n'));
    const s = url.searchParams.get('since');
    const since = s !== null && /^\d+$/.test(s) ? Number(s) : null;
    world.addClient(socket, v2, since);
  });

  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      resolve({
        url: `http://127.0.0.1:${actual}`,
        port: actual,
        ...control,
        close: () => new Promise((done) => {
          for (const t of timers.flat()) clearInterval(t);
          for (const c of canvases.all()) c.world.drop();
          control.drop();
          server.close(() => done());
        }),
      });
    });
  });
}

// Run from the command line (but not when `node --test ui/test/` picks this
// file up: every .mjs under a test/ directory is run as a test file).
if (!process.env.NODE_TEST_CONTEXT && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const srv = await startDevServer({
    port: Number(env.PORT || 8099),
    width: Number(env.WIDTH || 50),
    height: Number(env.HEIGHT || 50),
    bots: Number(env.BOTS || 0),
    history: Number(env.HISTORY || 10000),
    rate: Number(env.PIXEL_RATE || 20),
    burst: Number(env.PIXEL_BURST || 40),
  });
  console.log(`devserver on ${srv.url} (${env.WIDTH || 50}x${env.HEIGHT || 50}, ${env.BOTS || 0} bots)`);
}
