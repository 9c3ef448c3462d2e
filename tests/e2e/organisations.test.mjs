// Organisations inside a tenant (docs/organisations.md): the operator's
// admin API, members with roles, org_id and org_roles in tokens for an
// authorization asked for an organisation, the organisation's second-factor
// rule, and delegated administration by the organisation's own
// administrators with an access token. On SQLite and PostgreSQL.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';
import * as jose from 'jose';

import { startServer, stopAll, request, randomHex, sql, scim, userBody } from './lib/server.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { startMailSink, stopAllMailSinks, sentTo } from './lib/mail.mjs';
import { registerClient, REDIRECT, tokenRequest, refresh } from './lib/oidc.mjs';
import { admin } from './lib/tenants.mjs';

after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const ctx = {};

function bearer(server, method, path, token, body) {
  return request(server, method, path, {
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** An authorization for b's account; extra: more /authorize parameters.
 * Returns the redirect's URL (a code or an error). */
async function authorize(b, reg, scope, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const q = new URLSearchParams({
    client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope, state: randomHex(6),
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  const r = await b.raw('GET', `/authorize?${q}`);
  assert.equal(r.status, 302, r.text);
  return { loc: new URL(r.headers.get('location'), b.server.issuer), verifier };
}

async function tokensFor(server, b, reg, scope, extra) {
  const { loc, verifier } = await authorize(b, reg, scope, extra);
  const code = loc.searchParams.get('code');
  assert.ok(code, loc.href);
  const res = await tokenRequest(server, reg, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
  const t = await res.json();
  assert.equal(res.status, 200, JSON.stringify(t));
  return t;
}

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  ctx.reg = await registerClient(ctx.server, { client_name: 'B2B App' });
});

describe('the organisations admin API', () => {
  test('create, read, update, delete; ids, names and domains checked; a domain is one organisation\'s', async () => {
    const s = ctx.server;
    const id = `acme-${randomHex(3)}`;
    const made = await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Acme Corp', domains: [`${id}.example`, `${id}.example`] });
    assert.equal(made.status, 201, made.text);
    assert.deepEqual(made.body.domains, [`${id}.example`], 'each domain once');
    assert.equal(made.body.mfa_required, false);
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Again' })).status, 409);
    const clash = await admin(s, 'POST', '/admin/v1/organizations', { id: `${id}-b`, display_name: 'B', domains: [`${id}.example`] });
    assert.equal(clash.status, 409, 'the domain is Acme\'s');
    assert.equal((await admin(s, 'GET', `/admin/v1/organizations/${id}-b`)).status, 404, 'nothing of the refused one was kept');
    for (const bad of [{ id: 'Bad', display_name: 'x' }, { id: `x-${randomHex(2)}` }, { id: `x-${randomHex(2)}`, display_name: 'x', domains: ['nodot'] },
      { id: `x-${randomHex(2)}`, display_name: 'x', mfa_required: 'yes' }, { id: `x-${randomHex(2)}`, display_name: 'x', extra: 1 }]) {
      const r = await admin(s, 'POST', '/admin/v1/organizations', bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
    }
    const upd = await admin(s, 'PATCH', `/admin/v1/organizations/${id}`, { display_name: 'Acme Ltd', mfa_required: true });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.display_name, 'Acme Ltd');
    assert.equal(upd.body.mfa_required, true);
    const list = await admin(s, 'GET', '/admin/v1/organizations');
    assert.ok(list.body.organizations.some((o) => o.id === id));
    assert.equal((await request(s, 'GET', '/admin/v1/organizations')).status, 401);
    assert.equal((await admin(s, 'DELETE', `/admin/v1/organizations/${id}`)).status, 204);
    assert.equal((await admin(s, 'GET', `/admin/v1/organizations/${id}`)).status, 404);
    // the domain is free again
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id: `${id}-c`, display_name: 'C', domains: [`${id}.example`] })).status, 201);
  });

  test('members with roles; the customer sees their organisations', async () => {
    const s = ctx.server;
    const id = `mem-${randomHex(3)}`;
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Members Inc' })).status, 201);
    const user = await newUser(s, 'member');
    const put = await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/${user.id}`, { roles: ['billing', 'admin', 'billing'] });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.members.map((m) => [m.email, m.roles]), [[user.email, ['admin', 'billing']]]);
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/${user.id}`, { roles: ['Has Space'] })).status, 400);
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/nobody`, { roles: [] })).status, 404);
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/nope-${randomHex(2)}/members/${user.id}`, { roles: [] })).status, 404);
    const b = await signedIn(s, user);
    const mine = await b.raw('GET', '/api/v1/organizations');
    assert.equal(mine.status, 200, mine.text);
    assert.deepEqual(mine.json.organizations, [{ id, display_name: 'Members Inc', roles: ['admin', 'billing'] }]);
    assert.equal((await admin(s, 'DELETE', `/admin/v1/organizations/${id}/members/${user.id}`)).status, 204);
    assert.equal((await admin(s, 'DELETE', `/admin/v1/organizations/${id}/members/${user.id}`)).status, 404);
    assert.deepEqual((await b.raw('GET', '/api/v1/organizations')).json.organizations, []);
  });
});

describe('organisations in tokens', () => {
  test('organization=ID: members get org_id (and org_roles with that scope); others get access_denied; a removed member\'s refresh fails', async () => {
    const s = ctx.server;
    const id = `tok-${randomHex(3)}`;
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Tokens Ltd' })).status, 201);
    const member = await newUser(s, 'tokm');
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/${member.id}`, { roles: ['viewer'] })).status, 200);
    const b = await signedIn(s, member);
    const t = await tokensFor(s, b, ctx.reg, 'openid offline_access org_roles', { organization: id });
    const idt = jose.decodeJwt(t.id_token);
    assert.equal(idt.org_id, id);
    assert.deepEqual(idt.org_roles, ['viewer']);
    assert.equal(jose.decodeJwt(t.access_token).org_id, id);
    // without the scope: the organisation, not the roles
    const t2 = await tokensFor(s, b, ctx.reg, 'openid', { organization: id });
    assert.equal(jose.decodeJwt(t2.id_token).org_id, id);
    assert.equal(jose.decodeJwt(t2.id_token).org_roles, undefined);
    // and without organization=, no org_id at all
    assert.equal(jose.decodeJwt((await tokensFor(s, b, ctx.reg, 'openid')).id_token).org_id, undefined);

    const outsider = await signedIn(s, await newUser(s, 'toko'));
    const denied = await authorize(outsider, ctx.reg, 'openid', { organization: id });
    assert.equal(denied.loc.searchParams.get('error'), 'access_denied', denied.loc.href);
    const unknown = await authorize(outsider, ctx.reg, 'openid', { organization: `nope-${randomHex(2)}` });
    assert.equal(unknown.loc.searchParams.get('error'), 'access_denied');

    // the refresh keeps org_id while the account is a member...
    const r1 = await refresh(s, ctx.reg, t.refresh_token);
    assert.equal(r1.status, 200, JSON.stringify(r1.json));
    assert.equal(jose.decodeJwt(r1.json.id_token).org_id, id);
    // ...and fails once it is not
    assert.equal((await admin(s, 'DELETE', `/admin/v1/organizations/${id}/members/${member.id}`)).status, 204);
    const r2 = await refresh(s, ctx.reg, r1.json.refresh_token);
    assert.equal(r2.status, 400);
    assert.equal(r2.json.error, 'invalid_grant');
  });

  test('an organisation that requires a second factor refuses a member without one', async () => {
    const s = ctx.server;
    const id = `mfa-${randomHex(3)}`;
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Strict', mfa_required: true })).status, 201);
    const user = await newUser(s, 'orgmfa');
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/${user.id}`, {})).status, 200);
    const b = await signedIn(s, user);
    const { loc } = await authorize(b, ctx.reg, 'openid', { organization: id });
    assert.equal(loc.searchParams.get('error'), 'unmet_authentication_requirements', loc.href);
    // the same account, for no organisation: signed in as before
    assert.ok((await authorize(b, ctx.reg, 'openid')).loc.searchParams.get('code'));
  });
});

describe('delegated administration', () => {
  test('an organisation\'s admin manages its members with an org_admin token; members and outsiders cannot', async () => {
    const s = ctx.server;
    const id = `del-${randomHex(3)}`;
    const domain = `${id}.example`;
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Delegates', domains: [domain] })).status, 201);
    const boss = await newUser(s, 'boss');
    const staff = await newUser(s, 'staff');
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/${boss.id}`, { roles: ['admin'] })).status, 200);
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/${staff.id}`, { roles: ['viewer'] })).status, 200);
    const bossToken = (await tokensFor(s, await signedIn(s, boss), ctx.reg, 'openid org_admin')).access_token;
    const staffToken = (await tokensFor(s, await signedIn(s, staff), ctx.reg, 'openid org_admin')).access_token;
    const plainToken = (await tokensFor(s, await signedIn(s, boss), ctx.reg, 'openid')).access_token;
    const outsiderToken = (await tokensFor(s, await signedIn(s, await newUser(s, 'out')), ctx.reg, 'openid org_admin')).access_token;

    const list = await bearer(s, 'GET', `/api/v1/app/organizations/${id}/members`, bossToken);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.members.length, 2);
    assert.equal((await bearer(s, 'GET', `/api/v1/app/organizations/${id}/members`, staffToken)).status, 403, 'a member who is no admin');
    assert.equal((await bearer(s, 'GET', `/api/v1/app/organizations/${id}/members`, outsiderToken)).status, 404, 'an outsider learns nothing');
    const noScope = await bearer(s, 'GET', `/api/v1/app/organizations/${id}/members`, plainToken);
    assert.equal(noScope.status, 403);
    assert.equal(noScope.body.error, 'insufficient_scope');
    assert.equal((await request(s, 'GET', `/api/v1/app/organizations/${id}/members`)).status, 401);

    // add an account of the organisation's own domain, by email
    const colleague = await newUser(s, 'col');
    const inDomain = { email: `new-${randomHex(3)}@${domain}` };
    const made = await request(s, 'POST', '/scim/v2/Users', {
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: inDomain.email, emails: [{ value: inDomain.email, primary: true }] }),
    });
    assert.equal(made.status, 201, made.text);
    // the address is read as sign-in reads it: case does not matter
    const add = await bearer(s, 'POST', `/api/v1/app/organizations/${id}/members`, bossToken, { email: inDomain.email.toUpperCase(), roles: ['viewer'] });
    assert.equal(add.status, 200, add.text);
    assert.ok(add.body.members.some((m) => m.email === inDomain.email));
    const outside = await bearer(s, 'POST', `/api/v1/app/organizations/${id}/members`, bossToken, { email: colleague.email, roles: [] });
    assert.equal(outside.status, 403, 'an address outside the organisation\'s domains');
    assert.equal(outside.body.error, 'domain_not_held');
    const malformed = await bearer(s, 'POST', `/api/v1/app/organizations/${id}/members`, bossToken, { email: `no-at-sign.${domain}` });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error, 'invalid_email');
    assert.equal((await bearer(s, 'POST', `/api/v1/app/organizations/${id}/members`, staffToken, { email: inDomain.email })).status, 403);
    // roles and removal; an admin cannot remove themselves
    assert.equal((await bearer(s, 'PUT', `/api/v1/app/organizations/${id}/members/${staff.id}`, bossToken, { roles: ['viewer', 'billing'] })).status, 200);
    assert.equal((await bearer(s, 'DELETE', `/api/v1/app/organizations/${id}/members/${boss.id}`, bossToken)).status, 409);
    assert.equal((await bearer(s, 'DELETE', `/api/v1/app/organizations/${id}/members/${staff.id}`, bossToken)).status, 204);
    const after = await admin(s, 'GET', `/admin/v1/organizations/${id}/members`);
    assert.deepEqual(after.body.members.map((m) => m.user_id).sort(), [boss.id, made.body.id].sort());
    // audited with the administrator as actor
    const ev = sql(s, `SELECT actor FROM audit_events WHERE type = 'organization.member_removed' AND subject = '${staff.id}'`);
    assert.deepEqual(ev.map((e) => e.actor), [boss.id]);
  });
});

const GH_EXT = 'urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User';

/** An account with a password and a verified email. */
async function verifiedUser(server, email) {
  const password = `Lighthouse-${randomHex(6)}-Meadow`;
  const body = userBody(email, { password, [GH_EXT]: { emailVerified: true } });
  body.schemas = [...body.schemas, GH_EXT];
  const r = await scim(server, 'POST', '/Users', body);
  assert.equal(r.status, 201, r.text);
  return { email, password, id: r.body.id };
}

describe('invitations', () => {
  test('an invitation mails a link; only the invited, verified address accepts it, once, and gets the roles', async () => {
    const s = ctx.server;
    const id = `inv-${randomHex(3)}`;
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Invite Co' })).status, 201);
    const email = `invitee-${randomHex(4)}@example.com`;
    const made = await admin(s, 'POST', `/admin/v1/organizations/${id}/invitations`, { email: ` ${email.toUpperCase()} `, roles: ['viewer'] });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.body.email, email, 'normalised');
    assert.equal((await admin(s, 'POST', `/admin/v1/organizations/${id}/invitations`, { email: 'not an address' })).status, 400);
    const m = await ctx.mail.waitFor(sentTo(email));
    assert.match(m.text, /Invite Co/);
    const link = /(http\S+\/invitation#token=([A-Za-z0-9_-]+))/.exec(m.text);
    assert.ok(link, m.text);
    assert.ok(link[1].startsWith(`${s.issuer}/invitation#token=`), 'the token is in the fragment, never sent to a server by a browser');
    const token = link[2];
    const listed = await admin(s, 'GET', `/admin/v1/organizations/${id}/invitations`);
    assert.equal(listed.body.invitations.length, 1);
    assert.ok(!JSON.stringify(listed.body).includes(token), 'the token is never listed');

    const anyone = new Browser(s);
    const peek = await anyone.post('/api/v1/invitation', { token });
    assert.equal(peek.status, 200, peek.text);
    assert.deepEqual([peek.json.organization, peek.json.email, peek.json.status], ['Invite Co', email, 'pending']);
    assert.equal((await anyone.post('/api/v1/invitation', { token: `${token.slice(0, -2)}xx` })).status, 404);
    assert.equal((await anyone.post('/api/v1/invitation/accept', { token })).status, 401, 'signed out');

    const other = await signedIn(s, await verifiedUser(s, `other-${randomHex(4)}@example.com`));
    const wrong = await other.post('/api/v1/invitation/accept', { token });
    assert.equal(wrong.status, 409, 'another address');
    assert.equal(wrong.json.error, 'invitation_refused');
    const unverified = await newUser(s, 'unv');
    const flip = await scim(s, 'PATCH', `/Users/${unverified.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: `${GH_EXT}:emailVerified`, value: false }],
    });
    assert.equal(flip.status, 200, flip.text);
    assert.equal((await admin(s, 'POST', `/admin/v1/organizations/${id}/invitations`, { email: unverified.email })).status, 201);
    const m2 = await ctx.mail.waitFor(sentTo(unverified.email));
    const t2 = /invitation#token=([A-Za-z0-9_-]+)/.exec(m2.text)[1];
    // an account whose address is not verified cannot take it (signing in
    // asks for the verification first, and accepting checks it again)
    const ub = new Browser(s);
    await ub.post('/api/v1/signin', { email: unverified.email, password: unverified.password });
    const nv = await ub.post('/api/v1/invitation/accept', { token: t2 });
    assert.ok([401, 409].includes(nv.status), `an unverified address proves nothing: ${nv.text}`);
    const members = await admin(s, 'GET', `/admin/v1/organizations/${id}/members`);
    assert.ok(!members.body.members.some((mm) => mm.user_id === unverified.id));

    const invitee = await verifiedUser(s, email);
    const b = await signedIn(s, invitee);
    const ok = await b.post('/api/v1/invitation/accept', { token });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.organization, 'Invite Co');
    assert.deepEqual((await b.raw('GET', '/api/v1/organizations')).json.organizations, [{ id, display_name: 'Invite Co', roles: ['viewer'] }]);
    const again = await b.post('/api/v1/invitation/accept', { token });
    assert.equal(again.status, 409, 'one use');
    assert.equal((await anyone.post('/api/v1/invitation', { token })).json.status, 'accepted');
  });

  test('an organisation\'s administrator invites with an org_admin token', async () => {
    const s = ctx.server;
    const id = `dinv-${randomHex(3)}`;
    assert.equal((await admin(s, 'POST', '/admin/v1/organizations', { id, display_name: 'Self Service' })).status, 201);
    const boss = await newUser(s, 'dboss');
    assert.equal((await admin(s, 'PUT', `/admin/v1/organizations/${id}/members/${boss.id}`, { roles: ['admin'] })).status, 200);
    const token = (await tokensFor(s, await signedIn(s, boss), ctx.reg, 'openid org_admin')).access_token;
    const email = `contractor-${randomHex(4)}@elsewhere.example`;
    const r = await bearer(s, 'POST', `/api/v1/app/organizations/${id}/invitations`, token, { email, roles: ['viewer'] });
    assert.equal(r.status, 201, r.text);
    await ctx.mail.waitFor(sentTo(email));
    const ev = sql(s, `SELECT actor FROM audit_events WHERE type = 'organization.invited' AND subject = '${id}'`);
    assert.deepEqual(ev.map((e) => e.actor), [boss.id]);
  });
});
