// Issue 16, "where a token's authority ends": scopes a client may ask for,
// protected resources (RFC 8707) and the audience of access tokens
// (RFC 9068), and who may introspect what (RFC 7662 4). Relying parties are
// openid-client and oauth4webapi; jose checks the tokens on its own.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';
import { clientAuth } from './lib/oidc.mjs';
import * as jose from 'jose';

import { startServer, stopAll, scim, userBody, randomHex, runGatehouse, sql } from './lib/server.mjs';

after(stopAll);

const REDIRECT = 'https://app.example.com/callback';
const PAYMENTS = 'https://payments.example.com/api';

/** A user agent: cookies, CSRF token, manual redirects (as in oidc.test.mjs). */
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
  }
  /** Follows redirects until one leaves the provider (or reaches /signin, /consent). */
  async authorize(url) {
    let next = new URL(url);
    for (let i = 0; i < 10; i++) {
      if (next.origin !== new URL(this.server.issuer).origin && next.origin !== this.server.url) return { url: next };
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
  return { status: res.status, body: await res.json() };
}

async function registered(server, metadata, opts) {
  const r = await register(server, metadata, opts);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** The admin API for resources; token null sends none. */
async function admin(server, method, path, body, { token } = {}) {
  const headers = {};
  const bearer = token === undefined ? server.token : token;
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}/admin/v1/resources${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, json, text };
}

function configFor(server, reg, auth) {
  return client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, auth ?? clientAuth(reg),
    { execute: [client.allowInsecureRequests] });
}

/** Starts a code flow; returns where the provider sent the agent. */
async function codeFlow(config, agent, { scope, extra = {} }) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope, state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  const out = await agent.authorize(url);
  assert.ok(out.url, `expected a redirect, got ${out.res?.status}: ${out.text}`);
  return { callback: out.url, verifier, state };
}

async function exchange(config, flow, params = {}) {
  return client.authorizationCodeGrant(config, flow.callback,
    { pkceCodeVerifier: flow.verifier, expectedState: flow.state }, params);
}

function form(server, path, fields, headers = {}) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
}

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('scopes, resources and audiences (issue 16)', () => {
  let server;
  let user;
  let jwks;
  let payments; // the resource registered through the admin API

  before(async () => {
    server = await startServer();
    jwks = jose.createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const email = `scopes-${randomHex(4)}@example.com`;
    const password = `Lighthouse-${randomHex(6)}-Meadow`;
    const r = await scim(server, 'POST', '/Users', userBody(email, { password }));
    assert.equal(r.status, 201, r.text);
    user = { email, password, id: r.body.id };
  });
  after(async () => { await server?.stop(); });

  test('SECURITY.md #40: a first-party client registered for "openid" asking "admin openid payments:write" gets invalid_scope, not a code', async () => {
    const fp = await registered(server, { client_name: 'First', redirect_uris: [REDIRECT], scope: 'openid' });
    const cfg = await configFor(server, fp);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(cfg, agent, { scope: 'admin openid payments:write' });
    assert.equal(flow.callback.origin + flow.callback.pathname, REDIRECT);
    assert.equal(flow.callback.searchParams.get('error'), 'invalid_scope');
    assert.equal(flow.callback.searchParams.get('code'), null);
    // even a scope the server knows is refused when the client did not register it
    const known = await codeFlow(cfg, agent, { scope: 'openid email' });
    assert.equal(known.callback.searchParams.get('error'), 'invalid_scope');
    // what it registered still works
    const ok = await codeFlow(cfg, agent, { scope: 'openid' });
    const t = await exchange(cfg, ok);
    assert.equal(t.scope, 'openid');
  });

  test('SECURITY.md #42: a third-party client registered for "openid email" asking "admin:all" is refused before any consent page; the consent API will not describe it', async () => {
    const third = await registered(server, { client_name: 'Partner', redirect_uris: [REDIRECT], scope: 'openid email' }, { firstParty: false });
    const cfg = await configFor(server, third);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const flow = await codeFlow(cfg, agent, { scope: 'openid admin:all' });
    assert.notEqual(flow.callback.pathname, '/consent', 'never a generic consent line');
    assert.equal(flow.callback.searchParams.get('error'), 'invalid_scope');
    const info = await agent.api('GET', `/api/v1/consent?client_id=${third.client_id}&scope=${encodeURIComponent('admin:all openid')}`);
    assert.equal(info.status, 400);
    assert.doesNotMatch(JSON.stringify(info.json), /Use \\"admin:all\\"/);
    // its own scopes are described in words
    const fine = await agent.api('GET', `/api/v1/consent?client_id=${third.client_id}&scope=${encodeURIComponent('email openid')}`);
    assert.equal(fine.status, 200);
    for (const s of fine.json.scopes) assert.notEqual(s.description, s.scope);
  });

  test('SECURITY.md #43: registration refuses a scope no resource defines', async () => {
    const r = await register(server, { redirect_uris: [REDIRECT], scope: 'openid admin:all' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_client_metadata');
  });

  test('the admin API registers a resource: admin token required, validated, unique scopes, audited; GET/PUT/DELETE', async () => {
    const doc = {
      identifier: PAYMENTS, name: 'Payments',
      scopes: { 'payments:read': 'See your payments', 'payments:write': 'Make payments for you' },
      access_token_ttl: 120,
    };
    assert.equal((await admin(server, 'POST', '', doc, { token: null })).status, 401);
    assert.equal((await admin(server, 'POST', '', doc, { token: 'wrong' })).status, 401);
    assert.equal((await admin(server, 'GET', '', undefined, { token: null })).status, 401);
    for (const bad of [
      { ...doc, identifier: 'payments' },
      { ...doc, identifier: `${PAYMENTS}#frag` },
      { ...doc, identifier: server.issuer },
      { ...doc, scopes: { 'payments:read': '' } }, // consent would have no words
      { ...doc, scopes: { openid: 'Sign in' } },
      { ...doc, scopes: { 'two words': 'x' } },
      { ...doc, access_token_format: 'opaque' },
      { ...doc, access_token_ttl: 0 },
      { ...doc, name: '' },
    ]) {
      const r = await admin(server, 'POST', '', bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)} → ${r.text}`);
    }
    const made = await admin(server, 'POST', '', doc);
    assert.equal(made.status, 201, made.text);
    payments = made.json;
    assert.equal(payments.identifier, PAYMENTS);
    assert.equal(payments.access_token_format, 'jwt');
    // a second resource may not take its identifier or one of its scopes
    assert.equal((await admin(server, 'POST', '', doc)).status, 409);
    assert.equal((await admin(server, 'POST', '', { identifier: 'https://other.example.com', name: 'Other', scopes: { 'payments:read': 'x' } })).status, 409);
    const got = await admin(server, 'GET', `/${payments.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.scopes, doc.scopes);
    const list = await admin(server, 'GET', '');
    assert.ok(list.json.resources.some((x) => x.id === payments.id));
    assert.equal((await admin(server, 'GET', '/nope')).status, 404);
    // a throwaway resource: PUT then DELETE
    const tmp = (await admin(server, 'POST', '', { identifier: 'urn:example:tmp', name: 'Tmp', scopes: { 'tmp.read': 'Read tmp' } })).json;
    const put = await admin(server, 'PUT', `/${tmp.id}`, { identifier: 'urn:example:tmp', name: 'Tmp 2', scopes: { 'tmp.read': 'Read tmp', 'tmp.write': 'Write tmp' } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.name, 'Tmp 2');
    assert.equal((await admin(server, 'DELETE', `/${tmp.id}`)).status, 204);
    assert.equal((await admin(server, 'GET', `/${tmp.id}`)).status, 404);
    const events = sql(server, "SELECT type, actor, details FROM audit_events WHERE type LIKE 'resource.%' ORDER BY seq");
    assert.deepEqual(events.map((e) => e.type), ['resource.created', 'resource.created', 'resource.updated', 'resource.deleted']);
    assert.ok(events.every((e) => e.actor === 'admin'));
    const last = typeof events[3].details === 'string' ? JSON.parse(events[3].details) : events[3].details;
    assert.equal(last.identifier, 'urn:example:tmp');
  });

  test('`gatehouse resource` creates, lists, shows and deletes; bad input exits 2 and changes nothing', async () => {
    const cli = (args) => runGatehouse(['resource', ...args], { env: server.env });
    const help = await runGatehouse(['help', 'resource']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /resource create/);
    const made = await cli(['create', '--identifier', 'https://inventory.example.com', '--name', 'Inventory',
      '--scope', 'inventory.read=See the stock', '--access-token-ttl', '60']);
    assert.equal(made.code, 0, made.stderr);
    const res = JSON.parse(made.stdout);
    assert.equal(res.identifier, 'https://inventory.example.com');
    assert.deepEqual(res.scopes, { 'inventory.read': 'See the stock' });
    const bad = await cli(['create', '--identifier', 'not a uri', '--name', 'X', '--scope', 'x.read=X']);
    assert.equal(bad.code, 2);
    const noWords = await cli(['create', '--identifier', 'https://x.example.com', '--name', 'X', '--scope', 'x.read']);
    assert.equal(noWords.code, 2);
    const list = await cli(['list']);
    assert.equal(list.code, 0, list.stderr);
    const all = JSON.parse(list.stdout);
    assert.ok(all.some((x) => x.id === res.id));
    assert.ok(!all.some((x) => x.identifier === 'https://x.example.com'));
    const show = await cli(['show', res.id]);
    assert.equal(JSON.parse(show.stdout).name, 'Inventory');
    // the server sees it (its snapshot lives at most a second)
    await new Promise((r) => setTimeout(r, 1100));
    const svc = await registered(server, { client_name: 'Stock', grant_types: ['client_credentials'], scope: 'inventory.read' });
    const t = await client.clientCredentialsGrant(await configFor(server, svc), { scope: 'inventory.read' });
    const { payload } = await jose.jwtVerify(t.access_token, jwks, { issuer: server.issuer, audience: 'https://inventory.example.com', typ: 'at+jwt' });
    assert.equal(payload.exp - payload.iat, 60);
    // `gatehouse client create` holds a client to the same rule as /register
    const unknownScope = await runGatehouse(['client', 'create', '--name', 'X', '--grant', 'client_credentials', '--scope', 'admin:all'], { env: server.env });
    assert.equal(unknownScope.code, 2, unknownScope.stderr);
    assert.match(unknownScope.stderr, /does not know/);
    const knownScope = await runGatehouse(['client', 'create', '--name', 'X', '--grant', 'client_credentials', '--scope', 'inventory.read'], { env: server.env });
    assert.equal(knownScope.code, 0, knownScope.stderr);
    const del = await cli(['delete', res.id]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await cli(['show', res.id])).code, 1);
    assert.ok(sql(server, "SELECT type FROM audit_events WHERE actor = 'cli' AND type LIKE 'resource.%'").length >= 2);
  });

  test('a token for a resource (RFC 8707, RFC 9068): consent in the operator\'s words, aud = identifier, typ at+jwt, client_id, scope, the resource\'s lifetime; userinfo refuses it', async () => {
    assert.ok(payments, 'needs the resource of the admin API test');
    const third = await registered(server, {
      client_name: 'Wallet', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid offline_access payments:read payments:write',
    }, { firstParty: false });
    const cfg = await configFor(server, third);
    const agent = new Agent(server);
    await agent.signIn(user.email, user.password);
    const scope = 'openid offline_access payments:read payments:write';

    const unknown = await codeFlow(cfg, agent, { scope, extra: { resource: 'https://unknown.example.com' } });
    assert.equal(unknown.callback.searchParams.get('error'), 'invalid_target');

    const first = await codeFlow(cfg, agent, { scope, extra: { resource: PAYMENTS } });
    assert.equal(first.callback.pathname, '/consent');
    const back = first.callback.searchParams.get('return_to');
    const info = await agent.api('GET', `/api/v1/consent?client_id=${third.client_id}&scope=${encodeURIComponent(scope)}`);
    assert.equal(info.status, 200, JSON.stringify(info.json));
    const words = Object.fromEntries(info.json.scopes.map((s) => [s.scope, s.description]));
    assert.equal(words['payments:write'], 'Make payments for you');
    assert.equal(words['payments:read'], 'See your payments');
    const d = await agent.api('POST', '/api/v1/consent', { client_id: third.client_id, scope, decision: 'allow', return_to: back });
    assert.equal(d.status, 200, JSON.stringify(d.json));
    const done = await agent.authorize(new URL(`${back}&gh_consent=${encodeURIComponent(d.json.marker)}`, server.issuer));
    const code = done.url;
    assert.ok(code.searchParams.get('code'));

    const t = await exchange(cfg, { callback: code, verifier: first.verifier, state: first.state }, { resource: PAYMENTS });
    const { payload, protectedHeader } = await jose.jwtVerify(t.access_token, jwks, { issuer: server.issuer, audience: PAYMENTS, typ: 'at+jwt' });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.aud, PAYMENTS);
    assert.equal(payload.client_id, third.client_id);
    assert.equal(payload.sub, user.id);
    assert.equal(payload.scope, 'offline_access openid payments:read payments:write');
    assert.equal(payload.exp - payload.iat, 120);
    assert.equal(t.expires_in, 120);
    assert.ok(t.id_token);
    const ui = await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
    assert.equal(ui.status, 401, 'a token for the payments API is not one for userinfo');

    // refresh: keeps the resource; may narrow, never widen
    const r1 = await client.refreshTokenGrant(cfg, t.refresh_token);
    const p1 = jose.decodeJwt(r1.access_token);
    assert.equal(p1.aud, PAYMENTS);
    assert.equal(p1.scope, 'offline_access openid payments:read payments:write');
    await assert.rejects(client.refreshTokenGrant(cfg, r1.refresh_token, { scope: 'openid payments:read email' }),
      (e) => e.error === 'invalid_scope');
    const r2 = await client.refreshTokenGrant(cfg, r1.refresh_token, { scope: 'openid payments:read' });
    assert.equal(jose.decodeJwt(r2.access_token).aud, PAYMENTS);
    assert.equal(jose.decodeJwt(r2.access_token).scope, 'openid payments:read');
    await assert.rejects(client.refreshTokenGrant(cfg, r2.refresh_token, { scope: 'openid', resource: 'https://unknown.example.com' }),
      (e) => e.error === 'invalid_target');
    // narrowed to OIDC scopes, the token is the issuer's again and userinfo takes it
    const r3 = await client.refreshTokenGrant(cfg, r2.refresh_token, { scope: 'openid' });
    assert.equal(jose.decodeJwt(r3.access_token).aud, server.issuer);
    const ui2 = await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${r3.access_token}` } });
    assert.equal(ui2.status, 200);
  });

  test('client_credentials: only registered resource scopes, never OIDC ones; an unknown resource → invalid_target', async () => {
    assert.ok(payments);
    const svc = await registered(server, { client_name: 'Batch', grant_types: ['client_credentials'], scope: 'payments:read' });
    const auth = { authorization: basic(svc.client_id, svc.client_secret) };
    const ask = async (fields) => {
      const res = await form(server, '/token', { grant_type: 'client_credentials', ...fields }, auth);
      return { status: res.status, body: await res.json() };
    };
    const ok = await ask({ scope: 'payments:read', resource: PAYMENTS });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(jose.decodeJwt(ok.body.access_token).aud, PAYMENTS);
    for (const [fields, error] of [
      [{ scope: 'payments:write' }, 'invalid_scope'],
      [{ scope: 'email' }, 'invalid_scope'],
      [{ scope: 'admin' }, 'invalid_scope'],
      [{ scope: 'payments:read', resource: 'https://unknown.example.com' }, 'invalid_target'],
    ]) {
      const r = await ask(fields);
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.equal(r.body.error, error, JSON.stringify(fields));
    }
  });

  test('SECURITY.md #44, RFC 7662 4: introspection refuses `none`; a client sees only its own tokens unless it is the resource server of their audience', async () => {
    const LEDGER = 'https://ledger.example.com';
    const made = await admin(server, 'POST', '', { identifier: LEDGER, name: 'Ledger', scopes: { 'ledger.read': 'See your ledger' } });
    assert.equal(made.status, 201, made.text);
    const pub = await registered(server, { client_name: 'SPA', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
    const owner = await registered(server, { client_name: 'Owner', grant_types: ['client_credentials'], scope: 'ledger.read' });
    const other = await registered(server, { client_name: 'Nosy', grant_types: ['client_credentials'], scope: 'ledger.read' });
    const api = await registered(server, { client_name: 'Payments API', grant_types: ['client_credentials'], scope: 'ledger.read' });
    const put = await admin(server, 'PUT', `/${made.json.id}`, {
      identifier: LEDGER, name: 'Ledger', introspection_clients: [api.client_id], scopes: { 'ledger.read': 'See your ledger' },
    });
    assert.equal(put.status, 200, put.text);
    const tok = await form(server, '/token', { grant_type: 'client_credentials', scope: 'ledger.read' },
      { authorization: basic(owner.client_id, owner.client_secret) });
    const at = (await tok.json()).access_token;
    const introspect = async (fields, headers) => {
      const res = await form(server, '/introspect', { token: at, ...fields }, headers);
      return { status: res.status, body: await res.json() };
    };

    const none = await introspect({ client_id: pub.client_id });
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'invalid_client');
    assert.ok(!('sub' in none.body));
    const disc = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
    assert.ok(!disc.introspection_endpoint_auth_methods_supported.includes('none'));

    const nosy = await introspect({}, { authorization: basic(other.client_id, other.client_secret) });
    assert.equal(nosy.status, 200);
    assert.deepEqual(nosy.body, { active: false });

    const own = await introspect({}, { authorization: basic(owner.client_id, owner.client_secret) });
    assert.equal(own.body.active, true);
    assert.equal(own.body.aud, LEDGER);

    const rs = await introspect({}, { authorization: basic(api.client_id, api.client_secret) });
    assert.equal(rs.body.active, true);
    assert.equal(rs.body.client_id, owner.client_id);
    assert.equal(rs.body.scope, 'ledger.read');
  });
});
