// Request smuggling (RFC 9112 §6.1, §6.3; ASVS 5.0 4.2.1, not in SECURITY.md's
// table): a request whose framing two HTTP parsers could read differently gets
// 400 and the server closes the connection, so whatever followed it on the
// wire is never served as a request of its own. Ordinary keep-alive,
// pipelined, chunked and Content-Length requests keep working.
//
// Raw node:net sockets: Node's HTTP client would refuse to send most of these.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startServer, stopAll, userBody, randomHex } from './lib/server.mjs';

after(stopAll);

/**
 * Writes `payload` on a fresh connection and reads until the server closes
 * it (closed: true) or nothing arrives for idleMs (closed: false).
 */
function exchange(port, payload, { idleMs = 2000, totalMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(total);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const total = setTimeout(() => finish(false), totalMs);
    sock.setTimeout(idleMs, () => finish(false));
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true)); // a reset after the response counts as closed
    sock.on('connect', () => sock.write(payload));
  });
}

/** The status codes of every response in a byte stream, in order. */
function statuses(text) {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

const HOST = 'Host: 127.0.0.1\r\n';
const SMUGGLED = `GET /healthz/live HTTP/1.1\r\n${HOST}\r\n`;

describe('request smuggling (ASVS 5.0 4.2.1)', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  const ambiguous = {
    'Transfer-Encoding and Content-Length together':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'Content-Length and then Transfer-Encoding':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'a space before the colon of Content-Length':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Content-Length : ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    'a space before the colon of Transfer-Encoding':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'a tab in a header name':
      `GET /healthz/live HTTP/1.1\r\n${HOST}X-A\t: 1\r\n\r\n${SMUGGLED}`,
    'two Content-Length headers':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Content-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    'Transfer-Encoding other than chunked':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'two Transfer-Encoding headers':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'Transfer-Encoding in HTTP/1.0':
      `POST /api/v1/verify HTTP/1.0\r\n${HOST}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'an obs-fold continuation of Content-Length':
      `POST /api/v1/verify HTTP/1.1\r\n${HOST}Content-Length: 5\r\n 0\r\n\r\n${SMUGGLED}`,
    'an obs-fold continuation with a space':
      `GET /healthz/live HTTP/1.1\r\n${HOST}X-A: one\r\n two three\r\n\r\n${SMUGGLED}`,
    'a CR inside a header value':
      `GET /healthz/live HTTP/1.1\r\n${HOST}X-A: o\rne\r\n\r\n${SMUGGLED}`,
    'a control character in a header value':
      `GET /healthz/live HTTP/1.1\r\n${HOST}X-A: o\x01ne\r\n\r\n${SMUGGLED}`,
    'an encoded NUL in the path':
      `GET /healthz/live%00.css HTTP/1.1\r\n${HOST}\r\n${SMUGGLED}`,
    'an encoded CR LF in the path':
      `GET /healthz/live%0d%0a HTTP/1.1\r\n${HOST}\r\n${SMUGGLED}`,
  };

  for (const [name, payload] of Object.entries(ambiguous)) {
    test(`${name}: 400, the connection is closed, the smuggled request is never served`, async () => {
      const r = await exchange(server.port, Buffer.from(payload, 'latin1'));
      assert.deepEqual(statuses(r.text), [400], `one 400 response only:\n${r.text}`);
      assert.match(r.text, /\r\nConnection: close\r\n/i);
      assert.ok(r.closed, `the server must close the connection:\n${r.text}`);
    });
  }

  test('/scim/v2/Users%00.css with the admin token → 400, not the user list', async () => {
    const r = await exchange(server.port, Buffer.from(
      `GET /scim/v2/Users%00.css HTTP/1.1\r\n${HOST}Authorization: Bearer ${server.token}\r\n\r\n`,
    ));
    assert.deepEqual(statuses(r.text), [400], r.text);
    assert.doesNotMatch(r.text, /ListResponse|totalResults/);
    assert.ok(r.closed);
  });

  test('pipelined keep-alive requests are all answered, on one connection', async () => {
    const r = await exchange(server.port, Buffer.from(
      `GET /healthz/live HTTP/1.1\r\n${HOST}\r\n`.repeat(3) + SMUGGLED.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'),
    ));
    assert.deepEqual(statuses(r.text), [200, 200, 200, 200], r.text);
  });

  test('a keep-alive connection stays open after an ordinary request', async () => {
    const r = await exchange(server.port, Buffer.from(`GET /healthz/live HTTP/1.1\r\n${HOST}\r\n`), { idleMs: 700 });
    assert.deepEqual(statuses(r.text), [200], r.text);
    assert.equal(r.closed, false, 'an ordinary keep-alive request must not close the connection');
  });

  test('a chunked body and a Content-Length body are read as bodies (SCIM create, pipelined)', async () => {
    const a = JSON.stringify(userBody(`chunked-${randomHex(4)}@example.com`));
    const b = JSON.stringify(userBody(`length-${randomHex(4)}@example.com`));
    const head = `POST /scim/v2/Users HTTP/1.1\r\n${HOST}Authorization: Bearer ${server.token}\r\nContent-Type: application/scim+json\r\n`;
    const half = Math.floor(a.length / 2);
    const chunked = `${head}Transfer-Encoding: chunked\r\n\r\n`
      + `${half.toString(16)}\r\n${a.slice(0, half)}\r\n${(a.length - half).toString(16)}\r\n${a.slice(half)}\r\n0\r\n\r\n`;
    const sized = `${head}Content-Length: ${Buffer.byteLength(b)}\r\nConnection: close\r\n\r\n${b}`;
    const r = await exchange(server.port, Buffer.from(chunked + sized), { idleMs: 8000, totalMs: 30_000 });
    assert.deepEqual(statuses(r.text), [201, 201], r.text);
    assert.ok(r.text.includes('"userName":"chunked-') && r.text.includes('"userName":"length-'), r.text);
  });
});
