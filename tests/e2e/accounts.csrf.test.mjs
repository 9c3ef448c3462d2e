// Cookie attributes under an https issuer, and CSRF on every state-changing
// accounts endpoint besides sign-in (docs/accounts-api.md, "Conventions").
// accounts.api.test.mjs covers sign-in's CSRF and the http cookie attributes.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, scim, sql, userBody, randomHex, freePort, sleep } from './lib/server.mjs';
import { startMailSink, codeFrom, sentTo as to } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';

after(stopAll);

const strong = () => `Glacier-${randomHex(6)}-Orchard`;

/** Set-Cookie line → {name, value, attrs: Map(lowercased name → value)}. */
function parseSetCookie(line) {
  const [pair, ...rest] = line.split(';').map((s) => s.trim());
  const i = pair.indexOf('=');
  const attrs = new Map(rest.map((a) => {
    const j = a.indexOf('=');
    return j < 0 ? [a.toLowerCase(), true] : [a.slice(0, j).toLowerCase(), a.slice(j + 1)];
  }));
  return { name: pair.slice(0, i), value: pair.slice(i + 1), attrs };
}

function cookieNamed(setCookies, name) {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  assert.ok(line, `no ${name} cookie in: ${setCookies.join(' | ') || '(none)'}`);
  return parseSetCookie(line);
}

/** The attributes a __Host- cookie must have (RFC 6265bis §4.1.3.2) plus the project's own. */
function assertHostCookie(c) {
  assert.ok(c.name.startsWith('__Host-'), c.name);
  assert.equal(c.value.length, 43, '256-bit token');
  assert.equal(c.attrs.get('secure'), true, 'Secure');
  assert.equal(c.attrs.get('httponly'), true, 'HttpOnly');
  assert.equal(c.attrs.get('path'), '/');
  assert.equal(c.attrs.get('samesite'), 'Lax');
  assert.equal(c.attrs.has('domain'), false, 'no Domain');
}

describe('cookie names and attributes follow the issuer scheme (SECURITY.md #26 / ASVS 3.3.1–3.3.4)', () => {
  let server;

  before(async () => {
    // TLS ends in front of Gatehouse: the issuer says https, the listener is plain http.
    const port = await freePort();
    server = await startServer({ port, env: { GATEHOUSE_ISSUER: `https://localhost:${port}` } });
  });
  after(async () => { await server?.stop(); });

  test('https issuer: the pre-session cookie is __Host-gh_pre: Secure, HttpOnly, Path=/, SameSite=Lax, no Domain', async () => {
    const r = await new Browser(server).sessionRaw();
    assertHostCookie(cookieNamed(r.setCookies, '__Host-gh_pre'));
    assert.equal(r.setCookies.some((c) => c.startsWith('gh_pre=')), false, 'no unprefixed twin');
  });

  test('https issuer: sign-in sets __Host-gh_session with the same attributes; only the prefixed name is honoured', async () => {
    const email = `host-${randomHex(4)}@example.com`;
    const password = strong();
    assert.equal((await scim(server, 'POST', '/Users', userBody(email, { password }))).status, 201);
    const b = new Browser(server);
    await b.sessionRaw();
    const r = await b.post('/api/v1/signin', { email, password });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'signed_in');
    const c = cookieNamed(r.setCookies, '__Host-gh_session');
    assertHostCookie(c);
    assert.ok(Number(c.attrs.get('max-age')) > 0, 'Max-Age: the absolute lifetime');
    assert.equal((await b.sessionRaw()).json.authenticated, true);

    // A cookie planted without the prefix (which a sibling host could set) is ignored.
    const planted = new Browser(server);
    planted.jar.set('gh_session', c.value);
    assert.equal((await planted.sessionRaw()).json.authenticated, false);
  });

  test('with the default http issuer the cookies carry neither the prefix nor Secure', async () => {
    const plain = await startServer();
    const r = await new Browser(plain).sessionRaw();
    const c = cookieNamed(r.setCookies, 'gh_pre');
    assert.equal(c.attrs.has('secure'), false);
    assert.equal(r.setCookies.some((l) => l.startsWith('__Host-')), false);
    await plain.stop();
  });
});

// SECURITY.md has no CSRF row of its own; ASVS 5.0 3.5.1 is the requirement.
describe('CSRF on sign-up, verification, resend and sign-out (ASVS 3.5.1)', () => {
  let server;
  let mail;

  before(async () => {
    mail = await startMailSink();
    server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
  });
  after(async () => { await server?.stop(); await mail?.stop(); });

  /**
   * The forgeries tried on each endpoint: no token; a genuine token, but
   * bound to another browser's pre-session; a correct token from a foreign
   * Origin. Each must be 403 {"error":"csrf"}, as sign-in answers.
   */
  async function forgeries(b) {
    const other = new Browser(server);
    await other.sessionRaw();
    assert.notEqual(other.csrf, b.csrf);
    return [
      ['no X-CSRF-Token', { csrf: null }],
      ["another pre-session's token", { csrf: other.csrf }],
      ['foreign Origin', { headers: { origin: 'https://evil.example' } }],
    ];
  }

  async function assertRefused(b, path, body) {
    for (const [what, opts] of await forgeries(b)) {
      const r = await b.post(path, body, opts);
      assert.equal(r.status, 403, `${path}, ${what}: ${r.text}`);
      assert.equal(r.json?.error, 'csrf', `${path}, ${what}`);
      assert.equal(b.jar.has('gh_session'), false, `${path}, ${what}: signed in`);
    }
  }

  const userRow = (email) => sql(server, `SELECT id, email_verified FROM users WHERE email = '${email}'`)[0];
  const flowRow = (email) => sql(server, `SELECT code_hash, sends, attempts FROM email_flows WHERE email = '${email}'`)[0];
  const mailsTo = (email) => mail.messages.filter(to(email)).length;

  test('sign-up: forged requests create no account and send no mail', async () => {
    const b = new Browser(server);
    await b.sessionRaw();
    const email = `su-${randomHex(4)}@example.com`;
    await assertRefused(b, '/api/v1/signup', { email, password: strong() });
    assert.equal(userRow(email), undefined, 'account created by a forged sign-up');

    // The genuine sign-up is then the first: a code (new account), not the
    // notice an existing owner gets, and the only mail to that address.
    const ok = await b.post('/api/v1/signup', { email, password: strong() });
    assert.equal(ok.status, 200, ok.text);
    codeFrom(await mail.waitFor(to(email), 10_000));
    await sleep(300);
    assert.equal(mailsTo(email), 1);
  });

  test('verify (code): forged requests neither verify nor sign in, and leave the code usable', async () => {
    const b = new Browser(server);
    await b.sessionRaw();
    const email = `ve-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: strong() });
    assert.equal(r.status, 200, r.text);
    const code = codeFrom(await mail.waitFor(to(email), 10_000));
    await assertRefused(b, '/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(userRow(email).email_verified, 0);
    assert.equal(flowRow(email).attempts, 0, 'refused before the code was looked at');
    assert.equal((await b.sessionRaw()).json.authenticated, false);

    const ok = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'signed_in');
  });

  test('verify/resend: forged requests are 403 (not the cool-down 429) and send no new code', async () => {
    const b = new Browser(server);
    await b.sessionRaw();
    const email = `rs-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: strong() });
    assert.equal(r.status, 200, r.text);
    const code = codeFrom(await mail.waitFor(to(email), 10_000));
    const before = flowRow(email);
    await assertRefused(b, '/api/v1/verify/resend', { flow_id: r.json.flow_id });
    assert.deepEqual(flowRow(email), before, 'the flow was changed');
    await sleep(300);
    assert.equal(mailsTo(email), 1);
    // A resend would have replaced the code: the first one still works.
    const ok = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(ok.status, 200, ok.text);
  });

  test('sign-out: forged requests leave the session alive; the genuine one ends it', async () => {
    const email = `so-${randomHex(4)}@example.com`;
    const password = strong();
    assert.equal((await scim(server, 'POST', '/Users', userBody(email, { password }))).status, 201);
    const b = new Browser(server);
    await b.sessionRaw();
    const pre = b.csrf;
    assert.equal((await b.post('/api/v1/signin', { email, password })).status, 200);
    await b.sessionRaw(); // the token is now bound to the session
    assert.notEqual(b.csrf, pre);

    const cases = [
      ...await forgeries(b),
      // This browser's own pre-session token is stale once it is signed in.
      ['the pre-sign-in token', { csrf: pre }],
    ];
    for (const [what, opts] of cases) {
      const r = await b.post('/api/v1/signout', {}, opts);
      assert.equal(r.status, 403, `${what}: ${r.text}`);
      assert.equal(r.json?.error, 'csrf', what);
      assert.equal((await b.sessionRaw()).json.authenticated, true, `${what}: signed out`);
    }

    const out = await b.post('/api/v1/signout', {});
    assert.equal(out.status, 200, out.text);
    assert.equal((await b.sessionRaw()).json.authenticated, false);
  });
});
