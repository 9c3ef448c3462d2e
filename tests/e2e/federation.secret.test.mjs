// ID tokens signed with the client secret (HS256, OIDC Core 10.1) and
// client_secret_basic at the token endpoint (issue 21 part 4,
// docs/federation.md "Client authentication and HS256"), against a REAL
// upstream: node oidc-provider configured to take only client_secret_basic
// (its discovery says so) and to sign its ID tokens for our client with
// HS256 under the client secret. A small proxy in front only watches the
// token requests and answers, and for the refusals bends them: it lets a
// client without the right secret through (as a lax upstream would) or
// turns the ID token into an unsigned one (alg none).
// SECURITY.md ids cited: #46 (federated users keyed by provider and sub).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { startOidcUpstream, Agent, adminApi } from './lib/upstream.mjs';

const ctx = {};
const SECRET = `hs-${randomHex(24)}`; // 51 bytes: at least 32 for HS256 (RFC 7518 3.2)
const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

const admin = (method, path, body) => adminApi(ctx.server, method, `/identity-providers${path}`, body);

/** What the proxies saw of token requests, and how to bend the next. */
const seen = { requests: [], algs: [], bend: {} };
const front = {
  request(req, url, body) {
    if (url.pathname !== '/token') return undefined;
    const form = new URLSearchParams(body);
    seen.requests.push({ authorization: req.headers.authorization ?? null, secretInBody: form.has('client_secret'), clientIdInBody: form.has('client_id') });
    // a lax upstream: the client is let in whatever secret it sent
    if (seen.bend.letIn) {
      req.headers.authorization = basic('hs-app', SECRET);
      form.delete('client_secret');
      form.delete('client_id');
      return { body: form.toString() };
    }
    return undefined;
  },
  json(url, doc) {
    if (url.pathname !== '/token' || !doc.id_token) return doc;
    const [h, p] = doc.id_token.split('.');
    seen.algs.push(JSON.parse(Buffer.from(h, 'base64url')).alg);
    if (seen.bend.unsigned) doc.id_token = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.`;
    return doc;
  },
};

before(async () => {
  ctx.server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32', GATEHOUSE_FEDERATION_TIMEOUT_MS: '3000' } });
  const cb = (id) => `${ctx.server.issuer}/federation/${id}/callback`;
  ctx.hs = await startOidcUpstream({
    clients: [{
      client_id: 'hs-app', client_secret: SECRET, redirect_uris: ['hs', 'hs-nosecret', 'hs-wrong'].map(cb),
      token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'HS256',
      grant_types: ['authorization_code'], response_types: ['code'],
    }],
    config: { clientAuthMethods: ['client_secret_basic'], enabledJWA: { idTokenSigningAlgValues: ['RS256', 'HS256'] } },
    front,
  });
  // an upstream that takes both: Gatehouse keeps client_secret_post there
  ctx.both = await startOidcUpstream({
    clients: [{
      client_id: 'both-app', client_secret: SECRET, redirect_uris: [cb('both')],
      token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], response_types: ['code'],
    }],
    front,
  });
  for (const p of [
    { id: 'hs', display_name: 'HS ID', issuer: ctx.hs.issuer, client_id: 'hs-app', client_secret: SECRET },
    { id: 'hs-nosecret', display_name: 'HS without secret', issuer: ctx.hs.issuer, client_id: 'hs-app' },
    { id: 'hs-wrong', display_name: 'HS wrong secret', issuer: ctx.hs.issuer, client_id: 'hs-app', client_secret: `other-${randomHex(24)}` },
    { id: 'both', display_name: 'Both ID', issuer: ctx.both.issuer, client_id: 'both-app', client_secret: SECRET },
  ]) {
    const r = await admin('POST', '', p);
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  if (process.env.FED_DEBUG) console.error(ctx.server.logs().slice(-30).join('\n'));
  await stopAll();
  await ctx.hs?.close();
  await ctx.both?.close();
});

const signIn = (agent, id, login) => agent.follow(`${ctx.server.url}/federation/${id}/start?return_to=%2Faccount`, {
  login, until: (u) => u.port === String(ctx.server.port) && !u.pathname.startsWith('/federation/'),
});

async function refused(id, bend) {
  const login = `${id}-${randomHex(4)}`;
  seen.bend = bend;
  const agent = new Agent(ctx.server);
  const out = await signIn(agent, id, login);
  seen.bend = {};
  assert.equal(out.res.status, 502, out.text);
  assert.match(out.text, /the ID token(&#39;|')s signature does not verify/);
  assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
  assert.deepEqual(sql(ctx.server, `SELECT subject FROM fed_identities WHERE subject = '${login}'`), []);
}

describe('client_secret_basic and HS256 ID tokens', () => {
  test('an upstream that takes only client_secret_basic gets it, and its HS256 ID token signed with our secret signs in', async () => {
    const login = `hs-${randomHex(4)}`;
    const agent = new Agent(ctx.server);
    const out = await signIn(agent, 'hs', login);
    assert.equal(out.url.pathname, '/account', out.text);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, true);
    const req = seen.requests.at(-1);
    assert.equal(req.authorization, basic('hs-app', SECRET), 'client_secret_basic');
    assert.equal(req.secretInBody, false, 'the secret is not also in the body');
    assert.equal(seen.algs.at(-1), 'HS256', 'the upstream signed the ID token with the client secret');
    assert.deepEqual(sql(ctx.server, `SELECT provider_id FROM fed_identities WHERE subject = '${login}'`), [{ provider_id: 'hs' }]);
  });

  test('an upstream that takes client_secret_post too still gets client_secret_post', async () => {
    const out = await signIn(new Agent(ctx.server), 'both', `both-${randomHex(4)}`);
    assert.equal(out.url.pathname, '/account', out.text);
    const req = seen.requests.at(-1);
    assert.equal(req.authorization, null);
    assert.equal(req.secretInBody, true);
    assert.equal(seen.algs.at(-1), 'RS256');
  });

  test('an HS256 ID token for a provider configured without a client secret is refused', async () => {
    await refused('hs-nosecret', { letIn: true });
  });

  test('an HS256 ID token signed with another secret than ours is refused', async () => {
    await refused('hs-wrong', { letIn: true });
  });

  test('an unsigned ID token (alg none) is refused, even from a provider with a secret', async () => {
    const login = `none-${randomHex(4)}`;
    seen.bend = { unsigned: true };
    const agent = new Agent(ctx.server);
    const out = await signIn(agent, 'hs', login);
    seen.bend = {};
    assert.equal(out.res.status, 502, out.text);
    assert.match(out.text, /no usable ID token/);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
  });
});
