// Tenants (docs/tenants.md): created through the admin API and the CLI,
// each an isolated identity space with its own issuer, keys, clients,
// users, sessions, tokens and SCIM tokens. Isolation is tested with real
// credentials of one tenant presented to another, on SQLite and PostgreSQL.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import * as jose from 'jose';

import { startServer, stopAll, scim, request, runGatehouse, randomHex, userBody, sql, waitFor } from './lib/server.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient, codeTokens, refresh, tokenRequest, basic } from './lib/oidc.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { SoftAuthenticator } from './lib/webauthn.mjs';
import { addPasskey } from './lib/factors.mjs';
import { tenantView, admin, createTenant } from './lib/tenants.mjs';

after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const ctx = {};

/** A GET with a chosen Host header (fetch does not let one set it). */
function getWithHost(server, host, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, headers: { host } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => { text += d; }).on('end', () => {
        let body = null;
        try { body = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body, text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_PRUNE_INTERVAL: '1' } });
});

describe('the tenants admin API', () => {
  test('POST /admin/v1/tenants: 201 with the tenant and its issuer, 409 for an id in use, 400 for bad input', async () => {
    const s = ctx.server;
    const id = `acme-${randomHex(3)}`;
    const t = await createTenant(s, id);
    assert.equal(t.id, id);
    assert.equal(t.display_name, `Tenant ${id}`);
    assert.equal(t.status, 'active');
    assert.equal(t.issuer, `${s.issuer}/t/${id}`);
    assert.deepEqual(t.policy.signin_methods, ['password', 'email_code', 'passkey', 'federation']);

    const again = await admin(s, 'POST', '/admin/v1/tenants', { id, display_name: 'Other' });
    assert.equal(again.status, 409, again.text);
    assert.equal((await admin(s, 'POST', '/admin/v1/tenants', { id: 'default', display_name: 'X' })).status, 409);

    for (const bad of [
      { id: 'Upper', display_name: 'x' }, { id: '-dash', display_name: 'x' }, { id: 'a/b', display_name: 'x' },
      { id: 'other', display_name: 'x' }, // reserved: /metrics's overflow series (docs/metrics.md)
      { id: `ok-${randomHex(2)}`, display_name: '' }, { id: `ok-${randomHex(2)}` },
      { id: `ok-${randomHex(2)}`, display_name: 'x', colour: 'red' },
      { id: `ok-${randomHex(2)}`, display_name: 'x', policy: { signin_methods: ['telepathy'] } },
      { id: `ok-${randomHex(2)}`, display_name: 'x', policy: { password_min_length: 4 } },
      { id: `ok-${randomHex(2)}`, display_name: 'x', host: 'not a host' },
    ]) {
      const r = await admin(s, 'POST', '/admin/v1/tenants', bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
      assert.equal(r.body.error, 'invalid_request');
    }
    const list = await admin(s, 'GET', '/admin/v1/tenants');
    assert.equal(list.status, 200);
    assert.ok(list.body.tenants.some((x) => x.id === id));
    assert.ok(!list.body.tenants.some((x) => x.id.startsWith('ok-')), 'nothing of a refused request was stored');

    // only the admin token; and only at the server's own address
    assert.equal((await request(s, 'POST', '/admin/v1/tenants', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'x1', display_name: 'x' }) })).status, 401);
    assert.equal((await request(s, 'GET', '/admin/v1/tenants', { headers: { authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await admin(s, 'GET', `/t/${id}/admin/v1/tenants`)).status, 404);
  });

  test('the default tenant keeps GATEHOUSE_ISSUER byte for byte; a tenant has its own discovery and JWKS', async () => {
    const s = ctx.server;
    const id = `disc-${randomHex(3)}`;
    await createTenant(s, id);
    const root = await request(s, 'GET', '/.well-known/openid-configuration');
    assert.equal(root.body.issuer, s.issuer);
    const d = await request(s, 'GET', `/t/${id}/.well-known/openid-configuration`);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.issuer, `${s.issuer}/t/${id}`);
    for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'registration_endpoint']) {
      assert.ok(d.body[k].startsWith(`${s.issuer}/t/${id}/`), `${k}: ${d.body[k]}`);
    }
    const rootKids = (await request(s, 'GET', '/jwks')).body.keys.map((k) => k.kid);
    const kids = (await request(s, 'GET', `/t/${id}/jwks`)).body.keys.map((k) => k.kid);
    assert.deepEqual(new Set((await request(s, 'GET', `/t/${id}/jwks`)).body.keys.map((k) => k.alg)), new Set(['ES256', 'RS256']));
    assert.equal(kids.filter((k) => rootKids.includes(k)).length, 0, 'no key is shared with the default tenant');
    // unknown and default ids are not tenants by path
    assert.equal((await request(s, 'GET', `/t/nope-${randomHex(3)}/jwks`)).status, 404);
    assert.equal((await request(s, 'GET', '/t/default/jwks')).status, 404);
    assert.equal((await request(s, 'GET', '/t/BAD/jwks')).status, 404);
  });

  test('disable answers 404 for the tenant until enabled; delete answers 404 and the id is never given again', async () => {
    const s = ctx.server;
    const id = `life-${randomHex(3)}`;
    await createTenant(s, id);
    const disc = `/t/${id}/.well-known/openid-configuration`;
    assert.equal((await request(s, 'GET', disc)).status, 200);
    const off = await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { status: 'disabled' });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body.status, 'disabled');
    assert.equal((await request(s, 'GET', disc)).status, 404);
    assert.equal((await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { status: 'active' })).status, 200);
    assert.equal((await request(s, 'GET', disc)).status, 200);
    assert.equal((await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { status: 'gone' })).status, 400);
    assert.equal((await admin(s, 'PATCH', '/admin/v1/tenants/default', { status: 'disabled' })).status, 409);
    assert.equal((await admin(s, 'DELETE', '/admin/v1/tenants/default')).status, 409);

    assert.equal((await admin(s, 'DELETE', `/admin/v1/tenants/${id}`)).status, 204);
    assert.equal((await request(s, 'GET', disc)).status, 404);
    assert.equal((await admin(s, 'GET', `/admin/v1/tenants/${id}`)).status, 404);
    assert.equal((await admin(s, 'POST', '/admin/v1/tenants', { id, display_name: 'Again' })).status, 409);
  });

  test('a tenant that claims a host is reached by it, with that host as its issuer', async () => {
    const s = ctx.server;
    const id = `host-${randomHex(3)}`;
    const host = `${id}.example.test:${s.port}`;
    await createTenant(s, id, { host });
    const taken = await admin(s, 'POST', '/admin/v1/tenants', { id: `${id}-b`, display_name: 'B', host });
    assert.equal(taken.status, 409, 'one host, one tenant');
    const d = await getWithHost(s, host, '/.well-known/openid-configuration');
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.issuer, `http://${host}`);
    const other = await getWithHost(s, `elsewhere.example.test:${s.port}`, '/.well-known/openid-configuration');
    assert.equal(other.body.issuer, s.issuer, 'an unclaimed host is the default tenant');
    const off = await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { host: null });
    assert.equal(off.status, 200, off.text);
    const after = await getWithHost(s, host, '/.well-known/openid-configuration');
    assert.equal(after.body.issuer, s.issuer, 'a released host is the default tenant again');
  });
});

test('a deleted tenant\'s accounts are purged by the janitor; their audit events stay under a pseudonym', async () => {
  const s = ctx.server;
  const id = `gone-${randomHex(3)}`;
  await createTenant(s, id);
  const T = tenantView(s, id);
  const user = await newUser(T, 'gone');
  const count = () => Number(sql(s, `SELECT COUNT(*) AS n FROM users WHERE tenant_id = '${id}'`)[0].n);
  assert.equal(count(), 1);
  assert.equal((await admin(s, 'DELETE', `/admin/v1/tenants/${id}`)).status, 204);
  assert.equal(Number(sql(s, `SELECT COUNT(*) AS n FROM signing_keys WHERE tenant_id = '${id}'`)[0].n), 0, 'keys go at once');
  assert.ok(await waitFor(() => count() === 0, 10_000, 200), 'the janitor purges the accounts');
  const ev = sql(s, `SELECT type, subject FROM audit_events WHERE tenant_id = '${id}' ORDER BY seq`);
  assert.ok(ev.some((e) => e.type === 'tenant.deleted'));
  assert.ok(ev.some((e) => e.type === 'account.purged' && e.subject.startsWith('pseud:')), JSON.stringify(ev));
  assert.ok(!ev.some((e) => e.subject === user.id), 'no event names the account any more');
});

describe('isolation between tenants', () => {
  before(async () => {
    const s = ctx.server;
    ctx.a = `iso-a-${randomHex(3)}`;
    ctx.b = `iso-b-${randomHex(3)}`;
    await createTenant(s, ctx.a);
    await createTenant(s, ctx.b);
    ctx.A = tenantView(s, ctx.a);
    ctx.B = tenantView(s, ctx.b);
  });

  test('users, sessions, clients, codes, access and refresh tokens of tenant A are refused in tenant B and the default tenant', async () => {
    const { A, B, server: s } = ctx;
    const user = await newUser(A, 'iso');
    // the same email is a different account (or none) elsewhere
    const inB = await new Browser(B).post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(inB.status, 401, inB.text);
    const inRoot = await new Browser(s).post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(inRoot.status, 401, inRoot.text);
    assert.equal((await scim(B, 'GET', `/Users/${user.id}`)).status, 404, 'B does not see A\'s user');
    assert.equal((await scim(s, 'GET', `/Users/${user.id}`)).status, 404);

    const b = await signedIn(A, user);
    const me = await b.raw('GET', '/api/v1/session');
    assert.equal(me.json.user.id, user.id);
    const cookieName = [...b.jar.keys()].find((k) => k.startsWith('gh_session'));
    assert.equal(cookieName, `gh_session.${ctx.a}`, 'the tenant\'s own cookie name');
    // a copy of A's session cookie, presented to B under B's cookie name and
    // to the default tenant under its own, is no session there
    const stolen = b.jar.get(cookieName);
    const inBSession = new Browser(B);
    inBSession.jar.set(`gh_session.${ctx.b}`, stolen);
    assert.equal((await inBSession.raw('GET', '/api/v1/session')).json.authenticated, false);
    const inRootSession = new Browser(s);
    inRootSession.jar.set('gh_session', stolen);
    assert.equal((await inRootSession.raw('GET', '/api/v1/session')).json.authenticated, false);
    // ...while the copy still works in A: the refusals are the tenant's
    assert.equal((await copyOf(A, b).raw('GET', '/api/v1/session')).json.user.id, user.id);

    const regA = await registerClient(A, { client_name: 'App A' });
    const regB = await registerClient(B, { client_name: 'App B' });
    assert.equal((await tokenRequest(B, regA, { grant_type: 'client_credentials' })).status, 401, 'A\'s client is unknown in B');

    const t = await codeTokens(A, b, regA);
    const claims = jose.decodeJwt(t.id_token);
    assert.equal(claims.iss, A.issuer);
    const jwksA = jose.createLocalJWKSet((await request(A, 'GET', '/jwks')).body);
    const jwksB = jose.createLocalJWKSet((await request(B, 'GET', '/jwks')).body);
    await jose.jwtVerify(t.id_token, jwksA, { issuer: A.issuer, audience: regA.client_id });
    await assert.rejects(jose.jwtVerify(t.id_token, jwksB), 'B\'s JWKS does not verify A\'s tokens');

    // A's access token: accepted by A's userinfo, refused by B's and the default's
    const ui = (server) => request(server, 'GET', '/userinfo', { headers: { authorization: `Bearer ${t.access_token}` } });
    assert.equal((await ui(A)).status, 200);
    assert.equal((await ui(B)).status, 401);
    assert.equal((await ui(s)).status, 401);
    // introspection by B's client says inactive
    const intro = await fetch(`${B.url}/introspect`, {
      method: 'POST', headers: { authorization: basic(regB), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: t.access_token }).toString(),
    });
    assert.equal((await intro.json()).active, false);
    // A's refresh token at B's token endpoint, with B's client: refused
    assert.equal((await refresh(B, regB, t.refresh_token)).status, 400);
    // and it still works in A: nothing above spent it
    assert.equal((await refresh(A, regA, t.refresh_token)).status, 200);
  });

  test('a passkey of tenant A signs in at A only: the same assertion is refused in B and the default tenant', async () => {
    const { A, B, server: s } = ctx;
    const user = await newUser(A, 'isopk');
    const b = await signedIn(A, user);
    const auth = new SoftAuthenticator({ origin: new URL(A.issuer).origin });
    const added = await addPasskey(b, auth, { name: 'Laptop' });
    assert.equal(added.r.status, 200, added.r.text);
    // presented at B and at the default tenant, each with its own live challenge
    for (const there of [B, s]) {
      const other = new Browser(there);
      const o = await other.post('/api/v1/signin/passkey/options', {});
      assert.equal(o.status, 200, o.text);
      const r = await other.post('/api/v1/signin/passkey', { credential: auth.get(o.json.publicKey, { cred: added.cred }) });
      assert.ok(r.status >= 400 && r.status < 500, `refused outside A (${r.status})`);
      assert.equal((await other.raw('GET', '/api/v1/session')).json.authenticated, false);
    }
    // ...and the passkey works in A: the refusals are the tenant's
    const home = new Browser(A);
    const o = await home.post('/api/v1/signin/passkey/options', {});
    const ok = await home.post('/api/v1/signin/passkey', { credential: auth.get(o.json.publicKey, { cred: added.cred }) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await home.raw('GET', '/api/v1/session')).json.user.id, user.id);
  });

  test('a tenant\'s SCIM token works in its tenant only; the admin token works in every tenant', async () => {
    const { A, B, server: s } = ctx;
    const made = await admin(s, 'POST', `/t/${ctx.a}/admin/v1/scim-tokens`, { name: 'HR system' });
    assert.equal(made.status, 201, made.text);
    const token = made.body.token;
    const email = `scim-${randomHex(4)}@example.com`;
    const created = await scim(A, 'POST', '/Users', userBody(email), { token });
    assert.equal(created.status, 201, created.text);
    assert.equal((await scim(B, 'GET', '/Users', undefined, { token })).status, 401);
    assert.equal((await scim(s, 'GET', '/Users', undefined, { token })).status, 401);
    assert.equal((await admin(s, 'GET', `/t/${ctx.a}/admin/v1/tenants`)).status, 404, 'a SCIM token is no admin token either');
    assert.equal((await request(s, 'GET', `/t/${ctx.a}/admin/v1/scim-tokens`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    // the admin token reaches both tenants
    assert.equal((await scim(B, 'GET', '/Users')).status, 200);
    const list = await admin(s, 'GET', `/t/${ctx.a}/admin/v1/scim-tokens`);
    assert.equal(list.body.tokens.length, 1);
    assert.ok(!JSON.stringify(list.body).includes(token), 'the token is shown once, never listed');
    // revoked: refused at once
    assert.equal((await admin(s, 'DELETE', `/t/${ctx.a}/admin/v1/scim-tokens/${made.body.id}`)).status, 204);
    assert.equal((await scim(A, 'GET', '/Users', undefined, { token })).status, 401);
  });

  test('a disabled tenant\'s session, tokens and SCIM are refused; they work again once it is enabled', async () => {
    const s = ctx.server;
    const id = `off-${randomHex(3)}`;
    await createTenant(s, id);
    const T = tenantView(s, id);
    const user = await newUser(T, 'off');
    const b = await signedIn(T, user);
    const copy = copyOf(T, b);
    assert.equal((await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { status: 'disabled' })).status, 200);
    assert.equal((await copy.raw('GET', '/api/v1/session')).status, 404);
    assert.equal((await scim(T, 'GET', '/Users')).status, 404);
    assert.equal((await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { status: 'active' })).status, 200);
    assert.equal((await copy.raw('GET', '/api/v1/session')).json.user.id, user.id);
  });
});

describe('tenant policy', () => {
  test('sign-in methods the policy leaves out answer 403; the password minimum is the tenant\'s', async () => {
    const s = ctx.server;
    const id = `pol-${randomHex(3)}`;
    await createTenant(s, id, { policy: { signin_methods: ['passkey', 'email_code'], password_min_length: 20 } });
    const T = tenantView(s, id);
    const user = await newUser(T, 'pol');
    const r = await new Browser(T).post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error, 'method_not_allowed');
    // a 16-character password is enough by default, not here
    const short = await scim(T, 'POST', '/Users', userBody(`short-${randomHex(3)}@example.com`, { password: `Quartz-${randomHex(5)}` }));
    assert.equal(short.status, 400, short.text);
    const ok = await scim(s, 'POST', '/Users', userBody(`short-${randomHex(3)}@example.com`, { password: `Quartz-${randomHex(5)}` }));
    assert.equal(ok.status, 201, `the default tenant keeps its rule: ${ok.text}`);
    // the policy changes without a restart: password allowed again
    const upd = await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { policy: { signin_methods: ['password'] } });
    assert.equal(upd.status, 200, upd.text);
    const again = await new Browser(T).post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(again.status, 200, again.text);
  });

  test('session lifetimes come from the tenant\'s policy', async () => {
    const s = ctx.server;
    const id = `ses-${randomHex(3)}`;
    await createTenant(s, id, { policy: { session_idle_seconds: 600, session_absolute_seconds: 3600 } });
    const T = tenantView(s, id);
    const user = await newUser(T, 'ses');
    const r = await new Browser(T).post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(r.status, 200, r.text);
    const cookie = r.setCookies.find((c) => c.startsWith(`gh_session.${id}=`));
    assert.match(cookie, /Max-Age=3600\b/, cookie);
  });

  test('a tenant that requires a second factor refuses /authorize for an account without one', async () => {
    const s = ctx.server;
    const id = `mfa-${randomHex(3)}`;
    await createTenant(s, id, { policy: { mfa_required: true } });
    const T = tenantView(s, id);
    const user = await newUser(T, 'mfa');
    const b = await signedIn(T, user);
    const reg = await registerClient(T, { client_name: 'App' });
    const q = new URLSearchParams({
      client_id: reg.client_id, redirect_uri: 'https://app.example.com/callback', response_type: 'code', scope: 'openid',
      state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    });
    const r = await b.raw('GET', `/authorize?${q}`);
    assert.equal(r.status, 302, r.text);
    const loc = new URL(r.headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'unmet_authentication_requirements', loc.href);
  });
});

describe('tenant mail', () => {
  test('a tenant\'s mail comes from its mail_from; the default tenant keeps GATEHOUSE_MAIL_FROM', async () => {
    const s = ctx.server;
    const id = `mail-${randomHex(3)}`;
    await createTenant(s, id, { policy: { mail_from: `Shop ${id} <no-reply@${id}.example>` } });
    const T = tenantView(s, id);
    const user = await newUser(T, 'mail');
    const r = await new Browser(T).post('/api/v1/recovery', { email: user.email });
    assert.equal(r.status, 200, r.text);
    const m = await ctx.mail.waitFor(sentTo(user.email));
    assert.equal(m.fromAddress, `no-reply@${id}.example`);
    assert.equal(m.fromName, `Shop ${id}`);
    assert.ok(codeFrom(m), 'the emailed code');
    const rootUser = await newUser(s, 'mailroot');
    assert.equal((await new Browser(s).post('/api/v1/recovery', { email: rootUser.email })).status, 200);
    const m2 = await ctx.mail.waitFor(sentTo(rootUser.email));
    assert.notEqual(m2.fromAddress, `no-reply@${id}.example`);
    const bad = await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { policy: { mail_from: 'x@y\r\nBcc: z@w' } });
    assert.equal(bad.status, 400, 'no header injection through mail_from');
  });
});

describe('gatehouse tenant', () => {
  test('create, list, update, disable, enable, scim-token and delete from the command line', async () => {
    const s = ctx.server;
    const env = { env: s.env, timeoutMs: 20_000 };
    const id = `cli-${randomHex(3)}`;
    const made = await runGatehouse(['tenant', 'create', id, '--name', 'CLI Tenant'], env);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(JSON.parse(made.stdout).issuer, `${s.issuer}/t/${id}`);
    assert.equal((await runGatehouse(['tenant', 'create', id], env)).code, 1, 'an id in use');
    assert.equal((await runGatehouse(['tenant', 'create', 'Bad_Id'], env)).code, 1);
    assert.equal((await runGatehouse(['tenant'], env)).code, 2);
    assert.equal((await runGatehouse(['tenant', 'frobnicate', id], env)).code, 2);
    const list = await runGatehouse(['tenant', 'list'], env);
    assert.match(list.stdout, new RegExp(`^${id} +active +${s.issuer}/t/${id} +CLI Tenant$`, 'm'));
    // a running server sees the new tenant (it compares the table's fingerprint)
    assert.equal((await request(s, 'GET', `/t/${id}/jwks`)).status, 200);
    const tok = await runGatehouse(['tenant', 'scim-token', id, '--name', 'HR'], env);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim().split('\n').pop();
    assert.equal((await scim(tenantView(s, id), 'GET', '/Users', undefined, { token })).status, 200);
    assert.equal((await runGatehouse(['tenant', 'disable', id], env)).code, 0);
    const gone = await (async () => {
      for (let i = 0; i < 40; i++) {
        if ((await request(s, 'GET', `/t/${id}/jwks`)).status === 404) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    })();
    assert.ok(gone, 'the server stops answering for a tenant disabled by the CLI within seconds');
    assert.equal((await runGatehouse(['tenant', 'enable', id], env)).code, 0);
    assert.equal((await runGatehouse(['tenant', 'delete', 'default'], env)).code, 1);
    assert.equal((await runGatehouse(['tenant', 'delete', id], env)).code, 0);
    const shown = await runGatehouse(['tenant', 'show', id], env);
    assert.equal(shown.code, 1);
  });
});
