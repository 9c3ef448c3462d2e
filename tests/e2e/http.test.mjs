// HTTP behaviour shared by every endpoint: health checks, security headers,
// request ids, error bodies, the body size limit and the access log.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startServer, stopAll, scim, request, rawRequest, userBody, waitFor, sleep, randomHex, SCIM_ERROR_SCHEMA,
} from './lib/server.mjs';

after(stopAll);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A valid SCIM user as JSON text, padded with whitespace to `size` bytes. */
function paddedUser(userName, size) {
  const json = JSON.stringify(userBody(userName));
  assert.ok(Buffer.byteLength(json) <= size);
  return json + ' '.repeat(size - Buffer.byteLength(json));
}

/**
 * A 413 for an over-long body. Outside SCIM the error is the plain
 * {"error":"request_too_large"} form; the SCIM endpoint may instead answer
 * with its own SCIM error body carrying status "413".
 */
function assertTooLarge(r) {
  assert.equal(r.status, 413, r.text);
  assert.ok(r.body, `413 body should be JSON: ${r.text}`);
  const plain = r.body.error === 'request_too_large';
  const scimStyle = Array.isArray(r.body.schemas) && r.body.schemas.includes(SCIM_ERROR_SCHEMA)
    && r.body.status === '413';
  assert.ok(plain || scimStyle, `413 body should say request_too_large: ${r.text}`);
}

describe('HTTP basics', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  test('GET /healthz/live → 200 {"status":"ok"}', async () => {
    const r = await request(server, 'GET', '/healthz/live');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json\b/);
    assert.deepEqual(r.body, { status: 'ok' });
  });

  test('GET /healthz/ready → 200 {"status":"ready"}', async () => {
    const r = await request(server, 'GET', '/healthz/ready');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json\b/);
    assert.deepEqual(r.body, { status: 'ready' });
  });

  test('security headers on success, error and SCIM responses; no HSTS over http (ASVS 5.0 3.4.3–3.4.6 [4.0.3 14.4.3–14.4.7])', async () => {
    const responses = {
      'GET /healthz/live (200)': await request(server, 'GET', '/healthz/live'),
      'GET /no/such/path (404)': await request(server, 'GET', '/no/such/path'),
      'POST /healthz/live (405)': await request(server, 'POST', '/healthz/live', { body: '{}', headers: { 'content-type': 'application/json' } }),
      'GET /scim/v2/Users without token (401)': await scim(server, 'GET', '/Users', undefined, { token: null }),
    };
    for (const [what, r] of Object.entries(responses)) {
      const h = r.headers;
      assert.equal(h.get('x-content-type-options'), 'nosniff', what);
      assert.equal(h.get('referrer-policy'), 'no-referrer', what);
      assert.equal(h.get('x-frame-options'), 'DENY', what);
      assert.match(h.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
      assert.match(h.get('x-request-id') ?? '', REQUEST_ID, what);
      assert.equal(h.get('strict-transport-security'), null, `${what}: no HSTS when the issuer is http`);
    }
  });

  test('X-Request-Id: a valid one is echoed, up to 128 characters', async () => {
    for (const id of ['abc-123_X.y', 'A'.repeat(128)]) {
      const r = await request(server, 'GET', '/healthz/live', { headers: { 'x-request-id': id } });
      assert.equal(r.headers.get('x-request-id'), id);
    }
  });

  test('X-Request-Id: generated when absent, unique per request', async () => {
    const a = await request(server, 'GET', '/healthz/live');
    const b = await request(server, 'GET', '/healthz/live');
    assert.match(a.headers.get('x-request-id') ?? '', REQUEST_ID);
    assert.match(b.headers.get('x-request-id') ?? '', REQUEST_ID);
    assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
  });

  test('X-Request-Id: an invalid one (bad characters, too long) is replaced (ASVS 5.0 16.4.1 log injection)', async () => {
    for (const bad of ['bad id with spaces', 'x"}{"level":"error', 'B'.repeat(129), 'a/b']) {
      const r = await request(server, 'GET', '/healthz/live', { headers: { 'x-request-id': bad } });
      const got = r.headers.get('x-request-id') ?? '';
      assert.notEqual(got, bad);
      assert.match(got, REQUEST_ID, `replacement for ${JSON.stringify(bad)}`);
    }
  });

  test('unknown path → 404 JSON {"error":"not_found"}', async () => {
    const r = await request(server, 'GET', '/definitely/not/here');
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /^application\/json\b/);
    assert.equal(r.body?.error, 'not_found', r.text);
    assert.equal(typeof r.body.error_description, 'string');
  });

  test('unknown path from a browser (Accept: text/html) → the 404 page under the page CSP; API paths and other clients keep JSON', async () => {
    const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const r = await request(server, 'GET', '/definitely/not/here', { headers: { accept: html } });
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /^text\/html\b/);
    assert.match(r.text, /<h1>Page not found<\/h1>/);
    assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    for (const p of ['/api/v1/nope', '/scim/v2/Nope', '/admin/v1/nope']) {
      const a = await request(server, 'GET', p, { headers: { accept: html } });
      assert.equal(a.status, 404, p);
      assert.match(a.headers.get('content-type'), /json/, p);
    }
    const post = await request(server, 'POST', '/definitely/not/here', { headers: { accept: html } });
    assert.equal(post.status, 404);
    assert.equal(post.body?.error, 'not_found');
  });

  test('known path, wrong method → 405 with Allow and a JSON error', async () => {
    const r = await request(server, 'DELETE', '/healthz/live');
    assert.equal(r.status, 405);
    const allow = (r.headers.get('allow') ?? '').split(',').map((s) => s.trim().toUpperCase());
    assert.ok(allow.includes('GET'), `Allow: ${r.headers.get('allow')}`);
    assert.ok(!allow.includes('DELETE'));
    assert.match(r.headers.get('content-type'), /^application\/json\b/);
    assert.equal(typeof r.body?.error, 'string', r.text);
    assert.notEqual(r.body.error, '');
    assert.equal(typeof r.body.error_description, 'string');
  });

  test('body over 64 KiB with Content-Length → 413; the server keeps serving', async () => {
    const body = Buffer.from(paddedUser('cl-too-big@example.com', 64 * 1024 + 1));
    const r = await rawRequest(server, {
      method: 'POST',
      path: '/scim/v2/Users',
      headers: {
        authorization: `Bearer ${server.token}`,
        'content-type': 'application/scim+json',
        'content-length': body.length,
      },
      write: (req) => { req.end(body); },
    });
    assertTooLarge(r);
    const live = await request(server, 'GET', '/healthz/live');
    assert.equal(live.status, 200);
    const list = await scim(server, 'GET', `/Users?filter=${encodeURIComponent('userName eq "cl-too-big@example.com"')}`);
    assert.equal(list.body?.totalResults, 0, 'the rejected body must not create a user');
  });

  test('chunked body over 64 KiB → 413; the server keeps serving', async () => {
    const head = JSON.stringify(userBody('chunked-too-big@example.com')).slice(0, -1) + ',"displayName":"';
    const chunk = 'y'.repeat(16 * 1024);
    const r = await rawRequest(server, {
      method: 'POST',
      path: '/scim/v2/Users',
      headers: {
        authorization: `Bearer ${server.token}`,
        'content-type': 'application/scim+json',
        'transfer-encoding': 'chunked',
      },
      write: async (req) => {
        req.write(head);
        // Up to 256 KiB, stopping early once the server has answered.
        for (let sent = 0; sent < 256 * 1024 && !req.state.answered && !req.destroyed; sent += chunk.length) {
          req.write(chunk);
          await sleep(5);
        }
        if (!req.destroyed) req.end('"}');
      },
    });
    assertTooLarge(r);
    const live = await request(server, 'GET', '/healthz/live');
    assert.equal(live.status, 200);
    const ok = await scim(server, 'POST', '/Users', userBody('after-413@example.com'));
    assert.equal(ok.status, 201, ok.text);
  });

  test('a chunked body under the limit is accepted', async () => {
    const json = JSON.stringify(userBody('chunked-ok@example.com'));
    const r = await rawRequest(server, {
      method: 'POST',
      path: '/scim/v2/Users',
      headers: {
        authorization: `Bearer ${server.token}`,
        'content-type': 'application/scim+json',
        'transfer-encoding': 'chunked',
      },
      write: async (req) => {
        req.write(json.slice(0, 20));
        await sleep(20);
        req.end(json.slice(20));
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body?.userName, 'chunked-ok@example.com');
  });

  test('access log: one JSON line per request without the query string (SECURITY.md #47 / ASVS 16.3 no secrets in logs)', async () => {
    const id = 'access-log-check-1';
    const r = await request(server, 'GET', '/healthz/live?secret=hunter2', { headers: { 'x-request-id': id } });
    assert.equal(r.status, 200);
    const id404 = 'access-log-check-2';
    const r404 = await request(server, 'GET', '/nowhere?token=hunter3', { headers: { 'x-request-id': id404 } });
    assert.equal(r404.status, 404);

    const find = (rid) => server.jsonLogs().find((l) => l.request_id === rid);
    const line = await waitFor(() => find(id));
    assert.ok(line, `no access log line with request_id ${id}:\n${server.logs().join('\n')}`);
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/healthz/live');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
    assert.ok(line.duration_ms >= 0);
    const line404 = await waitFor(() => find(id404));
    assert.ok(line404, `no access log line with request_id ${id404}`);
    assert.equal(line404.path, '/nowhere');
    assert.equal(line404.status, 404);

    assert.equal(server.jsonLogs().filter((l) => l.request_id === id).length, 1, 'exactly one line per request');
    for (const l of server.logs()) {
      assert.ok(!l.includes('hunter2') && !l.includes('hunter3'), `query string leaked into the log: ${l}`);
    }
  });
});

describe('slow requests', () => {
  test('a request that takes over a second is logged at warn level; quick ones at info', async () => {
    const server = await startServer();
    const body = Buffer.from(JSON.stringify(userBody(`slow-${randomHex(4)}@example.com`)));
    const res = await rawRequest(server, {
      method: 'POST',
      path: '/scim/v2/Users',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/scim+json', 'content-length': body.length },
      write: async (req) => {
        req.write(body.subarray(0, 10));
        await sleep(1300);
        req.end(body.subarray(10));
      },
    });
    assert.equal(res.status, 201, res.text);
    await fetch(`${server.url}/healthz/live`).then((r) => r.text());
    await sleep(100);
    const lines = server.jsonLogs().filter((l) => l.msg === 'request');
    const slow = lines.find((l) => l.path === '/scim/v2/Users');
    assert.equal(slow.level, 'warn');
    assert.ok(slow.duration_ms > 1000);
    assert.equal(lines.find((l) => l.path === '/healthz/live').level, 'info');
    await server.stop();
  });
});

describe('GATEHOUSE_MAX_BODY', () => {
  test('a body of exactly GATEHOUSE_MAX_BODY bytes is accepted, one byte more → 413', async () => {
    const server = await startServer({ env: { GATEHOUSE_MAX_BODY: 2048 } });
    try {
      const exact = await scim(server, 'POST', '/Users', paddedUser('exact@example.com', 2048));
      assert.equal(exact.status, 201, exact.text);
      const over = await scim(server, 'POST', '/Users', paddedUser('over@example.com', 2049));
      assertTooLarge(over);
    } finally {
      await server.stop();
    }
  });
});
