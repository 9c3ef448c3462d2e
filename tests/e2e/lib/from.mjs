// A Browser (lib/browser.mjs) whose every request leaves from one local
// address. Linux routes all of 127/8 to the loopback interface, so tests
// play "many client addresses" (127.0.x.y) without a proxy.

import http from 'node:http';

import { Browser } from './browser.mjs';

export class BrowserFrom extends Browser {
  constructor(server, address) {
    super(server);
    this.address = address;
  }

  raw(method, path, { body, headers = {} } = {}) {
    const url = new URL(path, this.server.url);
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: url.hostname, port: url.port, path: url.pathname + url.search, method,
        localAddress: this.address, agent: false, timeout: 15_000,
        headers: { cookie: this.cookieHeader(), ...headers },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            for (const one of [v].flat()) h.append(k, one);
          }
          this.take({ headers: h });
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, headers: h, json, text, setCookies: h.getSetCookie() });
        });
      });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  }
}
