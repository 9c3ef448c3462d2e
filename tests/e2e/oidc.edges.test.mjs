// Edges of the OpenID Connect provider that breaking the code on purpose
// showed no other test watching (issue 16, item 11): expired access tokens,
// redirect URIs that merely start with a registered one, two requests
// racing for one code or one refresh token, CSRF on the routes that change
// consent or mail a code, and sessions checked dead with a copy of the old
// cookie rather than with the client that just dropped it.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';

import { startServer, stopAll, scim, userBody, randomHex, sleep, sql } from './lib/server.mjs';
import { Browser } from './lib/browser.mjs';

after(stopAll);

const REDIRECT = 'https://app.example.com/callback';
// Requests racing for one code or refresh token, and how many times.
const RACERS = 6;
const RACE_ROUNDS = 10;

async function register(server, metadata, { firstParty = true } = {}) {
  const res = await fetch(`${server.url}/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...metadata, ...(firstParty ? { gatehouse_first_party: true } : {}) }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

async function newUser(server) {
  const email = `edge-${randomHex(4)}@example.com`;
  const password = `Lighthouse-${randomHex(6)}-Meadow`;
  const r = await scim(server, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, r.text);
  return { email, password, id: r.body.id };
}

/** A signed-in browser that follows /authorize by hand and stops at the RP. */
async function signedIn(server, user) {
  const b = new Browser(server);
  const r = await b.post('/api/v1/signin', { email: user.email, password: user.password });
  assert.equal(r.status, 200, r.text);
  return b;
}

/** The code of one authorization request (first-party client: no consent). */
async function authorize(server, b, reg, { scope = 'openid', redirectUri = REDIRECT, prompt } = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const q = new URLSearchParams({
    client_id: reg.client_id, redirect_uri: redirectUri, response_type: 'code', scope, state: randomHex(8),
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...(prompt ? { prompt } : {}),
  });
  const r = await b.raw('GET', `/authorize?${q}`);
  return { status: r.status, location: r.headers.get('location'), verifier, text: r.text };
}

function tokenRequest(server, reg, form) {
  return fetch(`${server.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams(form).toString(),
  });
}

async function codeTokens(server, b, reg, scope) {
  const a = await authorize(server, b, reg, { scope });
  assert.equal(a.status, 302, a.text);
  const code = new URL(a.location).searchParams.get('code');
  assert.ok(code, a.location);
  const res = await tokenRequest(server, reg, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: a.verifier });
  assert.equal(res.status, 200);
  return res.json();
}

describe('access tokens expire (GATEHOUSE_ACCESS_TOKEN_TTL=3)', () => {
  test('an expired access token → 401 invalid_token at userinfo and active:false at introspection', async () => {
    const server = await startServer({ env: { GATEHOUSE_ACCESS_TOKEN_TTL: '3' } });
    const user = await newUser(server);
    const reg = await register(server, { client_name: 'Short', redirect_uris: [REDIRECT] });
    const b = await signedIn(server, user);
    const tokens = await codeTokens(server, b, reg, 'openid');
    const userinfo = () => fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const introspect = () => fetch(`${server.url}/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: tokens.access_token }).toString(),
    }).then((r) => r.json());
    // Valid at first (and so in the verified-token cache) ...
    assert.equal((await userinfo()).status, 200);
    assert.equal((await introspect()).active, true);
    // (3 s, not 1: on a loaded machine the first two checks alone can take
    // a second, and the token must still be valid for them)
    await sleep(4200);
    // ... refused once exp has passed, cache or not.
    const res = await userinfo();
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
    assert.deepEqual(await introspect(), { active: false });
    await server.stop();
  });
});

describe('OpenID Connect edges', () => {
  let server;
  let user;
  let reg;

  before(async () => {
    server = await startServer();
    user = await newUser(server);
    reg = await register(server, {
      client_name: 'Edges', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
      post_logout_redirect_uris: ['https://app.example.com/bye'],
    });
  });

  test('a redirect_uri that only starts with the registered one gets an error page, never a redirect (SECURITY.md #35)', async () => {
    const b = await signedIn(server, user);
    const ok = await authorize(server, b, reg);
    assert.equal(ok.status, 302);
    assert.ok(ok.location.startsWith(`${REDIRECT}?`));
    for (const uri of [`${REDIRECT}/more`, `${REDIRECT}?x=1`, `${REDIRECT}x`, `${REDIRECT}/`, `${REDIRECT}#f`,
      REDIRECT.toUpperCase(), REDIRECT.replace('https:', 'http:')]) {
      const r = await authorize(server, b, reg, { redirectUri: uri });
      assert.equal(r.status, 400, `${uri} must be refused`);
      assert.equal(r.location, null, `${uri}: no redirect`);
    }
  });

  test('the error page of /authorize has the hosted pages\' branded layout and the page CSP (issue 19 item 6)', async () => {
    const res = await fetch(`${server.url}/authorize?client_id=no-such-client&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`, { redirect: 'manual' });
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.match(text, /<header class="brand">Gatehouse<\/header>/);
    assert.match(text, /<link rel="stylesheet" href="\/assets\/gatehouse.css">/);
    assert.match(text, /<h1>Unknown application<\/h1>/);
    assert.match(text, /<a href="\/signin">Sign in<\/a>/);
    assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  });

  test('one code redeemed by two requests at once: exactly one gets tokens (SECURITY.md #36)', async () => {
    // RS256 ID tokens: a slower signature between reading the code and
    // marking it used makes the race easy to lose without the store's guard.
    const rs = await register(server, {
      client_name: 'Racer', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: 'RS256',
    });
    const b = await signedIn(server, user);
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const a = await authorize(server, b, rs, { scope: 'openid offline_access' });
      const code = new URL(a.location).searchParams.get('code');
      const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: a.verifier };
      const answers = await Promise.all(Array.from({ length: RACERS }, () => tokenRequest(server, rs, form)));
      const won = answers.filter((r) => r.status === 200).length;
      assert.equal(won, 1, `round ${round}: ${answers.map((r) => r.status)}`);
    }
  });

  test('one refresh token rotated by two requests at once: exactly one succeeds (SECURITY.md #39)', async () => {
    const b = await signedIn(server, user);
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const t = await codeTokens(server, b, reg, 'openid offline_access');
      const form = { grant_type: 'refresh_token', refresh_token: t.refresh_token };
      const answers = await Promise.all(Array.from({ length: RACERS }, () => tokenRequest(server, reg, form)));
      const won = answers.filter((r) => r.status === 200).length;
      assert.equal(won, 1, `round ${round}: ${answers.map((r) => r.status)}`);
    }
  });

  test('CSRF: /api/v1/signin/email, POST /api/v1/consent and DELETE /api/v1/consents/{client} refuse forged requests and change nothing', async () => {
    const third = await register(server, { client_name: 'Partner', redirect_uris: [REDIRECT] }, { firstParty: false });
    const b = await signedIn(server, user);
    await b.session();
    const foreign = { origin: 'https://evil.example' };

    // A code mailed on someone else's behalf: no flow, no mail queued.
    const before = sql(server, 'SELECT COUNT(*) AS n FROM email_flows')[0].n;
    for (const [csrf, headers] of [[false, {}], ['forged-token', {}], [true, foreign]]) {
      const r = await b.post('/api/v1/signin/email', { email: user.email }, { csrf, headers });
      assert.equal(r.status, 403, r.text);
    }
    assert.equal(sql(server, 'SELECT COUNT(*) AS n FROM email_flows')[0].n, before);

    // Consent granted by a forged request: nothing stored.
    for (const [csrf, headers] of [[false, {}], ['forged-token', {}], [true, foreign]]) {
      const r = await b.post('/api/v1/consent', { client_id: third.client_id, scope: 'openid', decision: 'allow' }, { csrf, headers });
      assert.equal(r.status, 403, r.text);
    }
    assert.equal(sql(server, `SELECT COUNT(*) AS n FROM consents WHERE client_id = '${third.client_id}'`)[0].n, 0);

    // A genuine grant, then forged withdrawals leave it in place.
    const ask = await authorize(server, b, third);
    const back = new URL(ask.location, server.issuer).searchParams.get('return_to');
    const g = await b.post('/api/v1/consent', { client_id: third.client_id, scope: 'openid', decision: 'allow', return_to: back });
    assert.equal(g.status, 200, g.text);
    assert.equal(sql(server, `SELECT COUNT(*) AS n FROM consents WHERE client_id = '${third.client_id}'`)[0].n, 1);
    for (const headers of [{}, { 'x-csrf-token': 'forged-token' }, { 'x-csrf-token': b.csrf, ...foreign }]) {
      const r = await b.raw('DELETE', `/api/v1/consents/${third.client_id}`, { headers });
      assert.equal(r.status, 403, r.text);
    }
    assert.equal(sql(server, `SELECT COUNT(*) AS n FROM consents WHERE client_id = '${third.client_id}'`)[0].n, 1);
    const del = await b.raw('DELETE', `/api/v1/consents/${third.client_id}`, { headers: { 'x-csrf-token': b.csrf, origin: b.origin } });
    assert.equal(del.status, 204, del.text);
  });

  test('consent and fresh-sign-in markers are good for their own authorization request only', async () => {
    const third = await register(server, { client_name: 'Bound', redirect_uris: [REDIRECT] }, { firstParty: false });
    const b = await signedIn(server, user);
    await b.session();
    const returnTo = async (extra = {}) => {
      const a = await authorize(server, b, third, extra);
      const u = new URL(a.location, server.issuer);
      assert.equal(u.pathname, '/consent', a.location);
      return u.searchParams.get('return_to');
    };
    const resume = async (back, marker) => {
      const r = await b.raw('GET', `${back}&gh_consent=${encodeURIComponent(marker)}`);
      return new URL(r.headers.get('location'), server.issuer);
    };
    // A deny for request A; request B (its own state and PKCE challenge) is not denied by it.
    const a = await returnTo();
    const bReq = await returnTo();
    const deny = await b.post('/api/v1/consent', { client_id: third.client_id, scope: 'openid', decision: 'deny', return_to: a });
    assert.equal(deny.status, 200, deny.text);
    assert.equal((await resume(a, deny.json.marker)).searchParams.get('error'), 'access_denied');
    assert.equal((await resume(bReq, deny.json.marker)).pathname, '/consent', 'B is asked, not denied');
    // The decision must be about the request it names.
    for (const body of [
      { client_id: third.client_id, scope: 'openid', decision: 'allow' },
      { client_id: third.client_id, scope: 'openid', decision: 'allow', return_to: '/account' },
      { client_id: third.client_id, scope: 'openid email', decision: 'allow', return_to: a },
      { client_id: reg.client_id, scope: 'openid', decision: 'allow', return_to: a },
    ]) {
      const r = await b.post('/api/v1/consent', body);
      assert.equal(r.status, 400, r.text);
    }
    assert.equal(sql(server, `SELECT COUNT(*) AS n FROM consents WHERE client_id = '${third.client_id}'`)[0].n, 0);

    // prompt=login: the fresh sign-in marker of one request does not satisfy another.
    const login = await authorize(server, b, reg, { prompt: 'login' });
    const signinUrl = new URL(login.location, server.issuer);
    assert.equal(signinUrl.pathname, '/signin');
    const marked = signinUrl.searchParams.get('return_to');
    const marker = new URLSearchParams(marked.split('?')[1]).get('gh_auth_after');
    assert.ok(marker);
    const again = await b.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(again.status, 200, again.text);
    let r = await b.raw('GET', marked);
    assert.ok(new URL(r.headers.get('location')).searchParams.get('code'), 'its own request gets a code');
    const other = await authorize(server, b, reg, { prompt: 'login' });
    const otherBack = new URL(other.location, server.issuer).searchParams.get('return_to');
    const swapped = otherBack.replace(/gh_auth_after=[^&]*/, `gh_auth_after=${encodeURIComponent(marker)}`);
    r = await b.raw('GET', swapped);
    assert.equal(new URL(r.headers.get('location'), server.issuer).pathname, '/signin', 'another request is sent to sign in again');
  });

  test('RP-initiated logout without a hint from this session asks the person; a cross-site link alone signs no one out (SECURITY.md #45)', async () => {
    const b = await signedIn(server, user);
    const copy = () => { const c = new Browser(server); c.jar = new Map(b.jar); return c; };
    // A bare link, as any site could embed it.
    let r = await b.raw('GET', '/logout');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<button type="submit" class="primary">Sign out<\/button>/);
    assert.equal((await copy().session()).authenticated, true, 'the link alone ended nothing');
    // An access token, and an ID token of an earlier session, are no hint for this one.
    const tokens = await codeTokens(server, b, reg, 'openid');
    r = await b.raw('GET', `/logout?${new URLSearchParams({ id_token_hint: tokens.access_token })}`);
    assert.equal(r.status, 400, 'an access token is not an ID token');
    const older = new Browser(server);
    assert.equal((await older.post('/api/v1/signin', { email: user.email, password: user.password })).status, 200);
    const olderTokens = await codeTokens(server, older, reg, 'openid');
    r = await b.raw('GET', `/logout?${new URLSearchParams({ id_token_hint: olderTokens.id_token })}`);
    assert.equal(r.status, 200, 'another session\'s ID token: asked');
    assert.equal((await copy().session()).authenticated, true);
    // The confirmation form without its CSRF token, or from another site, changes nothing.
    const form = (extra) => new URLSearchParams({ confirm: 'yes', ...extra }).toString();
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(r.text)[1];
    const origin = new URL(server.issuer).origin;
    for (const [body, o] of [[form({}), origin], [form({ csrf_token: 'forged' }), origin], [form({ csrf_token: csrf }), 'https://evil.example']]) {
      const f = await b.raw('POST', '/logout', { body, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: o } });
      assert.equal(f.status, 403, f.text);
    }
    assert.equal((await copy().session()).authenticated, true);
    // The person's own click ends it, and a copy of the old cookie is dead.
    const old = copy();
    const ok = await b.raw('POST', '/logout', { body: form({ csrf_token: csrf }), headers: { 'content-type': 'application/x-www-form-urlencoded', origin } });
    assert.equal(ok.status, 302, ok.text);
    assert.equal((await old.session()).authenticated, false);
    // The other session lives on.
    assert.equal((await older.session()).authenticated, true);
  });

  test('sign-out ends the session on the server: a copy of the old cookie is refused afterwards (SECURITY.md #29)', async () => {
    const b = await signedIn(server, user);
    const copy = new Browser(server);
    copy.jar = new Map(b.jar);
    assert.equal((await copy.session()).authenticated, true);
    const out = await b.post('/api/v1/signout', {});
    assert.equal(out.status, 200, out.text);
    assert.equal((await copy.session()).authenticated, false, 'the old cookie no longer signs anyone in');
    assert.equal((await copy.raw('GET', '/api/v1/sessions')).status, 401);
  });

  test('RP-initiated logout ends the session on the server: a copy of the old cookie is refused afterwards (SECURITY.md #29)', async () => {
    const b = await signedIn(server, user);
    const tokens = await codeTokens(server, b, reg, 'openid');
    const copy = new Browser(server);
    copy.jar = new Map(b.jar);
    const q = new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://app.example.com/bye', state: 's1' });
    const r = await b.raw('GET', `/logout?${q}`);
    assert.equal(r.status, 302, r.text);
    assert.equal(r.headers.get('location'), 'https://app.example.com/bye?state=s1');
    assert.equal((await copy.session()).authenticated, false, 'the old cookie no longer signs anyone in');
    const again = await authorize(server, copy, reg);
    assert.equal(again.status, 302);
    assert.equal(new URL(again.location, server.issuer).pathname, '/signin', 'authorize asks the old cookie to sign in');
  });
});
