// The accounts JSON API (docs/accounts-api.md) driven like a browser would:
// a cookie jar, the CSRF token, codes read from a real SMTP sink.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { startServer, stopAll, scim, sql, databaseContains, userBody, randomHex, sleep } from './lib/server.mjs';
import { startMailSink, codeFrom, linkFrom, sentTo as to } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';

after(stopAll);

const strong = () => `Glacier-${randomHex(6)}-Orchard`;

function userRow(server, email) {
  return sql(server, `SELECT id, email_verified, version FROM users WHERE email = '${email}'`)[0];
}

function passwordHash(server, userId) {
  return sql(server, `SELECT data FROM credentials WHERE user_id = '${userId}' AND type = 'password'`)[0]?.data;
}

describe('accounts API: sign-up, verification, sign-in', () => {
  let server;
  let mail;

  before(async () => {
    mail = await startMailSink();
    server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
  });
  after(async () => { await server?.stop(); await mail?.stop(); });

  test('sign-up → code by mail → verified and signed in; session shows the user (SECURITY.md #25, #16)', async () => {
    const b = new Browser(server);
    const email = `new-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: strong(), given_name: 'Nia' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'verification_required');
    assert.equal(r.json.email, email);
    assert.equal(userRow(server, email).email_verified, 0);

    const msg = await mail.waitFor(to(email), 10_000);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'signed_in');
    assert.equal(v.json.return_to, '/account');
    const s = await b.session();
    assert.equal(s.authenticated, true);
    assert.equal(s.user.email, email);
    assert.equal(s.user.email_verified, true);
    assert.equal(s.user.given_name, 'Nia');
    assert.equal(userRow(server, email).email_verified, 1);

    // Stored as hashes only: neither the cookie nor the code is in the database.
    const cookie = [...b.jar].find(([k]) => k.endsWith('gh_session'))[1];
    assert.equal(cookie.length, 43, '256-bit session token');
    assert.equal(databaseContains(server, cookie), false, 'session token stored in plaintext');
    assert.equal(databaseContains(server, codeFrom(msg)), false, 'code stored in plaintext');
  });

  test('a reused code is refused, and five wrong codes end the flow (SECURITY.md #13)', async () => {
    const b = new Browser(server);
    const email = `reuse-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: strong() });
    const code = codeFrom(await mail.waitFor(to(email), 10_000));
    assert.equal((await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code })).status, 200);
    const again = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'code_used');

    const b2 = new Browser(server);
    const email2 = `guess-${randomHex(4)}@example.com`;
    const r2 = await b2.post('/api/v1/signup', { email: email2, password: strong() });
    const good = codeFrom(await mail.waitFor(to(email2), 10_000));
    const wrong = good === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const w = await b2.post('/api/v1/verify', { flow_id: r2.json.flow_id, code: wrong });
      assert.equal(w.status, 400);
    }
    const late = await b2.post('/api/v1/verify', { flow_id: r2.json.flow_id, code: good });
    assert.equal(late.status, 400);
    assert.equal(late.json.error, 'flow_expired');
    assert.equal(userRow(server, email2).email_verified, 0);
  });

  test('a code from one flow does not work in another (SECURITY.md #20 / ASVS 6.6.2)', async () => {
    const b = new Browser(server);
    const e1 = `flowa-${randomHex(4)}@example.com`;
    const e2 = `flowb-${randomHex(4)}@example.com`;
    const r1 = await b.post('/api/v1/signup', { email: e1, password: strong() });
    const r2 = await b.post('/api/v1/signup', { email: e2, password: strong() });
    const code1 = codeFrom(await mail.waitFor(to(e1), 10_000));
    await mail.waitFor(to(e2), 10_000);
    const x = await b.post('/api/v1/verify', { flow_id: r2.json.flow_id, code: code1 });
    assert.equal(x.status, 400);
    assert.equal(userRow(server, e2).email_verified, 0);
    assert.equal(r1.json.flow_id === r2.json.flow_id, false);
  });

  test('the link verifies in another browser without signing it in', async () => {
    const b = new Browser(server);
    const email = `link-${randomHex(4)}@example.com`;
    await b.post('/api/v1/signup', { email, password: strong() });
    const link = linkFrom(await mail.waitFor(to(email), 10_000));
    const other = new Browser(server);
    const v = await other.post('/api/v1/verify', {
      flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token'),
    });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'verified');
    assert.equal((await other.session()).authenticated, false);
    assert.equal(userRow(server, email).email_verified, 1);
  });

  test('sign-up with a taken email answers the same, changes nothing, and mails the owner a notice (SECURITY.md #14)', async () => {
    const email = `taken-${randomHex(4)}@example.com`;
    const created = await scim(server, 'POST', '/Users', userBody(email, { password: strong() }));
    assert.equal(created.status, 201, created.text);
    const before = userRow(server, email);
    const hashBefore = passwordHash(server, before.id);

    const b = new Browser(server);
    const fresh = `fresh-${randomHex(4)}@example.com`;
    const rNew = await b.post('/api/v1/signup', { email: fresh, password: strong() });
    const rTaken = await b.post('/api/v1/signup', { email, password: strong() });
    assert.equal(rTaken.status, rNew.status);
    assert.deepEqual(Object.keys(rTaken.json).sort(), Object.keys(rNew.json).sort());
    assert.equal(rTaken.json.status, 'verification_required');
    assert.equal(rTaken.json.flow_id.length, rNew.json.flow_id.length);

    const notice = await mail.waitFor(to(email), 10_000);
    assert.doesNotMatch(notice.text, /\b\d{6}\b/, 'the owner gets a notice, not a code');
    const after = userRow(server, email);
    assert.equal(after.version, before.version);
    assert.equal(passwordHash(server, before.id), hashBefore);
  });

  test('weak passwords are refused with a reason (SECURITY.md #1, #4, #5)', async () => {
    const b = new Browser(server);
    const email = `weak-${randomHex(4)}@example.com`;
    for (const [pw, pattern] of [
      ['short7!', /15 characters/i],
      ['1234567890qwerty', /common|breach/i],
      [`${email.split('@')[0]}-and-more`, /email/i],
    ]) {
      const r = await b.post('/api/v1/signup', { email, password: pw });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'weak_password');
      assert.match(r.json.error_description, pattern);
    }
    assert.equal(userRow(server, email), undefined);
  });

  test('a SCIM-created user signs in at once; unknown email and wrong password look identical (SECURITY.md #14)', async () => {
    const email = `scim-${randomHex(4)}@example.com`;
    const password = strong();
    assert.equal((await scim(server, 'POST', '/Users', userBody(email, { password }))).status, 201);

    const b = new Browser(server);
    const ok = await b.post('/api/v1/signin', { email, password });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'signed_in');
    assert.equal((await b.session()).user.email, email);

    const wrong = await new Browser(server).post('/api/v1/signin', { email, password: 'nope-nope-nope' });
    const unknown = await new Browser(server).post('/api/v1/signin', { email: `ghost-${randomHex(4)}@example.com`, password: 'nope-nope-nope' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.text, unknown.text);
  });

  test('unknown email and wrong password take similar time (SECURITY.md #14)', async () => {
    const email = `timing-${randomHex(4)}@example.com`;
    await scim(server, 'POST', '/Users', userBody(email, { password: strong() }));
    const time = async (em) => {
      const b = new Browser(server);
      await b.session();
      const t0 = process.hrtime.bigint();
      await b.post('/api/v1/signin', { email: em, password: `wrong-${randomHex(4)}-pass` });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const known = [];
    const unknown = [];
    for (let i = 0; i < 4; i++) { // interleaved, so load on the machine hits both alike
      known.push(await time(email));
      unknown.push(await time(`nobody-${randomHex(4)}@example.com`));
    }
    // The fastest run of each is the least disturbed by other work on the machine.
    const best = (a) => Math.min(...a);
    const ratio = best(known) / best(unknown);
    assert.ok(ratio > 0.5 && ratio < 2, `known ${known.join(', ')} ms vs unknown ${unknown.join(', ')} ms`);
  });

  test('an unverified account is sent to verification at sign-in', async () => {
    const b = new Browser(server);
    const email = `unverified-${randomHex(4)}@example.com`;
    const password = strong();
    await b.post('/api/v1/signup', { email, password });
    await mail.waitFor(to(email), 10_000);
    const s = await new Browser(server).post('/api/v1/signin', { email, password });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.status, 'verification_required');
  });

  test('sign-in rotates the session id; sign-out ends the session server-side (SECURITY.md #27, #29)', async () => {
    const email = `rotate-${randomHex(4)}@example.com`;
    const password = strong();
    await scim(server, 'POST', '/Users', userBody(email, { password }));
    const b = new Browser(server);
    await b.post('/api/v1/signin', { email, password });
    const first = b.jar.get('gh_session');
    await b.post('/api/v1/signin', { email, password });
    const second = b.jar.get('gh_session');
    assert.notEqual(first, second);
    const stale = new Browser(server);
    stale.jar.set('gh_session', first);
    assert.equal((await stale.session()).authenticated, false, 'the old session id must be dead');

    const out = await b.post('/api/v1/signout', {});
    assert.equal(out.status, 200, out.text);
    const replay = new Browser(server);
    replay.jar.set('gh_session', second);
    assert.equal((await replay.session()).authenticated, false);
    assert.equal((await replay.raw('GET', '/api/v1/sessions')).status, 401);
  });

  test('session cookie attributes: HttpOnly, SameSite=Lax, Path=/, no Secure over http (SECURITY.md #26)', async () => {
    const email = `cookie-${randomHex(4)}@example.com`;
    const password = strong();
    await scim(server, 'POST', '/Users', userBody(email, { password }));
    const b = new Browser(server);
    const r = await b.post('/api/v1/signin', { email, password });
    const line = r.setCookies.find((c) => c.startsWith('gh_session='));
    assert.ok(line, r.setCookies.join(' | '));
    assert.match(line, /; HttpOnly/);
    assert.match(line, /; SameSite=Lax/);
    assert.match(line, /; Path=\//);
    assert.doesNotMatch(line, /; Secure/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  test('CSRF: no token, a wrong token, a foreign Origin or a cross-site fetch → 403 and no session', async () => {
    const email = `csrf-${randomHex(4)}@example.com`;
    const password = strong();
    await scim(server, 'POST', '/Users', userBody(email, { password }));
    const cases = [
      { csrf: false },
      { headers: { 'x-csrf-token': 'forged' } },
      { headers: { origin: 'https://evil.example' } },
      { headers: { origin: '', 'sec-fetch-site': 'cross-site' } },
    ];
    for (const opts of cases) {
      const b = new Browser(server);
      await b.session();
      const headers = { ...(opts.headers ?? {}) };
      if (headers.origin === '') delete headers.origin;
      const r = opts.headers?.origin === ''
        ? await b.raw('POST', '/api/v1/signin', { body: JSON.stringify({ email, password }), headers: { 'content-type': 'application/json', 'x-csrf-token': b.csrf, 'sec-fetch-site': 'cross-site' } })
        : await b.post('/api/v1/signin', { email, password }, { csrf: opts.csrf ?? true, headers });
      assert.equal(r.status, 403, `${JSON.stringify(opts)}: ${r.text}`);
      assert.equal(r.json.error, 'csrf');
      assert.equal(b.jar.has('gh_session'), false);
    }
  });

  test('return_to: foreign targets become /account; same-origin ones are kept (open redirect, ASVS 3.7.2)', async () => {
    const email = `ret-${randomHex(4)}@example.com`;
    const password = strong();
    await scim(server, 'POST', '/Users', userBody(email, { password }));
    for (const [asked, expected] of [
      ['https://evil.example/', '/account'],
      ['//evil.example/x', '/account'],
      ['/account?x=1', '/account?x=1'],
      [`http://localhost:${server.port}/account`, `http://localhost:${server.port}/account`],
    ]) {
      const r = await new Browser(server).post('/api/v1/signin', { email, password, return_to: asked });
      assert.equal(r.json.return_to, expected, asked);
    }
  });

  test('resend has a cool-down with Retry-After (SECURITY.md #12)', async () => {
    const b = new Browser(server);
    const email = `resend-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: strong() });
    const again = await b.post('/api/v1/verify/resend', { flow_id: r.json.flow_id });
    assert.equal(again.status, 429);
    assert.ok(Number(again.headers.get('retry-after')) > 0);
  });

  test('bad input gets a clear 4xx and changes nothing', async () => {
    const b = new Browser(server);
    await b.session();
    const count = () => sql(server, 'SELECT count(*) AS n FROM users')[0].n;
    const before = count();
    const send = (body, type = 'application/json') => b.raw('POST', '/api/v1/signup', {
      body, headers: { 'content-type': type, 'x-csrf-token': b.csrf },
    });
    // A 1 MB body: sent with Expect: 100-continue, as a careful client would,
    // so the 413 arrives before the body is written.
    const huge = await new Promise((resolve, reject) => {
      const body = JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(1 << 20) });
      const req = http.request(`${server.url}/api/v1/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue', cookie: b.cookieHeader(), 'x-csrf-token': b.csrf },
      }, (res) => { res.resume(); resolve({ status: res.statusCode }); });
      req.on('continue', () => req.end(body));
      req.on('error', reject);
    });
    assert.equal(huge.status, 413);
    const longEmail = await send(JSON.stringify({ email: `${'a'.repeat(10_000)}@example.com`, password: strong() }));
    assert.equal(longEmail.status, 400);
    const brokenUtf8 = await send(Buffer.concat([Buffer.from('{"email":"x@example.com","password":"ab'), Buffer.from([0xc3, 0x28]), Buffer.from('cdefghijk"}')]));
    assert.equal(brokenUtf8.status, 400);
    const malformed = await send('{"email": ');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error, 'invalid_request');
    const form = await send('email=a%40b.c&password=x', 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415);
    const notObject = await send('["x"]');
    assert.equal(notObject.status, 400);
    const wrongType = await send(JSON.stringify({ email: 42, password: strong() }));
    assert.equal(wrongType.status, 400);
    assert.equal(count(), before);
  });
});

describe('accounts API: throttling, expiry', () => {
  let mail;
  after(async () => { await mail?.stop(); });

  test('failed sign-ins slow down per account and address with 429 + Retry-After; another account is unaffected; every attempt is audited with its reason (SECURITY.md #11, #12)', async () => {
    const server = await startServer();
    const victim = `victim-${randomHex(4)}@example.com`;
    const other = `other-${randomHex(4)}@example.com`;
    const password = strong();
    const victimId = (await scim(server, 'POST', '/Users', userBody(victim, { password }))).body.id;
    const otherId = (await scim(server, 'POST', '/Users', userBody(other, { password }))).body.id;
    const b = new Browser(server);
    for (let i = 0; i < 5; i++) {
      const r = await b.post('/api/v1/signin', { email: victim, password: 'wrong-password-here' });
      assert.equal(r.status, 401, `attempt ${i + 1}: ${r.text}`);
    }
    const blocked = await b.post('/api/v1/signin', { email: victim, password });
    assert.equal(blocked.status, 429, blocked.text);
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    const fine = await b.post('/api/v1/signin', { email: other, password });
    assert.equal(fine.status, 200, 'another account from the same address still signs in');
    await sleep(1100 * Number(blocked.headers.get('retry-after')));
    const later = await b.post('/api/v1/signin', { email: victim, password });
    assert.equal(later.status, 200, 'the owner gets in once the delay passed');
    const unknown = await b.post('/api/v1/signin', { email: `nobody-${randomHex(4)}@example.com`, password });
    assert.equal(unknown.status, 401, unknown.text);
    // Every failure and success is an audit event with its reason, the
    // throttled refusal included (it never checked the password).
    const audit = sql(server, 'SELECT type, subject, reason FROM audit_events ' +
      "WHERE type IN ('signin.failed', 'signin.succeeded') ORDER BY seq");
    const seen = audit.map((a) => `${a.type} ${a.subject ?? '-'} ${a.reason ?? '-'}`);
    assert.deepEqual(seen, [
      ...Array(5).fill(`signin.failed ${victimId} wrong password`),
      `signin.failed ${victimId} throttled`,
      `signin.succeeded ${otherId} -`,
      `signin.succeeded ${victimId} -`,
      'signin.failed - unknown account',
    ]);
    await server.stop();
  });

  test('a hash made with older argon2id parameters (memory, passes, lanes) is re-hashed at the next successful sign-in (SECURITY.md #10)', async () => {
    const first = await startServer({ env: { GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_ITERATIONS: '1' } });
    const email = `rehash-${randomHex(4)}@example.com`;
    const password = strong();
    const created = await scim(first, 'POST', '/Users', userBody(email, { password }));
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    const old = passwordHash(first, id);
    assert.match(old, /^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
    await first.stop('SIGTERM', { keepData: true });

    const second = await startServer({ dir: first.dir, port: first.port, token: first.token, masterKey: first.masterKey });
    const r = await new Browser(second).post('/api/v1/signin', { email, password });
    assert.equal(r.status, 200, r.text);
    const fresh = passwordHash(second, id);
    assert.match(fresh, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const again = await new Browser(second).post('/api/v1/signin', { email, password });
    assert.equal(again.status, 200, 'the new hash verifies the same password');
    await second.stop('SIGTERM', { keepData: true });

    // GATEHOUSE_ARGON2_PARALLELISM: the lanes are a parameter like the others.
    const third = await startServer({
      dir: first.dir, port: first.port, token: first.token, masterKey: first.masterKey,
      env: { GATEHOUSE_ARGON2_PARALLELISM: '2' },
    });
    const wrong = await new Browser(third).post('/api/v1/signin', { email, password: `${password}x` });
    assert.equal(wrong.status, 401, 'a wrong password re-hashes nothing');
    assert.equal(passwordHash(third, id), fresh);
    assert.equal((await new Browser(third).post('/api/v1/signin', { email, password })).status, 200);
    const lanes2 = passwordHash(third, id);
    assert.match(lanes2, /^\$argon2id\$v=19\$m=19456,t=2,p=2\$/);
    assert.equal((await new Browser(third).post('/api/v1/signin', { email, password })).status, 200);
    assert.equal(passwordHash(third, id), lanes2, 'a hash with the current parameters is kept');
    await third.stop();
  });

  test('concurrent sign-ins that re-hash the password leave exactly one password row, which verifies (issue 15 item 11; SECURITY.md #10)', async () => {
    const first = await startServer({ env: { GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_ITERATIONS: '1' } });
    const email = `rehash-race-${randomHex(4)}@example.com`;
    const password = strong();
    const id = (await scim(first, 'POST', '/Users', userBody(email, { password }))).body.id;
    await first.stop('SIGTERM', { keepData: true });
    const second = await startServer({ dir: first.dir, port: first.port, token: first.token, masterKey: first.masterKey });
    const results = await Promise.all(Array.from({ length: 6 }, () =>
      new Browser(second).post('/api/v1/signin', { email, password })));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const rows = sql(second, `SELECT data FROM credentials WHERE user_id = '${id}' AND type = 'password'`);
    assert.equal(rows.length, 1, 'one password row');
    assert.match(rows[0].data, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal((await new Browser(second).post('/api/v1/signin', { email, password })).status, 200);
    await second.stop();
  });

  test('with GATEHOUSE_REQUIRE_VERIFIED_EMAIL=off an unverified account signs in; its sessions are listed with IP and user agent (ASVS 7.5.2)', async () => {
    mail ??= await startMailSink();
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_REQUIRE_VERIFIED_EMAIL: 'off' } });
    const email = `lenient-${randomHex(4)}@example.com`;
    const password = strong();
    const b = new Browser(server);
    await b.post('/api/v1/signup', { email, password });
    const r = await b.post('/api/v1/signin', { email, password }, { headers: { 'user-agent': 'TestAgent/1.0' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'signed_in');
    const other = new Browser(server);
    await other.post('/api/v1/signin', { email, password });
    const list = await b.raw('GET', '/api/v1/sessions');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.sessions.length, 2);
    const mine = list.json.sessions.find((x) => x.current);
    assert.ok(mine, 'the current session is marked');
    assert.equal(mine.user_agent, 'TestAgent/1.0');
    assert.equal(mine.ip, '127.0.0.1');
    assert.equal(list.json.sessions.filter((x) => x.current).length, 1);
    await server.stop();
  });

  test('expired codes are refused (GATEHOUSE_CODE_TTL=1) (SECURITY.md #16)', async () => {
    mail ??= await startMailSink();
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_CODE_TTL: '1' } });
    const b = new Browser(server);
    const email = `expire-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: strong() });
    const code = codeFrom(await mail.waitFor(to(email), 10_000));
    await sleep(1500);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(v.status, 400);
    assert.equal(userRow(server, email).email_verified, 0);
    await server.stop();
  });

  test('sessions end after the idle timeout and after the absolute lifetime (SECURITY.md #28)', async () => {
    const server = await startServer({ env: { GATEHOUSE_SESSION_IDLE: '2', GATEHOUSE_SESSION_ABSOLUTE: '4' } });
    const email = `expiry-${randomHex(4)}@example.com`;
    const password = strong();
    await scim(server, 'POST', '/Users', userBody(email, { password }));

    const idle = new Browser(server);
    await idle.post('/api/v1/signin', { email, password });
    assert.equal((await idle.session()).authenticated, true);
    await sleep(2300);
    assert.equal((await idle.session()).authenticated, false, 'idle timeout');

    const busy = new Browser(server);
    await busy.post('/api/v1/signin', { email, password });
    for (let i = 0; i < 4; i++) { // used every 0.8 s: the idle window keeps moving
      await sleep(800);
      assert.equal((await busy.session()).authenticated, true, `still active at ${(i + 1) * 0.8} s`);
    }
    await sleep(1200);
    assert.equal((await busy.session()).authenticated, false, 'absolute lifetime');
    await server.stop();
  });
});
