// Outbound HTTP (gh_outbound) and the back-channel logout queue (gh_logout):
// ending sessions never waits for a relying party, tokens still arrive (with
// retries), and a client cannot make the server call loopback or private
// addresses (SSRF) or follow a redirect. SECURITY.md #29 (ASVS 7.4.1, OIDC
// Back-Channel Logout); SSRF: ASVS 5.0 1.3.6 [4.0.3 5.2.6].
//
// Relying parties here are Node servers on 127.0.0.1; server A allows that
// address (GATEHOUSE_OUTBOUND_ALLOW=127.0.0.1/32), server B runs the default
// policy.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

import * as jose from 'jose';

import { startServer, stopAll, scim, userBody, randomHex, sleep, sql, waitFor } from './lib/server.mjs';

after(stopAll);

const REDIRECT = 'https://app.example.com/callback';
const strong = () => `Lighthouse-${randomHex(6)}-Meadow`;

/** A user agent: cookies, CSRF token, manual redirects. */
class Agent {
  constructor(server) {
    this.server = server;
    this.jar = new Map();
    this.csrf = null;
  }
  async fetch(url, init = {}) {
    const headers = { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(init.headers ?? {}) };
    const res = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      if (/max-age=0/i.test(line)) this.jar.delete(pair.slice(0, i));
      else this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  }
  async api(method, path, body) {
    if (method !== 'GET' && !this.csrf) await this.api('GET', '/api/v1/session');
    const res = await this.fetch(`${this.server.url}${path}`, {
      method,
      headers: method === 'GET' ? {} : { 'content-type': 'application/json', 'x-csrf-token': this.csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (json?.csrf_token) this.csrf = json.csrf_token;
    return { status: res.status, json };
  }
  async signIn(email, password) {
    const r = await this.api('POST', '/api/v1/signin', { email, password });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.status, 'signed_in');
  }
  /** Gets an authorization code for client_id in this agent's session (the session's clients are those that got a code). */
  async code(clientId) {
    const verifier = randomBytes(32).toString('base64url');
    const q = new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid', state: randomHex(8),
      nonce: randomHex(8), code_challenge_method: 'S256',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    });
    const res = await this.fetch(`${this.server.url}/authorize?${q}`);
    assert.equal(res.status, 302, await res.text());
    const to = new URL(res.headers.get('location'));
    assert.ok(to.searchParams.get('code'), `no code: ${to}`);
  }
}

async function register(server, metadata) {
  const res = await fetch(`${server.url}/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], gatehouse_first_party: true, ...metadata }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

async function newUser(server) {
  const email = `bcl-${randomHex(4)}@example.com`;
  const password = strong();
  const r = await scim(server, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, r.text);
  return { email, password, id: r.body.id };
}

/** An HTTP relying party that records each request and answers with answer(n) (n: 1-based count). */
async function relyingParty(answer = () => 200) {
  const hits = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      hits.push({ method: req.method, url: req.url, token: new URLSearchParams(body).get('logout_token') });
      const a = answer(hits.length);
      if (typeof a === 'number') { res.statusCode = a; res.end(); return; }
      res.writeHead(a.status, a.headers); res.end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { srv, hits, uri: `http://127.0.0.1:${srv.address().port}/bcl`, port: srv.address().port };
}

/** A TCP server that accepts connections and never answers: a black hole. */
async function blackHole() {
  const sockets = new Set();
  let connections = 0;
  const srv = net.createServer((s) => { connections++; sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    uri: `http://127.0.0.1:${srv.address().port}/bcl`,
    connections: () => connections,
    close: () => { for (const s of sockets) s.destroy(); srv.close(); },
  };
}

/** A plain TCP listener counting connections (for "nothing reached it"). */
async function listener() {
  let connections = 0;
  const srv = net.createServer((s) => { connections++; s.destroy(); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { port: srv.address().port, connections: () => connections, close: () => srv.close() };
}

async function timed(fn) {
  const t0 = performance.now();
  const out = await fn();
  return { ms: performance.now() - t0, out };
}

const logoutLogs = (server, clientId) =>
  server.jsonLogs().filter((l) => l.msg === 'back-channel logout' && l.client_id === clientId);

describe('back-channel logout through the queue (loopback allowed)', () => {
  let server;
  let jwks;

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32' } });
    jwks = jose.createRemoteJWKSet(new URL(`${server.url}/jwks`));
  });

  test('a token that failed once (503) arrives at the RP on a retry; each attempt is recorded, never the token', async () => {
    const rp = await relyingParty((n) => (n === 1 ? 503 : 200));
    const reg = await register(server, { client_name: 'Flaky RP', backchannel_logout_uri: rp.uri });
    const user = await newUser(server);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const sid = (await agent.api('GET', '/api/v1/sessions')).json.sessions[0].id;
    await agent.code(reg.client_id);
    assert.equal((await agent.api('POST', '/api/v1/signout', {})).status, 200);

    assert.ok(await waitFor(() => rp.hits.length >= 2, 15_000), `hits: ${rp.hits.length}`);
    // The sender records an attempt after the RP answered: wait for its log line.
    assert.ok(await waitFor(() => logoutLogs(server, reg.client_id).some((l) => l.outcome === 'sent'), 10_000));
    for (const hit of rp.hits) {
      assert.equal(hit.method, 'POST');
      const { payload, protectedHeader } = await jose.jwtVerify(hit.token, jwks, { issuer: server.issuer, audience: reg.client_id });
      assert.equal(protectedHeader.typ, 'logout+jwt');
      assert.equal(payload.sid, sid);
      assert.equal(payload.sub, user.id);
    }
    const rows = sql(server, `SELECT attempt, outcome, error FROM logout_attempts WHERE client_id = '${reg.client_id}' ORDER BY attempt`);
    assert.deepEqual(rows.map((r) => r.outcome), ['retry', 'sent']);
    assert.match(rows[0].error, /503/);
    const q = sql(server, `SELECT status, attempts, sent_at FROM logout_queue WHERE client_id = '${reg.client_id}'`);
    assert.equal(q.length, 1);
    assert.equal(q[0].status, 'sent');
    assert.equal(q[0].attempts, 2);
    const logs = logoutLogs(server, reg.client_id);
    assert.deepEqual(logs.map((l) => l.outcome), ['retry', 'sent']);
    for (const hit of rp.hits) assert.ok(!server.logs().some((l) => l.includes(hit.token)), 'no token in the logs');
    rp.srv.close();
  });

  test('a redirect from the RP is not followed (the attempt fails without retries)', async () => {
    const target = await listener();
    const rp = await relyingParty(() => ({ status: 307, headers: { location: `http://127.0.0.1:${target.port}/elsewhere` } }));
    const reg = await register(server, { client_name: 'Redirecting RP', backchannel_logout_uri: rp.uri });
    const user = await newUser(server);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    await agent.code(reg.client_id);
    assert.equal((await agent.api('POST', '/api/v1/signout', {})).status, 200);
    assert.ok(await waitFor(() => logoutLogs(server, reg.client_id).length >= 1, 10_000));
    await sleep(1500); // a retry would come after 1 s
    assert.equal(rp.hits.length, 1);
    assert.equal(target.connections(), 0, 'the redirect target was never contacted');
    const logs = logoutLogs(server, reg.client_id);
    assert.equal(logs.length, 1);
    assert.equal(logs[0].outcome, 'failed');
    assert.match(logs[0].error, /307/);
    rp.srv.close();
    target.close();
  });

  test('three black-hole RPs: ending other sessions and signing out answer at once; readiness and another customer\'s sign-in stay fast', async () => {
    const holes = [await blackHole(), await blackHole(), await blackHole()];
    const regs = [];
    for (const [i, h] of holes.entries()) regs.push(await register(server, { client_name: `Black hole ${i}`, backchannel_logout_uri: h.uri }));
    const user = await newUser(server);
    const other = await newUser(server);
    // Three sessions of one account, each with a code for every black-hole RP.
    const agents = [new Agent(server), new Agent(server), new Agent(server)];
    for (const a of agents) {
      await a.signIn(user.email, user.password);
      for (const reg of regs) await a.code(reg.client_id);
    }

    // Twice "end other sessions" (the second finds none left) and a sign-out.
    const end1 = await timed(() => agents[0].api('DELETE', '/api/v1/sessions'));
    assert.equal(end1.out.status, 200, JSON.stringify(end1.out.json));
    assert.equal(end1.out.json.ended, 2);
    const end2 = await timed(() => agents[0].api('DELETE', '/api/v1/sessions'));
    assert.equal(end2.out.status, 200);
    const signout = await timed(() => agents[0].api('POST', '/api/v1/signout', {}));
    assert.equal(signout.out.status, 200);
    // Before the queue each took 3 s per RP per session (18 s for the first).
    for (const t of [end1, end2, signout]) assert.ok(t.ms < 1500, `answered in ${Math.round(t.ms)} ms`);

    // Meanwhile the senders are stuck in the black holes: the server is not.
    const checks = [];
    for (let i = 0; i < 4; i++) {
      checks.push(await timed(async () => (await fetch(`${server.url}/healthz/ready`)).status));
      const a = new Agent(server);
      checks.push(await timed(async () => { await a.signIn(other.email, other.password); return 200; }));
      await sleep(300);
    }
    for (const c of checks) {
      assert.equal(c.out, 200);
      assert.ok(c.ms < 1500, `answered in ${Math.round(c.ms)} ms`);
    }
    // The queue did try every black hole, off the request path.
    assert.ok(await waitFor(() => holes.every((h) => h.connections() >= 1), 20_000),
      `connections: ${holes.map((h) => h.connections())}`);
    const timeouts = server.jsonLogs().filter((l) => l.msg === 'back-channel logout' && regs.some((r) => r.client_id === l.client_id));
    assert.ok(timeouts.some((l) => l.outcome === 'retry' && /timeout/.test(l.error)), JSON.stringify(timeouts[0]));
    for (const h of holes) h.close();
  });
});

describe('SSRF: the default policy (no GATEHOUSE_OUTBOUND_ALLOW)', () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  test('a loopback back-channel URI, registered or set by the client itself (RFC 7592 PUT), receives nothing; the refusal is logged', async () => {
    const spy = await listener();
    const uri = `http://127.0.0.1:${spy.port}/bcl`;
    const direct = await register(server, { client_name: 'Loopback RP', backchannel_logout_uri: uri });
    // A client registered harmlessly that points itself at loopback later.
    const sneaky = await register(server, { client_name: 'Sneaky RP', backchannel_logout_uri: 'https://rp.example/bcl' });
    const doc = await (await fetch(sneaky.registration_client_uri.replace(server.issuer, server.url), {
      headers: { authorization: `Bearer ${sneaky.registration_access_token}` },
    })).json();
    const put = await fetch(sneaky.registration_client_uri.replace(server.issuer, server.url), {
      method: 'PUT',
      headers: { authorization: `Bearer ${sneaky.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...doc, backchannel_logout_uri: `http://localhost:${spy.port}/bcl` }),
    });
    assert.equal(put.status, 200, await put.text());
    // And one aimed at the cloud metadata address.
    const metadata = await register(server, { client_name: 'Metadata RP', backchannel_logout_uri: 'https://169.254.169.254/latest/meta-data' });

    const user = await newUser(server);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    for (const c of [direct, sneaky, metadata]) await agent.code(c.client_id);
    assert.equal((await agent.api('POST', '/api/v1/signout', {})).status, 200);

    for (const c of [direct, sneaky, metadata]) {
      assert.ok(await waitFor(() => logoutLogs(server, c.client_id).length >= 1, 10_000), `no attempt for ${c.client_name}`);
      const [l] = logoutLogs(server, c.client_id);
      assert.equal(l.outcome, 'failed', JSON.stringify(l));
      assert.match(l.error, /refused_by_policy/);
    }
    assert.match(logoutLogs(server, metadata.client_id)[0].error, /169\.254\.169\.254/);
    await sleep(1500); // no retry either
    assert.equal(spy.connections(), 0, 'nothing connected to the loopback listener');
    for (const c of [direct, sneaky, metadata]) assert.equal(logoutLogs(server, c.client_id).length, 1);
    spy.close();
  });
});

describe('sessions per account are capped (GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT=3)', () => {
  test('a 4th sign-in ends the oldest session (its old cookie gets 401) and queues its back-channel logout; the newer ones live', async () => {
    const server = await startServer({ env: { GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT: '3', GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32' } });
    const rp = await relyingParty();
    const reg = await register(server, { client_name: 'Cap RP', backchannel_logout_uri: rp.uri });
    const user = await newUser(server);
    const agents = [];
    for (let i = 0; i < 3; i++) {
      const a = new Agent(server);
      await a.signIn(user.email, user.password);
      agents.push(a);
      await sleep(5); // distinct creation times
    }
    const oldest = (await agents[0].api('GET', '/api/v1/sessions')).json.sessions.find((s) => s.current).id;
    await agents[0].code(reg.client_id);
    const oldCookie = new Map(agents[0].jar);

    const fourth = new Agent(server);
    await fourth.signIn(user.email, user.password);
    const copy = new Agent(server);
    copy.jar = oldCookie;
    assert.equal((await copy.api('GET', '/api/v1/sessions')).status, 401, 'the oldest session ended');
    for (const a of [agents[1], agents[2], fourth]) assert.equal((await a.api('GET', '/api/v1/sessions')).status, 200);
    const list = (await fourth.api('GET', '/api/v1/sessions')).json.sessions;
    assert.equal(list.length, 3);
    assert.ok(!list.some((s) => s.id === oldest));

    assert.ok(await waitFor(() => rp.hits.length >= 1, 10_000), 'back-channel logout for the ended session');
    const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jose.jwtVerify(rp.hits[0].token, jwks, { issuer: server.issuer, audience: reg.client_id });
    assert.equal(payload.sid, oldest);
    const audit = sql(server, "SELECT reason FROM audit_events WHERE type = 'session.ended'");
    assert.equal(audit.length, 1);
    assert.match(audit[0].reason, /MAX_SESSIONS_PER_ACCOUNT/);
    rp.srv.close();
  });
});
