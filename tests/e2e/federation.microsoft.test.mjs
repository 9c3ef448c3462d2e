// Microsoft's multi-tenant endpoints (issue 21 part 4, docs/federation.md
// "Microsoft"): the discovery document of .../common/v2.0 names the issuer
// https://login.microsoftonline.com/{tenantid}/v2.0, a template, and each ID
// token names its own tenant's issuer and carries that tenant's id in tid.
//
// The upstream is a REAL node oidc-provider whose issuer is one tenant's,
// {base}/{TID}/v2.0 (mounted at that path, as Entra ID's per-tenant issuer
// is), with tid in its ID tokens; a small proxy in front serves
// {base}/common/v2.0/.well-known/openid-configuration as Microsoft does:
// the tenant's discovery document with its issuer rewritten to the
// {tenantid} template. The code flow, the keys and the ID tokens are
// oidc-provider's own; only the discovery's issuer is rewritten. One tenant
// signs in (Entra ID's tokens for two tenants would come from two issuers
// with the same shape); a token whose tid names another tenant than its iss
// is refused, which is the check that matters.
// A microsoft provider's allowed_tenant_ids narrows the multi-tenant
// endpoint to the tenants it names: a token from any other tid is refused
// before anything is provisioned or signed in (docs/federation.md
// "Microsoft").
// SECURITY.md ids cited: #46 (federated users keyed by provider and sub).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { startOidcUpstream, Agent, adminApi } from './lib/upstream.mjs';

const ctx = {};
const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TID = '9188040d-6c67-4c5b-b112-36a304b66dad';
const SECRET = `ms-secret-${randomHex(8)}`;

const admin = (method, path, body) => adminApi(ctx.server, method, `/identity-providers${path}`, body);

before(async () => {
  ctx.server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32', GATEHOUSE_FEDERATION_TIMEOUT_MS: '3000' } });
  const client = (id) => ({
    client_id: 'ms-app', client_secret: SECRET, redirect_uris: [`${ctx.server.issuer}/federation/${id}/callback`],
    token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], response_types: ['code'],
  });
  ctx.discoveries = 0;
  ctx.up = await startOidcUpstream({
    clients: [{ ...client('ms'), redirect_uris: ['ms', 'ms-generic'].map((id) => `${ctx.server.issuer}/federation/${id}/callback`) }],
    path: `/${TID}/v2.0`,
    scopeClaims: { openid: ['sub', 'tid'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
    front: {
      async request(req, url) {
        if (url.pathname !== '/common/v2.0/.well-known/openid-configuration') return undefined;
        ctx.discoveries++;
        const doc = await (await fetch(`${ctx.up.issuer}/.well-known/openid-configuration`)).json();
        return { status: 200, json: { ...doc, issuer: `${ctx.up.base}/{tenantid}/v2.0` } };
      },
    },
  });
  const common = `${ctx.up.base}/common/v2.0`;
  assert.equal((await admin('POST', '', { id: 'ms', display_name: 'Microsoft', preset: 'microsoft', issuer: common, client_id: 'ms-app', client_secret: SECRET })).status, 201);
  // the same endpoint as a generic OIDC provider: its template issuer is not accepted
  assert.equal((await admin('POST', '', { id: 'ms-generic', display_name: 'Generic', issuer: common, client_id: 'ms-app', client_secret: SECRET })).status, 201);
});

after(async () => {
  if (process.env.FED_DEBUG) console.error(ctx.server.logs().slice(-30).join('\n'));
  await stopAll();
  await ctx.up?.close();
});

const signIn = (agent, id, login) => agent.follow(`${ctx.server.url}/federation/${id}/start?return_to=%2Faccount`, {
  login, until: (u) => u.port === String(ctx.server.port) && !u.pathname.startsWith('/federation/'),
});

describe('microsoft common endpoint: the {tenantid} issuer template', () => {
  test("an ID token whose iss is the template filled with its own tid signs in; the tid is kept with the identity", async () => {
    const login = `ms-${randomHex(4)}`;
    ctx.up.accounts.set(login, { tid: TID, email: `${login}@contoso.test`, email_verified: true, name: 'Megan Bowen' });
    const agent = new Agent(ctx.server);
    const out = await signIn(agent, 'ms', login);
    assert.equal(out.url.pathname, '/account', out.text);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, true);
    assert.ok(ctx.discoveries >= 1, 'the common discovery (with the template) was read');
    const rows = sql(ctx.server, `SELECT provider_id, subject, upstream_tid FROM fed_identities WHERE subject = '${login}'`);
    assert.deepEqual(rows, [{ provider_id: 'ms', subject: login, upstream_tid: TID }]);
    const exported = await agent.api('POST', '/api/v1/account/export', {});
    assert.equal(exported.status, 200, exported.text);
    assert.equal(exported.json.linked_identities[0].upstream_tid, TID, 'the data export says which tenant');
    // Microsoft's email_verified is not trusted by default (nOAuth)
    assert.equal(Number(sql(ctx.server, `SELECT email_verified FROM users WHERE email = '${login}@contoso.test'`)[0].email_verified), 0);
  });

  test('a token whose tid names another tenant than its iss is refused', async () => {
    const login = `ms-x-${randomHex(4)}`;
    ctx.up.accounts.set(login, { tid: OTHER_TID, email: `${login}@contoso.test`, email_verified: true });
    const agent = new Agent(ctx.server);
    const out = await signIn(agent, 'ms', login);
    assert.equal(out.res.status, 502, out.text);
    assert.match(out.text, /issuer \(iss\) is not the provider/);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
    assert.deepEqual(sql(ctx.server, `SELECT subject FROM fed_identities WHERE subject = '${login}'`), []);
  });

  test('a tid that is not a tenant id (it would reshape the URL), or none, is refused', async () => {
    for (const tid of [`${TID}/../${TID}`, undefined]) {
      const login = `ms-t-${randomHex(4)}`;
      ctx.up.accounts.set(login, { ...(tid ? { tid } : {}), email: `${login}@contoso.test`, email_verified: true });
      const out = await signIn(new Agent(ctx.server), 'ms', login);
      assert.equal(out.res.status, 502, `${tid}: ${out.text}`);
      assert.match(out.text, /issuer \(iss\) is not the provider/);
    }
  });

  test('only the microsoft preset reads the template: a generic provider at the same endpoint is refused at discovery', async () => {
    const out = await new Agent(ctx.server).follow(`${ctx.server.url}/federation/ms-generic/start`);
    assert.equal(out.res.status, 502, out.text);
    assert.match(out.text, /describes itself as another issuer/);
  });
});

describe('microsoft allowed_tenant_ids: only the tenants named may sign in', () => {
  const patch = (body) => admin('PATCH', '/ms', body);
  const audits = () => sql(ctx.server, "SELECT outcome, reason FROM audit_events WHERE type = 'federation.failed'");
  after(async () => { await patch({ allowed_tenant_ids: null }); });

  test('bad lists are refused with 400 naming the member; a good one is returned by GET', async () => {
    const bad = [[], 'x', [1], [''], ['a/b'], ['a?b'], [`${'a'.repeat(65)}`], [TID, TID.toUpperCase()],
      Array.from({ length: 101 }, (_, i) => `t${i}`)];
    for (const list of bad) {
      const res = await patch({ allowed_tenant_ids: list });
      assert.equal(res.status, 400, `${JSON.stringify(list)}: ${res.text}`);
      assert.match(res.text, /allowed_tenant_ids/);
    }
    const other = await admin('PATCH', '/ms-generic', { allowed_tenant_ids: [TID] });
    assert.equal(other.status, 400, other.text);
    assert.match(other.text, /allowed_tenant_ids is for the microsoft preset only/);
    assert.equal((await admin('GET', '/ms')).json.allowed_tenant_ids, null, 'unset by default');
    const hundred = Array.from({ length: 100 }, (_, i) => `t${i}`);
    assert.equal((await patch({ allowed_tenant_ids: hundred })).status, 200);
    const got = await admin('GET', '/ms');
    assert.deepEqual(got.json.allowed_tenant_ids, hundred);
    assert.ok(!('allowed_tenant_ids' in got.json.mapping), 'the mapping shows mapped attributes only');
    assert.equal((await patch({ allowed_tenant_ids: null })).status, 200);
    assert.equal((await admin('GET', '/ms')).json.allowed_tenant_ids, null);
  });

  test("a list naming another tenant refuses the upstream's sign-in: nothing is provisioned, a linked identity is not signed in, the refusal is audited", async () => {
    const linked = `ms-l-${randomHex(4)}`;
    ctx.up.accounts.set(linked, { tid: TID, email: `${linked}@contoso.test`, email_verified: true });
    assert.equal((await signIn(new Agent(ctx.server), 'ms', linked)).url.pathname, '/account', 'signs in while no list is set');
    const set = await patch({ allowed_tenant_ids: [OTHER_TID] });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.json.allowed_tenant_ids, [OTHER_TID]);
    const before = audits().length;
    const fresh = `ms-n-${randomHex(4)}`;
    ctx.up.accounts.set(fresh, { tid: TID, email: `${fresh}@contoso.test`, email_verified: true });
    for (const login of [fresh, linked]) {
      const agent = new Agent(ctx.server);
      const out = await signIn(agent, 'ms', login);
      assert.equal(out.res.status, 403, `${login}: a refusal, not an upstream failure: ${out.text}`);
      assert.match(out.text, /Microsoft tenant is not allowed to sign in here/);
      assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
    }
    assert.deepEqual(sql(ctx.server, `SELECT id FROM users WHERE email = '${fresh}@contoso.test'`), [], 'no account created');
    assert.deepEqual(sql(ctx.server, `SELECT subject FROM fed_identities WHERE subject = '${fresh}'`), [], 'nothing linked');
    const refused = audits().slice(before);
    assert.equal(refused.length, 2);
    for (const e of refused) {
      assert.equal(e.outcome, 'failure');
      assert.match(e.reason, /tenant is not allowed/);
    }
  });

  test("a list naming the upstream's tenant (in any case) lets it sign in", async () => {
    assert.equal((await patch({ allowed_tenant_ids: [OTHER_TID, TID.toUpperCase()] })).status, 200);
    const login = `ms-a-${randomHex(4)}`;
    ctx.up.accounts.set(login, { tid: TID, email: `${login}@contoso.test`, email_verified: true });
    const agent = new Agent(ctx.server);
    const out = await signIn(agent, 'ms', login);
    assert.equal(out.url.pathname, '/account', out.text);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, true);
    assert.deepEqual(sql(ctx.server, `SELECT upstream_tid FROM fed_identities WHERE subject = '${login}'`), [{ upstream_tid: TID }]);
  });
});
