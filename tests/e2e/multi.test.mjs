// Several Gatehouse instances on one database (issue 5): every piece of
// shared state lives in the database, so any instance can serve any request.
// Runs on both backends: two processes on one SQLite file, or on one
// PostgreSQL database when GATEHOUSE_TEST_DATABASE_URL is set.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';

import { startServer, stopAll, scim, sql, userBody, randomHex, sleep, BACKEND } from './lib/server.mjs';
import { startMailSink } from './lib/mail.mjs';

after(stopAll);

/** Starts a second instance on the first one's database and keys. */
function twin(first, env = {}) {
  return startServer({
    token: first.token,
    masterKey: first.masterKey, // every instance must share the master key
    env: { GATEHOUSE_DATABASE: first.dbPath, ...env },
  });
}

/** A client that keeps cookies and may talk to any instance. */
class Client {
  constructor() { this.jar = new Map(); this.csrf = null; }
  async call(server, method, path, data) {
    const headers = { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    if (data !== undefined) {
      headers['content-type'] = 'application/json';
      headers['x-csrf-token'] = this.csrf;
    }
    const res = await fetch(`${server.url}${path}`, {
      method, headers, body: data === undefined ? undefined : JSON.stringify(data),
      signal: AbortSignal.timeout(15_000),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      if (/max-age=0/i.test(line)) this.jar.delete(pair.slice(0, i));
      else this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const json = await res.json().catch(() => null);
    if (json?.csrf_token) this.csrf = json.csrf_token;
    return { status: res.status, json, headers: res.headers };
  }
  async ready(server) { return this.call(server, 'GET', '/api/v1/session'); }
}

const strong = () => `Harbour-${randomHex(6)}-Lantern`;

describe(`two instances on one ${BACKEND} database`, () => {
  let a;
  let b;
  let mail;

  before(async () => {
    mail = await startMailSink();
    a = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
    b = await twin(a, { GATEHOUSE_SMTP_URL: mail.url });
  });
  after(async () => { await b?.stop(); await a?.stop(); await mail?.stop(); });

  test('a session made on one instance works on the other, and sign-out on the other ends it', async () => {
    const email = `roam-${randomHex(4)}@example.com`;
    const password = strong();
    assert.equal((await scim(a, 'POST', '/Users', userBody(email, { password }))).status, 201);
    const c = new Client();
    await c.ready(a);
    const r = await c.call(a, 'POST', '/api/v1/signin', { email, password });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const there = await c.call(b, 'GET', '/api/v1/session');
    assert.equal(there.json.authenticated, true);
    assert.equal(there.json.user.email, email);
    // The CSRF token made on A is accepted by B (same master key).
    const out = await c.call(b, 'POST', '/api/v1/signout', {});
    assert.equal(out.status, 200);
    assert.equal((await c.call(a, 'GET', '/api/v1/session')).json.authenticated, false);
  });

  test('a code mailed through one instance verifies on the other', async () => {
    const email = `cross-${randomHex(4)}@example.com`;
    const c = new Client();
    await c.ready(a);
    const r = await c.call(a, 'POST', '/api/v1/signup', { email, password: strong() });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const msg = await mail.waitFor((m) => JSON.stringify(m.to).includes(email), 10_000);
    const code = /\b(\d{6})\b/.exec(msg.text)[1];
    const v = await c.call(b, 'POST', '/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(v.status, 200, JSON.stringify(v.json));
    assert.equal(v.json.status, 'signed_in');
    // Both senders ran; the message went out exactly once.
    await sleep(500);
    assert.equal(mail.messages.filter((m) => JSON.stringify(m.to).includes(email)).length, 1);
  });

  test('failed sign-in throttling counts across both instances (SECURITY.md #11)', async () => {
    const email = `spread-${randomHex(4)}@example.com`;
    const password = strong();
    await scim(a, 'POST', '/Users', userBody(email, { password }));
    const c = new Client();
    await c.ready(a);
    for (const [i, server] of [a, b, a, b, a].entries()) {
      const r = await c.call(server, 'POST', '/api/v1/signin', { email, password: 'not-the-password' });
      assert.equal(r.status, 401, `attempt ${i + 1}`);
    }
    for (const server of [a, b]) {
      const r = await c.call(server, 'POST', '/api/v1/signin', { email, password });
      assert.equal(r.status, 429, 'the fifth failure blocks on every instance');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
  });

  test('a refresh token rotated on one instance is detected as reused on the other', async () => {
    const email = `rt-${randomHex(4)}@example.com`;
    const password = strong();
    await scim(a, 'POST', '/Users', userBody(email, { password }));
    const reg = await (await fetch(`${a.url}/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Multi', redirect_uris: ['https://app.example.com/cb'],
        grant_types: ['authorization_code', 'refresh_token'], gatehouse_first_party: true }),
    })).json();
    const c = new Client();
    await c.ready(a);
    await c.call(a, 'POST', '/api/v1/signin', { email, password });
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const q = new URLSearchParams({ client_id: reg.client_id, redirect_uri: 'https://app.example.com/cb', response_type: 'code',
      scope: 'openid offline_access', code_challenge: challenge, code_challenge_method: 'S256' });
    const auth = await fetch(`${a.url}/authorize?${q}`, { redirect: 'manual', headers: { cookie: [...c.jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    const code = new URL(auth.headers.get('location')).searchParams.get('code');
    const basic = `Basic ${Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64')}`;
    const token = async (server, body) => {
      const res = await fetch(`${server.url}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      return { status: res.status, json: await res.json() };
    };
    const t0 = await token(b, { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example.com/cb', code_verifier: verifier });
    assert.equal(t0.status, 200, JSON.stringify(t0.json));
    const t1 = await token(a, { grant_type: 'refresh_token', refresh_token: t0.json.refresh_token });
    assert.equal(t1.status, 200);
    const reuse = await token(b, { grant_type: 'refresh_token', refresh_token: t0.json.refresh_token });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    const dead = await token(a, { grant_type: 'refresh_token', refresh_token: t1.json.refresh_token });
    assert.equal(dead.json.error, 'invalid_grant', 'the family is revoked on every instance');
  });

  test('a username taken on one instance is taken on the other', async () => {
    const email = `once-${randomHex(4)}@example.com`;
    const results = await Promise.all([a, b, a, b].map((s) => scim(s, 'POST', '/Users', userBody(email))));
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    assert.equal(results.filter((r) => r.status === 409).length, 3);
    assert.equal(sql(a, `SELECT count(*) AS n FROM users WHERE username = '${email}'`)[0].n, 1);
  });
});

/** POSTs a SCIM user over a fresh connection; resolves the status (0 when the connection died). */
function createUser(server, userName) {
  const body = JSON.stringify(userBody(userName));
  return new Promise((resolve) => {
    const req = http.request(`${server.url}/scim/v2/Users`, {
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${server.token}`,
        'content-type': 'application/scim+json',
        'content-length': Buffer.byteLength(body),
      },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
    req.setTimeout(15_000, () => req.destroy());
    req.end(body);
  });
}

describe(`killing an instance mid-load (${BACKEND})`, () => {
  test('no acknowledged write is lost when one instance is killed with SIGKILL', async () => {
    const a = await startServer();
    const b = await twin(a);
    const acknowledged = [];
    const prefix = `load-${randomHex(3)}`;
    let n = 0;
    const worker = async (server, stopAt) => {
      while (Date.now() < stopAt) {
        const name = `${prefix}-${n++}@example.com`;
        const status = await createUser(server, name);
        if (status === 201) acknowledged.push(name);
        else if (status === 0) await sleep(20);
      }
    };
    const stopAt = Date.now() + 2500;
    const load = Promise.all([worker(a, stopAt), worker(a, stopAt), worker(b, stopAt), worker(b, stopAt)]);
    await sleep(1000);
    a.proc.kill('SIGKILL');
    await load;
    assert.ok(acknowledged.length > 10, `only ${acknowledged.length} writes were acknowledged`);
    const stored = new Set(sql(b, `SELECT username FROM users WHERE username LIKE '${prefix}-%'`).map((r) => r.username));
    const lost = acknowledged.filter((u) => !stored.has(u));
    assert.deepEqual(lost, [], `${lost.length} acknowledged users are missing`);
    // The survivor still serves.
    assert.equal(await createUser(b, `${prefix}-after@example.com`), 201);
    await b.stop();
  });
});
