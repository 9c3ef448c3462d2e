// Integrity under failure (issue 15): a change and its audit event land
// together or not at all; an exhausted connection pool answers 503 and the
// server stays up.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';

import { startServer, stopAll, scim, sql, sqliteText, userBody, randomHex, sleep, BACKEND } from './lib/server.mjs';
import { startMailSink } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';

after(stopAll);

const strong = () => `Glacier-${randomHex(6)}-Orchard`;

// A trigger in the server's database makes every INSERT into audit_events
// fail, as a full disk or a damaged audit table would. SQLite only: the
// unit test in tests/unit/store/test_store.c does the same on PostgreSQL.
const REFUSE = "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END;";
const ALLOW = 'DROP TRIGGER refuse_audit;';

describe('audit events fail with their change (issue 15 item 12; SECURITY.md #47, ASVS 16.3)', { skip: BACKEND !== 'sqlite' }, () => {
  let server;
  let mail;

  before(async () => {
    mail = await startMailSink();
    server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
  });
  after(async () => { await server?.stop(); await mail?.stop(); });

  test('an event that cannot be written fails the sign-up and the SCIM create, and leaves nothing behind', async () => {
    const email = `audit-${randomHex(4)}@example.com`;
    const userName = `scim-${randomHex(4)}@example.com`;
    const events = () => sql(server, 'SELECT COUNT(*) AS n FROM audit_events')[0].n;
    const before = events();
    sqliteText(server.dbPath, REFUSE);
    try {
      const b = new Browser(server);
      const r = await b.post('/api/v1/signup', { email, password: strong() });
      assert.equal(r.status, 500, r.text);
      assert.equal(sql(server, `SELECT id FROM users WHERE email = '${email}'`).length, 0, 'the user landed without its event');
      assert.equal(sql(server, `SELECT id FROM email_flows WHERE email = '${email}'`).length, 0);
      assert.equal(sql(server, 'SELECT COUNT(*) AS n FROM mail_outbox')[0].n, 0, 'a mail was queued for a sign-up that failed');

      const s = await scim(server, 'POST', '/scim/v2/Users', userBody(userName, { password: strong() }));
      assert.equal(s.status, 500, s.text);
      assert.equal(sql(server, `SELECT id FROM users WHERE username = '${userName}'`).length, 0);

      // A refused attempt changes only counters; its event is still needed,
      // so the attempt answers an error rather than pass unrecorded.
      const f = await b.post('/api/v1/signin', { email: 'nobody@example.com', password: strong() });
      assert.equal(f.status, 500, f.text);
    } finally {
      sqliteText(server.dbPath, ALLOW);
    }
    assert.equal(events(), before);

    // With the audit log writable again, the same requests succeed with their events.
    const r = await new Browser(server).post('/api/v1/signup', { email, password: strong() });
    assert.equal(r.status, 200, r.text);
    const u = sql(server, `SELECT id FROM users WHERE email = '${email}'`);
    assert.equal(u.length, 1);
    // (with the sign-up's risk.decided, docs/risk.md "Journeys")
    assert.ok(sql(server, `SELECT type FROM audit_events WHERE subject = '${u[0].id}'`).some((e) => e.type === 'signup.created'));
    const s = await scim(server, 'POST', '/scim/v2/Users', userBody(userName, { password: strong() }));
    assert.equal(s.status, 201, s.text);
    assert.equal(sql(server, `SELECT type FROM audit_events WHERE subject = '${s.body.id}'`)[0]?.type, 'scim.user.created');
  });
});

// ------------------------------------------------------------ pool exhaustion

/** One request on a connection of its own (agent: false): a keep-alive
 * socket could belong to a server thread that is waiting for the pool. */
function hit(server, method, urlPath, { headers = {}, body, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.request(`${server.url}${urlPath}`, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A sqlite3 process holding the write lock of db until release(). */
async function holdWriteLock(db) {
  const p = spawn('sqlite3', ['-cmd', '.timeout 5000', db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  p.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n");
  const until = Date.now() + 10_000;
  while (!out.includes('locked')) {
    if (Date.now() > until || p.exitCode !== null) { p.kill('SIGKILL'); throw new Error('sqlite3 did not take the lock'); }
    await sleep(20);
  }
  return {
    async release() {
      if (p.exitCode !== null) return;
      const gone = new Promise((resolve) => p.once('exit', resolve));
      p.stdin.end('ROLLBACK;\n.quit\n');
      const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

// Issue 15 item 9: with GATEHOUSE_DB_POOL=1, a request that waits on the
// database's write lock holds the only connection. Every route that then
// needs one waits for it up to 5 s and answers 503 with Retry-After; the
// process never dereferences a missing connection, stays live, and serves
// normally once the lock is gone.
describe('an exhausted connection pool answers 503 and the server stays up (issue 15 item 9)', { skip: BACKEND !== 'sqlite' }, () => {
  let server;

  before(async () => {
    // Enough HTTP threads that the waiting requests wait side by side and
    // one is left for the health check.
    server = await startServer({ env: { GATEHOUSE_DB_POOL: '1', GATEHOUSE_THREADS: '24', GATEHOUSE_WORKERS: '2' } });
  });
  after(async () => { await server?.stop(); });

  test('API, OpenID Connect, SCIM and account JSON routes answer 503 + Retry-After; live stays 200; all works after', async () => {
    // A user with a session, an OAuth client and an access token, made
    // while the database is free.
    const email = `pool-${randomHex(4)}@example.com`;
    const password = strong();
    assert.equal((await scim(server, 'POST', '/scim/v2/Users', userBody(email, { password }))).status, 201);
    const b = new Browser(server);
    const s = await b.post('/api/v1/signin', { email, password });
    assert.equal(s.status, 200, s.text);
    // the scope belongs to a registered API (issue 16: unknown scopes are refused)
    const api = await fetch(`${server.url}/admin/v1/resources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: 'https://reports.example.com', name: 'Reports', scopes: { 'reports.read': 'Read your reports' } }),
    });
    assert.equal(api.status, 201, await api.text());
    const reg = await fetch(`${server.url}/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Pool', grant_types: ['client_credentials'], scope: 'reports.read', gatehouse_first_party: true }),
    });
    const client = await reg.json();
    assert.equal(reg.status, 201, JSON.stringify(client));
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
    const tokenForm = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
    const tok = await hit(server, 'POST', '/token', { headers: tokenForm, body: 'grant_type=client_credentials&scope=reports.read' });
    assert.equal(tok.status, 200, tok.text);
    const accessToken = JSON.parse(tok.text).access_token;
    const cookie = b.cookieHeader();
    const json = { cookie, origin: b.origin, 'content-type': 'application/json', 'x-csrf-token': b.csrf };
    const admin = { authorization: `Bearer ${server.token}` };
    const authorize = `/authorize?client_id=${encodeURIComponent(client.client_id)}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://rp.example/cb')}`;
    const routes = [
      ['GET', '/api/v1/session', { headers: { cookie } }],
      ['GET', '/api/v1/sessions', { headers: { cookie } }],
      ['GET', '/api/v1/mfa', { headers: { cookie } }],
      ['GET', '/api/v1/consents', { headers: { cookie } }],
      ['GET', `/api/v1/consent?client_id=${encodeURIComponent(client.client_id)}&scope=openid`, { headers: { cookie } }],
      ['POST', '/api/v1/signout', { headers: json, body: '{}' }],
      ['DELETE', '/api/v1/sessions', { headers: json }],
      ['POST', '/api/v1/consent', { headers: json, body: JSON.stringify({ client_id: client.client_id, scope: 'openid', decision: 'allow' }) }],
      ['DELETE', `/api/v1/consents/${encodeURIComponent(client.client_id)}`, { headers: json }],
      ['POST', '/api/v1/signup', { headers: json, body: JSON.stringify({ email: `x-${randomHex(4)}@example.com`, password: strong() }) }],
      ['GET', authorize, { headers: { cookie } }],
      ['POST', '/token', { headers: tokenForm, body: 'grant_type=client_credentials&scope=reports.read' }],
      ['GET', '/userinfo', { headers: { authorization: `Bearer ${accessToken}` } }],
      ['POST', '/introspect', { headers: tokenForm, body: `token=${accessToken}` }],
      ['POST', '/revoke', { headers: tokenForm, body: `token=${accessToken}` }],
      // a registration's scope check reads the resources: busy is 503, never "unknown scope"
      ['POST', '/register', { headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Busy', grant_types: ['client_credentials'], scope: 'reports.read' }) }],
      ['GET', '/scim/v2/Users', { headers: admin }],
      ['GET', `/register/${encodeURIComponent(client.client_id)}`, { headers: { authorization: `Bearer ${client.registration_access_token}` } }],
    ];
    await sleep(1100); // past the client cache's second, so /token needs the database too

    const lock = await holdWriteLock(server.dbPath);
    let holder;
    let answers;
    let live;
    try {
      // The holder: a failed sign-in takes the connection at once, then
      // waits up to 5 s for the write lock at each of its writes.
      const hb = new Browser(server);
      await hb.session();
      holder = hit(server, 'POST', '/api/v1/signin', {
        headers: { cookie: hb.cookieHeader(), origin: hb.origin, 'content-type': 'application/json', 'x-csrf-token': hb.csrf },
        body: JSON.stringify({ email: `nobody-${randomHex(4)}@example.com`, password: strong() }),
        timeoutMs: 40_000,
      });
      await sleep(500);
      // One request every 250 ms: a server thread that waits for the pool
      // serves none of its other connections meanwhile, so each request
      // should reach a thread that is not waiting yet.
      const pending = [];
      for (const [m, p, o] of routes) {
        pending.push(hit(server, m, p, o).then((r) => ({ route: `${m} ${p.split('?')[0]}`, ...r })));
        await sleep(250);
      }
      live = await hit(server, 'GET', '/healthz/live', { timeoutMs: 3000 });
      answers = await Promise.all(pending);
    } finally {
      await lock.release();
    }
    assert.equal(live.status, 200, 'liveness answers while the pool is exhausted');
    assert.ok(live.ms < 2000, `liveness took ${live.ms} ms`);
    for (const a of answers) {
      assert.equal(a.status, 503, `${a.route}: ${a.status} ${a.text}`);
      assert.equal(a.headers['retry-after'], '1', `${a.route}: Retry-After`);
    }
    assert.ok([401, 503].includes((await holder).status), 'the holder ends once the lock is gone');
    assert.equal(server.proc.exitCode, null, 'the server is still running');
    assert.ok(server.jsonLogs().some((l) => l.msg === 'database pool exhausted'));

    // Everything works again.
    assert.equal((await hit(server, 'GET', '/healthz/ready')).status, 200);
    assert.equal((await hit(server, 'GET', '/scim/v2/Users', { headers: admin })).status, 200);
    assert.equal((await hit(server, 'GET', '/api/v1/sessions', { headers: { cookie } })).status, 200);
    assert.equal((await hit(server, 'GET', '/userinfo', { headers: { authorization: `Bearer ${accessToken}` } })).status, 401, 'a client token has no user');
    assert.equal((await hit(server, 'POST', '/token', { headers: tokenForm, body: 'grant_type=client_credentials&scope=reports.read' })).status, 200);
  });
});

// ------------------------------------------------------- unknown kid flood

const b64u = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A JWT with a kid this server never made (and a signature of noise). */
function madeUpToken() {
  const header = b64u({ alg: 'ES256', typ: 'at+jwt', kid: `x-${randomHex(16)}` });
  const payload = b64u({ sub: 'nobody', iss: 'http://localhost', exp: Math.floor(Date.now() / 1000) + 600, jti: randomHex(8) });
  return `${header}.${payload}.${randomBytes(64).toString('base64url')}`;
}

// Issue 15 item 10: every unknown kid could make the server re-read its
// keys, and the HTTP threads queued behind that. Now a flood re-reads at
// most once a second and no request waits for it.
describe('tokens with made-up kids (issue 15 item 10)', () => {
  let server;

  // a low limit, so the flood surely meets the rate limits too (issue 22
  // item 5): readiness must stay out of them
  before(async () => { server = await startServer({ env: { GATEHOUSE_RATE_LIMIT_OTHER: '200' } }); });
  after(async () => { await server?.stop(); });

  test('a flood to /userinfo is refused (401, then 429 from the rate limit), re-reads the keys at most once a second and does not slow readiness, which is never rate-limited', async () => {
    const FLOOD_MS = 3000;
    const started = Date.now();
    let sent = 0;
    const statuses = new Map();
    const worker = async () => {
      while (Date.now() - started < FLOOD_MS) {
        const r = await hit(server, 'GET', '/userinfo', { headers: { authorization: `Bearer ${madeUpToken()}` }, timeoutMs: 10_000 });
        sent++;
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    const ready = [];
    const probe = async () => {
      while (Date.now() - started < FLOOD_MS) {
        const r = await hit(server, 'GET', '/healthz/ready', { timeoutMs: 10_000 });
        ready.push(r.ms);
        assert.equal(r.status, 200);
        await sleep(100);
      }
    };
    await Promise.all([probe(), ...Array.from({ length: 16 }, worker)]);
    const secs = (Date.now() - started) / 1000;
    assert.deepEqual([...statuses.keys()].sort(), [401, 429], `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok(sent >= 50, `only ${sent} requests sent`);
    const rereads = server.jsonLogs().filter((l) => l.msg === 'signing keys re-read').length;
    assert.ok(rereads >= 1, 'an unknown kid re-reads the keys');
    assert.ok(rereads <= Math.ceil(secs) + 1, `${rereads} re-reads in ${secs} s for ${sent} tokens`);
    const worst = Math.max(...ready);
    assert.ok(worst < 1000, `readiness took ${worst} ms during the flood`);
  });
});
