// A minimal WebSocket client on node:net, playing "another user" in the
// browser tests (node 20 has no WebSocket client without a flag). Text
// frames only. Not a test file itself.

import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

export function openSocket(port, path = '/ws') {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const messages = [];
    let buf = Buffer.alloc(0);
    let open = false;
    sock.setTimeout(10000, () => sock.destroy(new Error('socket timeout')));
    sock.on('error', reject);
    sock.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/^HTTP\/1\.1 101/.test(buf.subarray(0, end).toString())) return reject(new Error('upgrade refused'));
        buf = buf.subarray(end + 4);
        open = true;
        sock.setTimeout(0);
        resolve(api);
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const op = buf[0] & 0x0f;
        const payload = buf.subarray(off, off + len).toString();
        buf = buf.subarray(off + len);
        if (op !== 1) continue;
        const m = JSON.parse(payload);
        if (m.type === 'batch') messages.push(...m.events);
        else messages.push(m);
      }
    });
    const api = {
      messages,
      send(obj) {
        const payload = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj));
        const mask = randomBytes(4);
        const n = payload.length;
        const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255]);
        const body = Buffer.from(payload);
        for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
        sock.write(Buffer.concat([head, mask, body]));
      },
      close() {
        sock.destroy();
      },
    };
  });
}
