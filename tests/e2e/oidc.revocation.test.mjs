// Where a token's authority ends (issue 16, item 3): each event that ends a
// grant reaches every token and session issued under it. Every check uses
// a COPY of the old credential (the old refresh token, the old access
// token, a copy of the old cookie), never the client that dropped it.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import * as client from 'openid-client';

import { startServer, stopAll, scim, randomHex, sleep, sql } from './lib/server.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient as register, basic, tokenRequest, codeTokens, refresh, REDIRECT } from './lib/oidc.mjs';

after(stopAll);

const SCIM_PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function userinfoStatus(server, at) {
  return (await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } })).status;
}

async function introspect(server, reg, token) {
  const res = await fetch(`${server.url}/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(reg) },
    body: new URLSearchParams({ token }).toString(),
  });
  return res.json();
}

/** The old refresh token is refused, the old access token dead everywhere. */
async function assertDead(server, reg, t, what) {
  const r = await refresh(server, reg, t.refresh_token);
  assert.equal(r.status, 400, `${what}: refresh ${JSON.stringify(r.json)}`);
  assert.equal(r.json.error, 'invalid_grant', what);
  assert.equal(await userinfoStatus(server, t.access_token), 401, `${what}: userinfo`);
  assert.equal((await introspect(server, reg, t.access_token)).active, false, `${what}: introspection`);
}

async function assertAlive(server, reg, t, what) {
  assert.equal(await userinfoStatus(server, t.access_token), 200, `${what}: userinfo`);
  assert.equal((await introspect(server, reg, t.access_token)).active, true, `${what}: introspection`);
}

/** A relying party on loopback that records back-channel logout tokens. */
async function logoutListener() {
  const received = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { received.push(new URLSearchParams(body).get('logout_token')); res.end(); });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { received, uri: `http://127.0.0.1:${srv.address().port}/bcl`, close: () => srv.close() };
}

describe('revocation reaches every token', () => {
  let server;
  let reg;

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32' } });
    reg = await register(server, { client_name: 'Revocation' });
  });

  test('refresh-token reuse: the successor\'s access token dies with the family (SECURITY.md #39)', async () => {
    const user = await newUser(server);
    const b = await signedIn(server, user);
    const first = await codeTokens(server, b, reg);
    const r1 = await refresh(server, reg, first.refresh_token);
    assert.equal(r1.status, 200, JSON.stringify(r1.json));
    const successor = r1.json;
    await assertAlive(server, reg, successor, 'before the reuse');
    // The thief replays the rotated token: the whole family is revoked ...
    const replay = await refresh(server, reg, first.refresh_token);
    assert.equal(replay.json.error, 'invalid_grant');
    // ... and with it every access token the family issued.
    await assertDead(server, reg, successor, 'successor after reuse');
    assert.equal(await userinfoStatus(server, first.access_token), 401, 'the first access token too');
  });

  test('consent withdrawn in the account API: that app\'s refresh and access tokens die, another app\'s live (SECURITY.md #42)', async () => {
    const user = await newUser(server);
    const third = await register(server, { client_name: 'Partner' }, { firstParty: false });
    const b = await signedIn(server, user);
    const t = await codeTokens(server, b, third);
    const other = await codeTokens(server, b, reg);
    await assertAlive(server, third, t, 'before withdrawal');
    const del = await b.raw('DELETE', `/api/v1/consents/${third.client_id}`, { headers: { 'x-csrf-token': b.csrf, origin: b.origin } });
    assert.equal(del.status, 204, del.text);
    await assertDead(server, third, t, 'after consent withdrawal');
    await assertAlive(server, reg, other, 'the first-party app');
  });

  test('"end all other sessions": those sessions\' refresh and access tokens die, this one\'s live', async () => {
    const user = await newUser(server);
    const here = await signedIn(server, user);
    const there = await signedIn(server, user);
    const mine = await codeTokens(server, here, reg);
    const theirs = await codeTokens(server, there, reg);
    const cookie = copyOf(server, there);
    const r = await here.raw('DELETE', '/api/v1/sessions', { headers: { 'x-csrf-token': here.csrf, origin: here.origin } });
    assert.ok(r.status === 200 || r.status === 204, r.text);
    assert.equal((await cookie.raw('GET', '/api/v1/sessions')).status, 401);
    await assertDead(server, reg, theirs, 'the other session\'s tokens');
    await assertAlive(server, reg, mine, 'this session\'s tokens');
    assert.equal((await refresh(server, reg, mine.refresh_token)).status, 200);
  });

  test('SCIM active=false: browser session (copy of cookie) refused on /api/v1/*, tokens dead, back-channel logout sent (ASVS 7.4.2, SECURITY.md #31)', async () => {
    const rp = await logoutListener();
    const bcl = await register(server, { client_name: 'BCL RP', backchannel_logout_uri: rp.uri });
    const user = await newUser(server);
    const b = await signedIn(server, user);
    const t = await codeTokens(server, b, bcl);
    const cookie = copyOf(server, b);
    assert.equal((await cookie.raw('GET', '/api/v1/sessions')).status, 200);

    const p = await scim(server, 'PATCH', `/Users/${user.id}`, { schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: false }] });
    assert.equal(p.status, 200, p.text);

    assert.equal((await cookie.raw('GET', '/api/v1/sessions')).status, 401);
    assert.equal((await cookie.session()).authenticated, false);
    const before = sql(server, `SELECT COUNT(*) AS n FROM mfa_factors WHERE user_id = '${user.id}'`)[0]?.n;
    const totp = await cookie.post('/api/v1/mfa/totp', {}, { csrf: b.csrf });
    assert.ok(totp.status === 401 || totp.status === 403, `TOTP setup refused: ${totp.status}`);
    assert.equal(sql(server, `SELECT COUNT(*) AS n FROM mfa_factors WHERE user_id = '${user.id}'`)[0]?.n, before);
    // Reactivated: the tokens stay dead, they were revoked at the source.
    const back = await scim(server, 'PATCH', `/Users/${user.id}`, { schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: true }] });
    assert.equal(back.status, 200, back.text);
    await assertDead(server, bcl, t, 'after deactivation');
    assert.equal((await cookie.raw('GET', '/api/v1/sessions')).status, 401, 'the session stays ended');
    for (let i = 0; i < 100 && rp.received.length === 0; i++) await sleep(50);
    assert.equal(rp.received.length, 1, 'one back-channel logout');
    rp.close();
  });

  test('a user disabled behind the server\'s back: the session lookup itself refuses the session (ASVS 7.4.2)', async (t) => {
    if (/^postgres/.test(server.dbPath)) return t.skip('edits the SQLite file directly');
    const user = await newUser(server);
    const b = await signedIn(server, user);
    const cookie = copyOf(server, b);
    sql(server, `UPDATE users SET status = 'disabled' WHERE id = '${user.id}'`);
    assert.equal((await cookie.raw('GET', '/api/v1/sessions')).status, 401);
    assert.equal((await cookie.raw('GET', '/api/v1/consents')).status, 401);
  });

  test('SCIM password set by an administrator: sessions and tokens dead (ASVS 7.4.2, SECURITY.md #30, #31)', async () => {
    const user = await newUser(server);
    const b = await signedIn(server, user);
    const t = await codeTokens(server, b, reg);
    const cookie = copyOf(server, b);
    const p = await scim(server, 'PATCH', `/Users/${user.id}`, { schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'password', value: `Harbour-${randomHex(6)}-Lantern` }] });
    assert.equal(p.status, 200, p.text);
    assert.equal((await cookie.raw('GET', '/api/v1/sessions')).status, 401);
    await assertDead(server, reg, t, 'after the administrator\'s password change');
  });

  test('SCIM user deleted: tokens dead and session gone', async () => {
    const user = await newUser(server);
    const b = await signedIn(server, user);
    const t = await codeTokens(server, b, reg);
    const cookie = copyOf(server, b);
    const d = await scim(server, 'DELETE', `/Users/${user.id}`);
    assert.equal(d.status, 204, d.text);
    assert.equal((await cookie.raw('GET', '/api/v1/sessions')).status, 401);
    await assertDead(server, reg, t, 'after deletion');
  });
});
