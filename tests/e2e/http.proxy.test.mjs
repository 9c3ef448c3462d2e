// Client addresses behind a TLS-terminating proxy (issue 15 item 1,
// docs/deployment.md). The "proxy" here is the test itself: requests from
// 127.0.0.1 carrying X-Forwarded-For / Forwarded stand for a proxy's, and a
// Node client bound to 127.0.0.2 is a peer that is not trusted.
//
// Per-address sign-in throttling (SECURITY.md #11, #12; ASVS 6.3.1
// [2.2.1]) is only as good as the address it keys on: without the setting
// every customer behind the proxy shares the proxy's address, and with it a
// client that is not a trusted proxy must not be able to choose its own.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { startServer, stopAll, scim, sql, userBody, randomHex, sleep, waitFor } from './lib/server.mjs';
import { Browser } from './lib/browser.mjs';

after(stopAll);

const strong = () => `Glacier-${randomHex(6)}-Orchard`;
// Cheap hashes: the throttling tests make a few dozen failed sign-ins.
const FAST = { GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_ITERATIONS: '1' };

/**
 * A Browser whose requests go over node:http from a chosen local address,
 * each with the given extra headers (what a proxy would add).
 */
class PeerBrowser extends Browser {
  constructor(server, { localAddress = '127.0.0.1', headers = {} } = {}) {
    super(server);
    this.localAddress = localAddress;
    this.extra = headers;
  }

  raw(method, path, { body, headers = {} } = {}) {
    const h = { ...this.extra, ...headers };
    const cookie = this.cookieHeader();
    if (cookie) h.cookie = cookie;
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: this.server.port, method, path, headers: h,
        localAddress: this.localAddress, agent: false, timeout: 15_000,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          this.take({ headers: { getSetCookie: () => setCookies } });
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, headers: { get: (n) => res.headers[n.toLowerCase()] ?? null }, json, text, setCookies });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

async function newUser(server) {
  const email = `p-${randomHex(5)}@example.com`;
  const password = strong();
  const r = await scim(server, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, r.text);
  return { email, password, id: r.body.id };
}

/** Signs in and returns the ip the server recorded for the new session. */
async function sessionIp(b, user) {
  const r = await b.post('/api/v1/signin', { email: user.email, password: user.password });
  assert.equal(r.status, 200, r.text);
  const list = await b.raw('GET', '/api/v1/sessions');
  assert.equal(list.status, 200, list.text);
  return list.json.sessions.find((s) => s.current).ip;
}

/**
 * Fails sign-ins (unknown accounts, as a password sprayer would) until
 * `failures` were counted, waiting out each delay on the way; the address
 * key starts delaying at the 20th failure and doubles (1, 2, 4 s ...).
 */
async function spray(b, failures) {
  let counted = 0;
  for (let i = 0; counted < failures && i < failures + 20; i++) {
    const r = await b.post('/api/v1/signin', { email: `nobody-${randomHex(4)}@example.com`, password: 'wrong-password-here' });
    if (r.status === 401) counted++;
    else if (r.status === 429) await sleep(1000 * Number(r.headers.get('retry-after')) + 100);
    else assert.fail(`unexpected ${r.status}: ${r.text}`);
  }
  assert.equal(counted, failures);
}

describe('client addresses without GATEHOUSE_TRUSTED_PROXIES', () => {
  let server;
  before(async () => { server = await startServer({ env: FAST }); });
  after(async () => { await server?.stop(); });

  test('forwarding headers are ignored: the socket peer is the client', async () => {
    const b = new PeerBrowser(server, { headers: { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.8' } });
    assert.equal(await sessionIp(b, await newUser(server)), '127.0.0.1');
  });

  test('the issue\'s attack: behind a proxy every customer shares its address, so one sprayer throttles everybody\'s sign-in', async () => {
    const attacker = new PeerBrowser(server, { headers: { 'x-forwarded-for': '203.0.113.66' } });
    await spray(attacker, 22);
    const customer = new PeerBrowser(server, { headers: { 'x-forwarded-for': '198.51.100.20' } });
    const user = await newUser(server);
    const r = await customer.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(r.status, 429, 'without the setting the customer is throttled for the attacker\'s failures');
  });
});

describe('client addresses with GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32 (X-Forwarded-For)', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { ...FAST, GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32' } });
  });
  after(async () => { await server?.stop(); });

  test('a trusted peer\'s X-Forwarded-For names the client: sessions, audit events and the access log carry it', async () => {
    const user = await newUser(server);
    const b = new PeerBrowser(server, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(await sessionIp(b, user), '203.0.113.7');
    const audit = sql(server, `SELECT ip FROM audit_events WHERE type = 'signin.succeeded' AND subject = '${user.id}'`);
    assert.deepEqual(audit.map((a) => a.ip), ['203.0.113.7']);
    // the access-log line is written once the response has gone out
    assert.ok(await waitFor(() => server.jsonLogs().some((l) => l.msg === 'request' && l.path === '/api/v1/signin' && l.ip === '203.0.113.7'), 5000));
  });

  test('the right-most untrusted hop wins: hops a client forges on the left are not believed', async () => {
    const b = new PeerBrowser(server, { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' } });
    assert.equal(await sessionIp(b, await newUser(server)), '203.0.113.9');
    // two header lines (HAProxy adds its own below the client's) are one list
    const two = new PeerBrowser(server, { headers: { 'x-forwarded-for': ['198.51.100.1', '203.0.113.10'] } });
    assert.equal(await sessionIp(two, await newUser(server)), '203.0.113.10');
    const v6 = new PeerBrowser(server, { headers: { 'x-forwarded-for': '2001:DB8::7' } });
    assert.equal(await sessionIp(v6, await newUser(server)), '2001:db8::7');
  });

  test('a malformed or unknown hop, or no header, keeps the peer address; Forwarded is not read in this mode', async () => {
    for (const headers of [{ 'x-forwarded-for': '203.0.113.9, garbage' }, { 'x-forwarded-for': 'unknown' }, {}, { forwarded: 'for=203.0.113.9' }]) {
      const b = new PeerBrowser(server, { headers });
      assert.equal(await sessionIp(b, await newUser(server)), '127.0.0.1', JSON.stringify(headers));
    }
  });

  test('from a peer that is not trusted (127.0.0.2) the headers change nothing', async () => {
    const b = new PeerBrowser(server, { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7' } });
    assert.equal(await sessionIp(b, await newUser(server)), '127.0.0.2');
  });

  test('with the setting a sprayer is throttled at its own address and other customers sign in; a forged header from an untrusted peer does not escape the throttle', async () => {
    const attacker = new PeerBrowser(server, { headers: { 'x-forwarded-for': '203.0.113.66' } });
    await spray(attacker, 22);
    const user = await newUser(server);
    const customer = new PeerBrowser(server, { headers: { 'x-forwarded-for': '198.51.100.20' } });
    const ok = await customer.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(ok.status, 200, ok.text);
    const again = await attacker.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(again.status, 429, 'the sprayer\'s own address is throttled');

    // A direct client at 127.0.0.2 making up a new X-Forwarded-For for
    // every attempt is still counted at 127.0.0.2.
    const direct = new PeerBrowser(server, { localAddress: '127.0.0.2' });
    for (let i = 0; i < 22; i++) {
      direct.extra = { 'x-forwarded-for': `198.51.100.${100 + i}` };
      const r = await direct.post('/api/v1/signin', { email: `nobody-${randomHex(4)}@example.com`, password: 'wrong-password-here' });
      if (r.status === 429) return; // throttled in spite of the forged headers
      assert.equal(r.status, 401, r.text);
    }
    const last = await direct.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(last.status, 429, 'forged headers from an untrusted peer do not reset the throttle');
  });
});

describe('client addresses with GATEHOUSE_PROXY_HEADER=forwarded (RFC 7239)', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { GATEHOUSE_TRUSTED_PROXIES: '127.0.0.0/31, ::1', GATEHOUSE_PROXY_HEADER: 'forwarded' } });
  });
  after(async () => { await server?.stop(); });

  test('for= names the client (IPv4 with a port, quoted [IPv6]); X-Forwarded-For is not read', async () => {
    const cases = [
      ['for=203.0.113.7;proto=https', '203.0.113.7'],
      ['for="203.0.113.8:4711"', '203.0.113.8'],
      ['for="[2001:db8::9]:4711";proto=https, for=127.0.0.1', '2001:db8::9'],
      ['for=198.51.100.1, for=203.0.113.10', '203.0.113.10'],
      ['for=unknown', '127.0.0.1'],
      ['for=_hidden', '127.0.0.1'],
      ['for="203.0.113.7', '127.0.0.1'],
    ];
    for (const [forwarded, ip] of cases) {
      const b = new PeerBrowser(server, { headers: { forwarded, 'x-forwarded-for': '198.51.100.99' } });
      assert.equal(await sessionIp(b, await newUser(server)), ip, forwarded);
    }
  });

  test('from a peer outside the list (127.0.0.2) Forwarded changes nothing', async () => {
    const b = new PeerBrowser(server, { localAddress: '127.0.0.2', headers: { forwarded: 'for=203.0.113.7' } });
    assert.equal(await sessionIp(b, await newUser(server)), '127.0.0.2');
  });
});

test('a malformed GATEHOUSE_TRUSTED_PROXIES stops the start with a line naming it', async () => {
  await assert.rejects(startServer({ env: { GATEHOUSE_TRUSTED_PROXIES: '10.0.0.1/8' } }),
    /GATEHOUSE_TRUSTED_PROXIES: "10\.0\.0\.1\/8" has address bits set beyond \/8/);
});
