// The OpenID Connect provider against certified relying-party libraries:
// openid-client (v6) and oauth4webapi, with jose checking tokens on its own.
// The user agent is a small cookie-keeping client that signs in through the
// accounts API and follows the provider's redirects by hand.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import * as client from 'openid-client';
import { clientAuth } from './lib/oidc.mjs';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';

import { startServer, stopAll, scim, userBody, randomHex, sleep, runGatehouse } from './lib/server.mjs';

after(stopAll);

const strong = () => `Lighthouse-${randomHex(6)}-Meadow`;
const REDIRECT = 'https://app.example.com/callback';

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
      headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-csrf-token': this.csrf },
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
  /** Follows redirects from url until one leaves the provider; returns that URL (or the last response). */
  async authorize(url) {
    let next = new URL(url);
    for (let i = 0; i < 10; i++) {
      if (next.origin !== new URL(this.server.issuer).origin && next.origin !== this.server.url) return { url: next };
      // Talk to the server on its listening address; the issuer is localhost.
      const res = await this.fetch(`${this.server.url}${next.pathname}${next.search}`);
      if (res.status !== 302 && res.status !== 303) return { res, text: await res.text() };
      next = new URL(res.headers.get('location'), this.server.issuer);
      if (next.pathname === '/signin' || next.pathname === '/consent') return { url: next };
    }
    throw new Error('too many redirects');
  }
}

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

function configFor(server, reg, auth) {
  return client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, auth ?? clientAuth(reg),
    { execute: [client.allowInsecureRequests] });
}

async function newUser(server) {
  const email = `rp-${randomHex(4)}@example.com`;
  const password = strong();
  const r = await scim(server, 'POST', '/Users', userBody(email, { password, name: { givenName: 'Ada', familyName: 'Lovelace' } }));
  assert.equal(r.status, 201, r.text);
  return { email, password, id: r.body.id };
}

/** Runs a whole code flow for a signed-in agent; returns tokens and the callback URL. */
async function codeFlow(config, agent, { scope = 'openid email profile', extra = {} } = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope, state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  const out = await agent.authorize(url);
  assert.ok(out.url, `expected a redirect, got ${out.res?.status}: ${out.text}`);
  return { callback: out.url, verifier, state, nonce };
}

describe('OpenID Connect provider', () => {
  let server;
  let user;
  let reg;
  let config;

  before(async () => {
    // The back-channel logout RP below listens on loopback, which outbound
    // HTTP refuses unless allowed (tests/e2e/outbound.test.mjs).
    server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32' } });
    user = await newUser(server);
    reg = await register(server, {
      client_name: 'Shop', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
      post_logout_redirect_uris: ['https://app.example.com/bye'],
    });
    config = await configFor(server, reg);
  });
  after(async () => { await server?.stop(); });

  test('discovery: the issuer byte for byte, every endpoint, ES256 and RS256, S256 only', async () => {
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, server.issuer);
    for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'registration_endpoint',
      'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
      assert.ok(meta[k]?.startsWith(server.issuer), k);
    }
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
    const as = await oauth.processDiscoveryResponse(new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }));
    assert.equal(as.issuer, server.issuer);
  });

  test('code + PKCE for a confidential client: ID token, userinfo claims by scope, at_hash', async () => {
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(config, agent);
    assert.equal(flow.callback.searchParams.get('iss'), server.issuer, 'RFC 9207 iss');
    const tokens = await client.authorizationCodeGrant(config, flow.callback,
      { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const claims = tokens.claims();
    assert.equal(claims.sub, user.id);
    assert.equal(claims.aud, reg.client_id);
    assert.ok(claims.auth_time && claims.sid && claims.acr);
    assert.ok(Array.isArray(claims.amr) && claims.amr.includes('pwd'));
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, user.email);
    assert.equal(info.email_verified, true);
    assert.equal(info.given_name, 'Ada');
    // jose on its own: the access token is an RFC 9068 JWT from our JWKS.
    const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const at = await jose.jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, typ: 'at+jwt' });
    assert.equal(at.payload.client_id, reg.client_id);
    assert.ok(at.payload.jti);
    assert.equal(tokens.refresh_token, undefined, 'no refresh token without offline_access');
  });

  test('a public client with PKCE (auth method none), oauth4webapi as the RP', async () => {
    const pub = await register(server, { client_name: 'SPA', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
    const as = await oauth.processDiscoveryResponse(new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), { [oauth.allowInsecureRequests]: true }));
    const c = { client_id: pub.client_id };
    const verifier = oauth.generateRandomCodeVerifier();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint);
    for (const [k, v] of Object.entries({ client_id: c.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const { url: cb } = await agent.authorize(url);
    const params = oauth.validateAuthResponse(as, c, cb);
    const res = await oauth.authorizationCodeGrantRequest(as, c, oauth.None(), params, REDIRECT, verifier, { [oauth.allowInsecureRequests]: true });
    const result = await oauth.processAuthorizationCodeResponse(as, c, res, { expectedNonce: nonce, requireIdToken: true });
    assert.ok(result.access_token);
    assert.equal(oauth.getValidatedIdTokenClaims(result).sub, user.id);
  });

  test('form_post: an auto-submitting form with code, state and iss, and a CSP that allows only it', async () => {
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 'st-1', response_mode: 'form_post',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const out = await agent.authorize(url);
    assert.equal(out.res.status, 200);
    assert.match(out.text, new RegExp(`action="${REDIRECT}"`));
    const field = (n) => new RegExp(`name="${n}" value="([^"]+)"`).exec(out.text)?.[1];
    assert.equal(field('state'), 'st-1');
    assert.equal(field('iss'), server.issuer);
    assert.ok(field('code'));
    const csp = out.res.headers.get('content-security-policy');
    assert.match(csp, /form-action https:\/\/app\.example\.com/);
    assert.match(csp, /script-src 'sha256-/);
  });

  test('prompt=none: login_required without a session; max_age=0 and prompt=login force a fresh sign-in', async () => {
    const fresh = new Agent(server);
    const flow = await codeFlow(config, fresh, { extra: { prompt: 'none' } });
    assert.equal(flow.callback.searchParams.get('error'), 'login_required');
    assert.equal(flow.callback.searchParams.get('iss'), server.issuer);

    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    for (const extra of [{ max_age: '0' }, { prompt: 'login' }]) {
      await sleep(1100);
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', ...extra,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
      const out = await agent.authorize(url);
      assert.equal(out.url.pathname, '/signin', `${JSON.stringify(extra)} must ask for a sign-in`);
      const back = out.url.searchParams.get('return_to');
      const s = await agent.api('POST', '/api/v1/signin', { email: user.email, password: user.password, return_to: back });
      assert.equal(s.json.return_to, back);
      const done = await agent.authorize(new URL(back, server.issuer));
      assert.ok(done.url.searchParams.get('code'), `${JSON.stringify(extra)}: code after the fresh sign-in`);
      const tokens = await client.authorizationCodeGrant(config, done.url, { pkceCodeVerifier: verifier });
      assert.ok(Date.now() / 1000 - tokens.claims().auth_time < 5, 'auth_time is the fresh sign-in');
    }
  });

  test('consent for a third-party client: shown, remembered, revoked; prompt=none → consent_required', async () => {
    const third = await register(server, { client_name: 'Partner App', redirect_uris: [REDIRECT] }, { firstParty: false });
    const cfg = await configFor(server, third);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const none = await codeFlow(cfg, agent, { extra: { prompt: 'none' } });
    assert.equal(none.callback.searchParams.get('error'), 'consent_required');

    const first = await codeFlow(cfg, agent);
    assert.equal(first.callback.pathname, '/consent');
    const back = first.callback.searchParams.get('return_to');
    const info = await agent.api('GET', `/api/v1/consent?client_id=${third.client_id}&scope=${encodeURIComponent('email openid profile')}`);
    assert.equal(info.json.client_name, 'Partner App');
    const d = await agent.api('POST', '/api/v1/consent', { client_id: third.client_id, scope: 'openid email profile', decision: 'allow', return_to: back });
    assert.equal(d.status, 200, JSON.stringify(d.json));
    const done = await agent.authorize(new URL(`${back}&gh_consent=${encodeURIComponent(d.json.marker)}`, server.issuer));
    assert.ok(done.url.searchParams.get('code'));

    const again = await codeFlow(cfg, agent);
    assert.ok(again.callback.searchParams.get('code'), 'consent is remembered');

    const list = await agent.api('GET', '/api/v1/consents');
    assert.ok(list.json.consents.some((x) => x.client_id === third.client_id));
    const del = await agent.fetch(`${server.url}/api/v1/consents/${third.client_id}`, { method: 'DELETE', headers: { 'x-csrf-token': agent.csrf } });
    assert.equal(del.status, 204);
    const after = await codeFlow(cfg, agent);
    assert.equal(after.callback.pathname, '/consent', 'consent asked again after revocation');

    const deny = await agent.api('POST', '/api/v1/consent', { client_id: third.client_id, scope: 'openid email profile', decision: 'deny', return_to: after.callback.searchParams.get('return_to') });
    const denied = await agent.authorize(new URL(`${after.callback.searchParams.get('return_to')}&gh_consent=${encodeURIComponent(deny.json.marker)}`, server.issuer));
    assert.equal(denied.url.searchParams.get('error'), 'access_denied');
  });

  test('refresh tokens rotate; a reused one revokes the whole family', async () => {
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(config, agent, { scope: 'openid offline_access' });
    const t0 = await client.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    assert.ok(t0.refresh_token);
    const t1 = await client.refreshTokenGrant(config, t0.refresh_token);
    assert.ok(t1.refresh_token && t1.refresh_token !== t0.refresh_token);
    await assert.rejects(client.refreshTokenGrant(config, t0.refresh_token), (e) => e.error === 'invalid_grant');
    await assert.rejects(client.refreshTokenGrant(config, t1.refresh_token), (e) => e.error === 'invalid_grant',
      'the newest token of the family is revoked too');
  });

  test('code reuse fails and revokes the tokens it produced; wrong PKCE verifier and wrong redirect_uri fail', async () => {
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(config, agent);
    const tokens = await client.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    await assert.rejects(client.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce }),
      (e) => e.error === 'invalid_grant');
    const intro = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(intro.active, false, 'the access token from the first use is revoked');

    const bad = await codeFlow(config, agent);
    await assert.rejects(client.authorizationCodeGrant(config, bad.callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: bad.state, expectedNonce: bad.nonce }),
      (e) => e.error === 'invalid_grant');

    const wrong = new URL(config.serverMetadata().authorization_endpoint);
    for (const [k, v] of Object.entries({ client_id: reg.client_id, redirect_uri: 'https://evil.example/cb', response_type: 'code', scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' })) wrong.searchParams.set(k, v);
    const out = await agent.authorize(wrong);
    assert.equal(out.res.status, 400, 'an unregistered redirect_uri gets an error page, never a redirect');
    assert.equal(out.res.headers.get('location'), null);
    const unknown = new URL(wrong);
    unknown.searchParams.set('client_id', 'no-such-client');
    unknown.searchParams.set('redirect_uri', REDIRECT);
    assert.equal((await agent.authorize(unknown)).res.status, 400);
  });

  test('a leaked used code of a public client revokes nothing without its PKCE verifier and redirect_uri (SECURITY.md #36, #38)', async () => {
    const pub = await register(server, {
      client_name: 'Leaky SPA', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    const cfg = await configFor(server, pub, client.None());
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(cfg, agent, { scope: 'openid offline_access' });
    const tokens = await client.authorizationCodeGrant(cfg, flow.callback,
      { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    assert.ok(tokens.refresh_token);
    const code = flow.callback.searchParams.get('code');
    const redeem = (form) => fetch(`${server.url}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: pub.client_id, code, ...form }).toString(),
    });
    // Whoever found the used code (a log, a Referer) lacks the verifier.
    for (const form of [
      { redirect_uri: REDIRECT, code_verifier: client.randomPKCECodeVerifier() },
      { redirect_uri: REDIRECT },
      { redirect_uri: 'https://app.example.com/other', code_verifier: flow.verifier },
    ]) {
      const res = await redeem(form);
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error, 'invalid_grant');
    }
    // The owner's tokens live on: the refresh token still rotates.
    const next = await client.refreshTokenGrant(cfg, tokens.refresh_token);
    assert.ok(next.access_token);
    // The real client replaying its own code (verifier and all) is a replay:
    // what the code produced is revoked (RFC 6749 4.1.2).
    const res = await redeem({ redirect_uri: REDIRECT, code_verifier: flow.verifier });
    assert.equal((await res.json()).error, 'invalid_grant');
    await assert.rejects(client.refreshTokenGrant(cfg, next.refresh_token), (e) => e.error === 'invalid_grant');
  });

  test('introspection and revocation; a revoked access token is refused by userinfo', async () => {
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(config, agent, { scope: 'openid offline_access' });
    const tokens = await client.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const a = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(a.active, true);
    assert.equal(a.sub, user.id);
    const rt = await client.tokenIntrospection(config, tokens.refresh_token);
    assert.equal(rt.active, true);
    await client.tokenRevocation(config, tokens.access_token);
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, user.id));
    await client.tokenRevocation(config, tokens.refresh_token);
    assert.equal((await client.tokenIntrospection(config, tokens.refresh_token)).active, false);
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  });

  test('forged tokens: another key, alg none, a tampered payload → 401 at userinfo', async () => {
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(config, agent);
    const tokens = await client.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const payload = jose.decodeJwt(tokens.access_token);
    const header = jose.decodeProtectedHeader(tokens.access_token);
    const { privateKey } = await jose.generateKeyPair('ES256');
    const other = await new jose.SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: 'at+jwt' }).sign(privateKey);
    const none = `${jose.base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${jose.base64url.encode(JSON.stringify(payload))}.`;
    const [h, , s] = tokens.access_token.split('.');
    const tampered = `${h}.${jose.base64url.encode(JSON.stringify({ ...payload, sub: 'someone-else' }))}.${s}`;
    for (const t of [other, none, tampered]) {
      const res = await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${t}` } });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate'), /invalid_token/);
    }
  });

  test('client_credentials with a secret; a wrong secret → invalid_client', async () => {
    // reports.read is a scope of a registered resource (issue 16): the token is for that API
    const res = await fetch(`${server.url}/admin/v1/resources`, {
      method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: 'https://reports.example.com', name: 'Reports', scopes: { 'reports.read': 'Read your reports' } }),
    });
    assert.equal(res.status, 201, await res.text());
    const svc = await register(server, { client_name: 'Batch', grant_types: ['client_credentials'], scope: 'reports.read' });
    const cfg = await configFor(server, svc);
    const t = await client.clientCredentialsGrant(cfg, { scope: 'reports.read' });
    const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jose.jwtVerify(t.access_token, jwks, { issuer: server.issuer, typ: 'at+jwt', audience: 'https://reports.example.com' });
    assert.equal(payload.sub, svc.client_id);
    assert.equal(payload.scope, 'reports.read');
    const wrong = await client.discovery(new URL(server.issuer), svc.client_id, 'not-the-secret', client.ClientSecretBasic('not-the-secret'), { execute: [client.allowInsecureRequests] });
    // Basic: a 401 with a challenge, which openid-client raises as such
    await assert.rejects(client.clientCredentialsGrant(wrong, { scope: 'reports.read' }),
      (e) => e.error === 'invalid_client' || (e.status === 401 && e.name === 'WWWAuthenticateChallengeError'));
  });

  test('client_credentials with private_key_jwt; a replayed assertion is refused', async () => {
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const svc = await register(server, { client_name: 'Signed', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
    const cfg = await configFor(server, svc, client.PrivateKeyJwt({ key: privateKey, kid: 'k1' }));
    const t = await client.clientCredentialsGrant(cfg);
    assert.ok(t.access_token);
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new jose.SignJWT({ jti: randomHex(8) }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(svc.client_id).setSubject(svc.client_id).setAudience(`${server.issuer}/token`).setIssuedAt(now).setExpirationTime(now + 60).sign(privateKey);
    const send = () => fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }) });
    assert.equal((await send()).status, 200);
    assert.equal((await send()).status, 401, 'the same jti twice is a replay');
  });

  test('RP-initiated logout ends the session and returns to the registered URI with state; back-channel logout token delivered', async () => {
    const received = [];
    const listener = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { received.push(new URLSearchParams(body).get('logout_token')); res.end(); });
    });
    await new Promise((r) => listener.listen(0, '127.0.0.1', r));
    const bcl = `http://127.0.0.1:${listener.address().port}/bcl`;
    const rp = await register(server, { client_name: 'Logout RP', redirect_uris: [REDIRECT], backchannel_logout_uri: bcl,
      post_logout_redirect_uris: ['https://app.example.com/bye'] });
    const cfg = await configFor(server, rp);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(cfg, agent);
    const tokens = await client.authorizationCodeGrant(cfg, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const end = client.buildEndSessionUrl(cfg, { id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://app.example.com/bye', state: 'bye-1' });
    const out = await agent.authorize(end);
    assert.equal(out.url.origin + out.url.pathname, 'https://app.example.com/bye');
    assert.equal(out.url.searchParams.get('state'), 'bye-1');
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
    // Delivered from the queue by a sender thread, moments after the answer.
    for (let i = 0; i < 100 && received.length === 0; i++) await sleep(50);
    assert.equal(received.length, 1, 'one back-channel logout');
    const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload, protectedHeader } = await jose.jwtVerify(received[0], jwks, { issuer: server.issuer, audience: rp.client_id });
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.equal(payload.sid, tokens.claims().sid);
    assert.ok(payload.events['http://schemas.openid.net/event/backchannel-logout']);
    assert.equal(payload.nonce, undefined);
    listener.close();

    const unregistered = client.buildEndSessionUrl(cfg, { id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/' });
    assert.equal((await agent.authorize(unregistered)).res.status, 400);
  });

  test('RS256 ID tokens for a client that asks for them', async () => {
    const rs = await register(server, { client_name: 'RS', redirect_uris: [REDIRECT], id_token_signed_response_alg: 'RS256' });
    const cfg = await configFor(server, rs);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(cfg, agent);
    const tokens = await client.authorizationCodeGrant(cfg, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    assert.equal(jose.decodeProtectedHeader(tokens.id_token).alg, 'RS256');
  });

  test('token errors follow RFC 6749 5.2 with no-store; bad input is a clear 4xx', async () => {
    const post = (body, headers = {}) => fetch(`${server.url}/token`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64')}`, ...headers }, body });
    const r1 = await post('grant_type=password&username=a&password=b');
    assert.equal(r1.status, 400);
    assert.equal((await r1.json()).error, 'unsupported_grant_type');
    assert.equal(r1.headers.get('cache-control'), 'no-store');
    const r2 = await post('grant_type=authorization_code&code=x&code=y');
    assert.equal(r2.status, 400);
    assert.equal((await r2.json()).error, 'invalid_request');
    const r3 = await post('{"grant_type":"client_credentials"}', { 'content-type': 'application/json' });
    assert.equal(r3.status, 400);
    const r4 = await post('grant_type=authorization_code&code=nope&redirect_uri=' + encodeURIComponent(REDIRECT) + '&code_verifier=' + 'a'.repeat(43));
    assert.equal((await r4.json()).error, 'invalid_grant');
  });
});

describe('authorization code lifetime', () => {
  test('an expired code is refused (GATEHOUSE_AUTH_CODE_TTL=1); acr_values are recorded', async () => {
    const server = await startServer({ env: { GATEHOUSE_AUTH_CODE_TTL: '1' } });
    const user = await newUser(server);
    const reg = await register(server, { client_name: 'Slow', redirect_uris: [REDIRECT] });
    const config = await configFor(server, reg);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(config, agent, { extra: { acr_values: 'urn:gatehouse:aal2' } });
    await sleep(1500);
    await assert.rejects(client.authorizationCodeGrant(config, flow.callback,
      { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce }),
    (e) => e.error === 'invalid_grant');
    const { sql } = await import('./lib/server.mjs');
    const rows = sql(server, "SELECT details FROM audit_events WHERE type = 'authorize.code_issued'");
    assert.equal(JSON.parse(rows[0].details).acr_values, 'urn:gatehouse:aal2');
    await server.stop();
  });
});

describe('key rotation', () => {
  test('tokens signed before `gatehouse keys rotate` still verify; new tokens use the new key', async () => {
    const server = await startServer({ env: { GATEHOUSE_KEYS_REFRESH: '1' } });
    const svc = await register(server, { client_name: 'Rotate', grant_types: ['client_credentials'] });
    const cfg = await configFor(server, svc);
    const before = await client.clientCredentialsGrant(cfg);
    const kidBefore = jose.decodeProtectedHeader(before.access_token).kid;
    const rot = await runGatehouse(['keys', 'rotate'], { env: server.env });
    assert.equal(rot.code, 0, rot.stderr);
    await sleep(1500);
    const afterRot = await client.clientCredentialsGrant(cfg);
    assert.notEqual(jose.decodeProtectedHeader(afterRot.access_token).kid, kidBefore);
    const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/jwks`));
    await jose.jwtVerify(before.access_token, jwks, { issuer: server.issuer });
    await jose.jwtVerify(afterRot.access_token, jwks, { issuer: server.issuer });
    assert.equal((await client.tokenIntrospection(cfg, before.access_token)).active, true);
    await server.stop();
  });
});
