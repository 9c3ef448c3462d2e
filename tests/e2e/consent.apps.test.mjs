// Purpose decisions for applications (issue 20 item 4; docs/privacy.md "For
// applications"), with openid-client as the relying party: the consents
// scope and claim (userinfo with the scope only; the ID token only when the
// claims parameter asks), the bearer API /api/v1/app/consents (read; write
// only with a recent sign-in, RFC 9470; required purposes refused), and
// purpose= at /authorize (the consent page asks even a first-party client's
// customer, a decline still signs in, the marker covers the purpose list).
// SECURITY.md ids cited: #30 (sensitive changes need the customer present),
// #42 (what an application may hold follows the customer's consent).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';

import { startServer, stopAll, request, sql, sqlExec, randomHex } from './lib/server.mjs';
import { newUser, signedIn } from './lib/browser.mjs';
import { registerClient, clientAuth, REDIRECT } from './lib/oidc.mjs';

const ctx = {};

async function admin(method, path, body) {
  const r = await request(ctx.server, method, path, {
    headers: { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 201, r.text);
}

const config = (reg) => client.discovery(new URL(ctx.server.issuer), reg.client_id, reg.client_secret,
  clientAuth(reg), { execute: [client.allowInsecureRequests] });

/** Starts a code flow in browser b; returns the first redirect and what the RP keeps. */
async function start(b, reg, params) {
  const cfg = await config(reg);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: REDIRECT, state, code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256', ...params,
  });
  const r = await b.raw('GET', `${url.pathname}${url.search}`);
  assert.equal(r.status, 302, r.text);
  return { cfg, verifier, state, loc: new URL(r.headers.get('location'), ctx.server.issuer) };
}

/** On the consent page's return_to: records the decision the page would
 * send, and follows the marked request. */
async function consent(b, reg, flow, { decision = 'allow', purposes } = {}) {
  assert.equal(flow.loc.pathname, '/consent', flow.loc.href);
  const back = flow.loc.searchParams.get('return_to');
  const scope = new URLSearchParams(back.slice('/authorize?'.length)).get('scope');
  const d = await b.post('/api/v1/consent', { client_id: reg.client_id, scope, decision, return_to: back, ...(purposes ? { purposes } : {}) });
  assert.equal(d.status, 200, d.text);
  const r = await b.raw('GET', `${back}&gh_consent=${encodeURIComponent(d.json.marker)}`);
  assert.equal(r.status, 302, r.text);
  return { ...flow, loc: new URL(r.headers.get('location'), ctx.server.issuer) };
}

async function tokens(flow) {
  assert.ok(flow.loc.searchParams.get('code'), `no code: ${flow.loc.href}`);
  return client.authorizationCodeGrant(flow.cfg, flow.loc, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
}

/** Tokens of a whole flow: consent allowed when the page is asked. */
async function flowTokens(b, reg, params, opts) {
  let flow = await start(b, reg, params);
  if (flow.loc.pathname === '/consent') flow = await consent(b, reg, flow, opts);
  return tokens(flow);
}

function app(method, token, body) {
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return request(ctx.server, method, '/api/v1/app/consents', { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

const records = (userId) => sql(ctx.server,
  `SELECT purpose, decision, channel, client_id, actor FROM consent_records WHERE user_id = '${userId}' ORDER BY seq`);

before(async () => {
  ctx.server = await startServer();
  // terms is required but has no document: nothing pends the session, and
  // it stays a purpose an application may not decide
  await admin('POST', '/admin/v1/consent/purposes', { key: 'terms', title: 'Terms of service', required: true });
  await admin('POST', '/admin/v1/consent/purposes', { key: 'marketing_email', title: 'Marketing email', label: 'Send me marketing email' });
  await admin('POST', '/admin/v1/consent/purposes', { key: 'analytics', title: 'Analytics', label: 'Measure how I use the app' });
  ctx.third = await registerClient(ctx.server, { scope: 'openid email consents' }, { firstParty: false });
  ctx.first = await registerClient(ctx.server, { scope: 'openid email consents' });
});
after(async () => {
  await stopAll();
});

describe('the consents scope and claim', () => {
  test('discovery lists the scope and the claim', async () => {
    const r = await request(ctx.server, 'GET', '/.well-known/openid-configuration');
    assert.ok(r.body.scopes_supported.includes('consents'), r.text);
    assert.ok(r.body.claims_supported.includes('consents'), r.text);
  });

  test('without the scope neither userinfo nor the ID token says anything about consents (data minimisation)', async () => {
    const u = await newUser(ctx.server, 'nosc');
    const b = await signedIn(ctx.server, u);
    const t = await flowTokens(b, ctx.first, { scope: 'openid email', claims: JSON.stringify({ id_token: { consents: null }, userinfo: { consents: null } }) });
    assert.equal(t.claims().consents, undefined);
    const info = await client.fetchUserInfo(await config(ctx.first), t.access_token, t.claims().sub);
    assert.equal(info.consents, undefined);
    assert.equal(info.email, u.email);
  });

  test('with the scope userinfo carries each decision; the ID token only when the claims parameter asks', async () => {
    const u = await newUser(ctx.server, 'sc');
    const b = await signedIn(ctx.server, u);
    const plain = await flowTokens(b, ctx.third, { scope: 'openid consents' });
    assert.equal(plain.claims().consents, undefined, 'not in the ID token unless asked');
    const info = await client.fetchUserInfo(await config(ctx.third), plain.access_token, plain.claims().sub);
    assert.deepEqual(info.consents.marketing_email, { granted: false, decision: 'none', required: false, version: null, at: null });
    assert.equal(info.consents.terms, undefined, 'a required purpose without a document is not shown');

    const asked = await flowTokens(b, ctx.third, { scope: 'openid consents', claims: JSON.stringify({ id_token: { consents: { essential: false } } }) });
    assert.deepEqual(Object.keys(asked.claims().consents).sort(), ['analytics', 'marketing_email']);
  });

  test('an ID token issued on refresh (openid-client) carries the consents claim when the original request asked for it, and only then', async () => {
    const reg = await registerClient(ctx.server, { scope: 'openid consents offline_access', grant_types: ['authorization_code', 'refresh_token'] }, { firstParty: false });
    const u = await newUser(ctx.server, 'rf');
    const b = await signedIn(ctx.server, u);
    const cfg = await config(reg);
    const asked = await flowTokens(b, reg, { scope: 'openid consents offline_access', prompt: 'consent', claims: JSON.stringify({ id_token: { consents: null } }) });
    assert.ok(asked.refresh_token, 'a refresh token');
    const once = await client.refreshTokenGrant(cfg, asked.refresh_token);
    assert.deepEqual(Object.keys(once.claims().consents).sort(), ['analytics', 'marketing_email'], 'kept on refresh');
    const twice = await client.refreshTokenGrant(cfg, once.refresh_token);
    assert.ok(twice.claims().consents, 'and through every rotation');

    const plain = await flowTokens(b, reg, { scope: 'openid consents offline_access' });
    const again = await client.refreshTokenGrant(cfg, plain.refresh_token);
    assert.equal(again.claims().consents, undefined, 'not asked: not given on refresh either');
  });
});

describe('the application API', () => {
  test('reads with the scope; refuses a token without it (403 insufficient_scope) and no token (401)', async () => {
    const u = await newUser(ctx.server, 'read');
    const b = await signedIn(ctx.server, u);
    const withScope = await flowTokens(b, ctx.first, { scope: 'openid consents' });
    const r = await app('GET', withScope.access_token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.consents.marketing_email.decision, 'none');
    const without = await flowTokens(b, ctx.first, { scope: 'openid email' });
    const no = await app('GET', without.access_token);
    assert.equal(no.status, 403, no.text);
    assert.match(no.headers.get('www-authenticate'), /insufficient_scope/);
    const post = await app('POST', without.access_token, { purpose: 'marketing_email', decision: 'granted' });
    assert.equal(post.status, 403, post.text);
    assert.equal((await app('GET', 'not-a-token')).status, 401);
    assert.equal(records(u.id).length, 0, 'nothing recorded');
  });

  test('records a grant and a withdrawal (channel api, the client in the evidence); /account and the export show them', async () => {
    const u = await newUser(ctx.server, 'write');
    const b = await signedIn(ctx.server, u);
    const t = await flowTokens(b, ctx.third, { scope: 'openid consents' });
    const g = await app('POST', t.access_token, { purpose: 'marketing_email', decision: 'granted' });
    assert.equal(g.status, 200, g.text);
    assert.equal(g.body.consents.marketing_email.granted, true);
    assert.equal(g.body.consents.marketing_email.decision, 'granted');
    assert.ok(Math.abs(g.body.consents.marketing_email.at - Date.now() / 1000) < 60);
    const w = await app('POST', t.access_token, { purpose: 'marketing_email', decision: 'withdrawn' });
    assert.equal(w.status, 200, w.text);
    assert.equal(w.body.consents.marketing_email.granted, false);
    assert.deepEqual(records(u.id), [
      { purpose: 'marketing_email', decision: 'granted', channel: 'api', client_id: ctx.third.client_id, actor: u.id },
      { purpose: 'marketing_email', decision: 'withdrawn', channel: 'api', client_id: ctx.third.client_id, actor: u.id },
    ]);
    const mine = await b.raw('GET', '/api/v1/consents/purposes');
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.purposes.find((p) => p.key === 'marketing_email').decision, 'withdrawn');
    assert.deepEqual(mine.json.history.map((h) => [h.decision, h.channel, h.client_id]),
      [['granted', 'api', ctx.third.client_id], ['withdrawn', 'api', ctx.third.client_id]]);
    const ex = await b.post('/api/v1/account/export', { current_password: u.password });
    assert.equal(ex.status, 200, ex.text);
    assert.deepEqual(ex.json.consents.map((h) => [h.purpose, h.decision, h.client_id]),
      [['marketing_email', 'granted', ctx.third.client_id], ['marketing_email', 'withdrawn', ctx.third.client_id]]);
  });

  test('a required purpose, an unknown one and a bad decision are refused (400) and record nothing', async () => {
    const u = await newUser(ctx.server, 'req');
    const b = await signedIn(ctx.server, u);
    const t = await flowTokens(b, ctx.first, { scope: 'openid consents' });
    for (const body of [{ purpose: 'terms', decision: 'withdrawn' }, { purpose: 'terms', decision: 'granted' },
      { purpose: 'research', decision: 'granted' }, { purpose: 'marketing_email', decision: 'declined' }, { purpose: 'marketing_email' }]) {
      const r = await app('POST', t.access_token, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.body.error, 'invalid_request');
    }
    assert.equal(records(u.id).length, 0);
  });

  test('the customer must be present: a token from a sign-in older than 5 minutes may read, not decide (401 insufficient_user_authentication, RFC 9470)', async () => {
    const u = await newUser(ctx.server, 'old');
    const b = await signedIn(ctx.server, u);
    sqlExec(ctx.server, `UPDATE sessions SET auth_time = auth_time - 600000 WHERE user_id = '${u.id}'`);
    const t = await flowTokens(b, ctx.first, { scope: 'openid consents' });
    const r = await app('POST', t.access_token, { purpose: 'analytics', decision: 'granted' });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.body.error, 'insufficient_user_authentication');
    assert.match(r.headers.get('www-authenticate'), /error="insufficient_user_authentication".*max_age=300/);
    assert.equal((await app('GET', t.access_token)).status, 200);
    assert.equal(records(u.id).length, 0);
    // a fresh sign-in (max_age) gives a token that may decide
    const fresh = await signedIn(ctx.server, u);
    const t2 = await flowTokens(fresh, ctx.first, { scope: 'openid consents', max_age: '300' });
    const ok = await app('POST', t2.access_token, { purpose: 'analytics', decision: 'granted' });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('asking for a purpose in the authorization request', () => {
  test('an unknown or required purpose is refused with invalid_request', async () => {
    const u = await newUser(ctx.server, 'bad');
    const b = await signedIn(ctx.server, u);
    for (const purpose of ['research', 'terms', 'marketing_email Bad!']) {
      const f = await start(b, ctx.first, { scope: 'openid', purpose });
      assert.equal(f.loc.searchParams.get('error'), 'invalid_request', `${purpose}: ${f.loc.href}`);
      assert.match(f.loc.searchParams.get('error_description'), /purpose/);
    }
  });

  test('a first-party client still gets the consent page for an undecided purpose; a decline is recorded and still signs in; then no page again', async () => {
    const u = await newUser(ctx.server, 'ask');
    const b = await signedIn(ctx.server, u);
    const f = await start(b, ctx.first, { scope: 'openid', purpose: 'marketing_email analytics' });
    assert.equal(f.loc.pathname, '/consent', f.loc.href);
    const back = f.loc.searchParams.get('return_to');
    const info = await b.raw('GET', `/api/v1/consent?${new URLSearchParams({ client_id: ctx.first.client_id, scope: 'openid', purpose: 'marketing_email analytics' })}`);
    assert.equal(info.status, 200, info.text);
    assert.deepEqual(info.json.purposes.map((p) => [p.key, p.label, p.decision]),
      [['analytics', 'Measure how I use the app', 'none'], ['marketing_email', 'Send me marketing email', 'none']]);
    // only what the request asks about may be decided
    const odd = await b.post('/api/v1/consent', { client_id: ctx.first.client_id, scope: 'openid', decision: 'allow', return_to: back, purposes: { terms: true } });
    assert.equal(odd.status, 400, odd.text);
    const done = await consent(b, ctx.first, f, { purposes: { analytics: true, marketing_email: false } });
    const t = await tokens(done);
    assert.ok(t.access_token);
    assert.deepEqual(records(u.id), [
      { purpose: 'analytics', decision: 'granted', channel: 'page', client_id: ctx.first.client_id, actor: u.id },
      { purpose: 'marketing_email', decision: 'declined', channel: 'page', client_id: ctx.first.client_id, actor: u.id },
    ]);
    const again = await start(b, ctx.first, { scope: 'openid', purpose: 'marketing_email' });
    assert.ok(again.loc.searchParams.get('code'), `decided: no page again (${again.loc.href})`);
    const apps = await b.raw('GET', '/api/v1/consents');
    assert.deepEqual(apps.json.consents, [], 'a first-party client is not listed among connected apps for its purposes');
  });

  test('prompt=none does not stop at an undecided purpose (an optional purpose never blocks)', async () => {
    const u = await newUser(ctx.server, 'none');
    const b = await signedIn(ctx.server, u);
    const f = await start(b, ctx.first, { scope: 'openid', purpose: 'marketing_email', prompt: 'none' });
    assert.ok(f.loc.searchParams.get('code'), f.loc.href);
    assert.equal(records(u.id).length, 0);
  });

  test('the consent marker covers the purpose list: a marker for one list does not answer another', async () => {
    const u = await newUser(ctx.server, 'swap');
    const b = await signedIn(ctx.server, u);
    const f = await start(b, ctx.third, { scope: 'openid', purpose: 'marketing_email' });
    const back = f.loc.searchParams.get('return_to');
    const d = await b.post('/api/v1/consent', { client_id: ctx.third.client_id, scope: 'openid', decision: 'allow', return_to: back, purposes: { marketing_email: false } });
    assert.equal(d.status, 200, d.text);
    const swapped = back.replace('purpose=marketing_email', 'purpose=analytics');
    assert.notEqual(swapped, back);
    const r = await b.raw('GET', `${swapped}&gh_consent=${encodeURIComponent(d.json.marker)}`);
    assert.equal(r.status, 302, r.text);
    const loc = new URL(r.headers.get('location'), ctx.server.issuer);
    assert.equal(loc.pathname, '/consent', `the swapped list is asked again, not granted: ${loc.href}`);
    assert.equal(records(u.id).filter((x) => x.purpose === 'analytics').length, 0);
  });

  test('the OAuth consent and the purpose decisions made with it are audited under different types (oauth_consent.* vs consent.*)', async () => {
    const u = await newUser(ctx.server, 'types');
    const b = await signedIn(ctx.server, u);
    const f = await start(b, ctx.third, { scope: 'openid email', purpose: 'analytics' });
    await tokens(await consent(b, ctx.third, f, { purposes: { analytics: true } }));
    await b.session();
    const revoke = await b.raw('DELETE', `/api/v1/consents/${encodeURIComponent(ctx.third.client_id)}`, { headers: { origin: b.origin, 'x-csrf-token': b.csrf } });
    assert.ok(revoke.status < 300, revoke.text);
    const events = sql(ctx.server, `SELECT type, details FROM audit_events WHERE subject = '${u.id}' AND (type LIKE 'consent.%' OR type LIKE 'oauth_consent.%') ORDER BY seq`);
    assert.deepEqual(events.map((e) => e.type), ['consent.granted', 'oauth_consent.granted', 'oauth_consent.revoked']);
    assert.equal(JSON.parse(events[0].details).purpose, 'analytics', 'consent.* is the ledger');
    const oauth = JSON.parse(events[1].details);
    assert.equal(oauth.client_id, ctx.third.client_id);
    assert.equal(oauth.purpose, undefined, 'oauth_consent.* is the client and its scopes');
  });
});
