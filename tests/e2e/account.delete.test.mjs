// Delete my account (issue 18 item 6, its notice item 8; docs/accounts-api.md
// "Delete my account" and "What deletion keeps"). A deletion needs the
// same proof as a password change, deactivates the account at once (every
// session and token ends: checked with COPIES of the old credentials),
// mails a notice, and can be undone by signing in during the grace period.
// After it, the janitor erases the customer's personal data; the audit log
// keeps their events under a keyed pseudonym. SCIM DELETE erases the same
// way at once. The grace period ends in these tests because the second
// server runs with GATEHOUSE_DELETION_GRACE=1 and GATEHOUSE_PRUNE_INTERVAL=1
// (the same settings production has, made short), as the recovery tests
// shorten GATEHOUSE_RECOVERY_WAIT.
// SECURITY.md ids: #14 no account-existence leak at sign-in, #29 logout
// invalidates the server-side session, #30 re-authentication before a
// sensitive change and revocation of refresh tokens, #31 delete ends all
// sessions, #33 notice on an independent channel, #47 audit without secrets.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql, sqlExec, sqliteText, databaseContains, scim, waitFor, BACKEND, SCIM_PATCH_SCHEMA } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient, codeTokens, refresh } from './lib/oidc.mjs';
import { enrolTotp } from './lib/factors.mjs';

const NOTICE = 'Your account will be deleted';
const DAY_MS = 86_400_000;

const ctx = {};
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  // the grace period ends after a second and the janitor runs every second
  ctx.quick = await startServer({
    env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_DELETION_GRACE: '1', GATEHOUSE_PRUNE_INTERVAL: '1' },
  });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const signIn = (server, email, password) => new Browser(server).post('/api/v1/signin', { email, password });
const userinfo = (server, at) => fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } });

/** Every byte of stored data, as text: the logical dump of SQLite (every
 * table, every row), a data-only pg_dump of PostgreSQL. */
function holds(server, text) {
  if (BACKEND === 'sqlite') return sqliteText(server.dbPath, '.dump').includes(text);
  return databaseContains(server, text);
}

describe('asking to delete (SECURITY.md #30)', () => {
  test('a wrong current password, no CSRF token, bad input or a stale session change nothing', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'delno');
    const b = await signedIn(server, user);

    const wrong = await b.post('/api/v1/account/delete', { current_password: 'not-the-password-at-all' });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.json.error, 'wrong_password');

    const noCsrf = await b.post('/api/v1/account/delete', { current_password: user.password }, { csrf: false });
    assert.equal(noCsrf.status, 403, noCsrf.text);
    assert.equal(noCsrf.json.error, 'csrf');

    const badType = await b.post('/api/v1/account/delete', { current_password: 42 });
    assert.equal(badType.status, 400, badType.text);
    assert.equal(badType.json.error, 'invalid_request');

    const notJson = await b.raw('POST', '/api/v1/account/delete', {
      body: '{"current_password":', headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf },
    });
    assert.equal(notJson.status, 400, notJson.text);

    const anon = await new Browser(server).post('/api/v1/account/delete', { current_password: user.password });
    assert.equal(anon.status, 401, anon.text);

    // a session below the account's level (a second factor added after it
    // began) must give the current password
    await enrolTotp(b);
    const stale = await b.post('/api/v1/account/delete', {});
    assert.equal(stale.status, 403, stale.text);
    assert.equal(stale.json.error, 'reauthentication_required');

    assert.equal((await b.session()).authenticated, true, 'the session stays');
    const u = sql(server, `SELECT status, delete_at FROM users WHERE id = '${user.id}'`)[0];
    assert.deepEqual(u, { status: 'active', delete_at: null });
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}' AND type LIKE 'account.%'`)[0].n, 0);
  });
});

describe('during the grace period (SECURITY.md #14, #29, #30, #31, #33)', () => {
  test('every session and token ends, a notice is mailed; signing in offers "Restore my account", which signs in', async () => {
    const { server, mail } = ctx;
    const user = await newUser(server, 'delgrace');
    const reg = await registerClient(server, { client_name: 'Delete RP', scope: 'openid email offline_access' });
    const b = await signedIn(server, user);
    const tokens = await codeTokens(server, b, reg, 'openid email offline_access');
    const copy = copyOf(server, b);
    const elsewhere = copyOf(server, await signedIn(server, user));
    assert.equal((await userinfo(server, tokens.access_token)).status, 200);

    const since = mail.messages.length;
    const before = Date.now();
    const del = await b.post('/api/v1/account/delete', { current_password: user.password });
    assert.equal(del.status, 200, del.text);
    assert.equal(del.json.status, 'deletion_pending');
    const at = Date.parse(del.json.deletes_at);
    assert.ok(at >= before + 30 * DAY_MS - 5000 && at <= Date.now() + 30 * DAY_MS + 5000, del.json.deletes_at);

    // copies of the old credentials are dead
    assert.equal((await copy.session()).authenticated, false, 'a copy of this session cookie');
    assert.equal((await elsewhere.session()).authenticated, false, 'the other session');
    const rt = await refresh(server, reg, tokens.refresh_token);
    assert.equal(rt.status, 400, JSON.stringify(rt.json));
    assert.equal(rt.json.error, 'invalid_grant');
    assert.equal((await userinfo(server, tokens.access_token)).status, 401, 'the access token issued before');

    // the notice: the date and how to restore, no secret
    const notice = await mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(user.email)(m) && m.subject === NOTICE, 10_000);
    assert.match(notice.text, new RegExp(del.json.deletes_at.slice(0, 10)));
    assert.match(notice.text, /Restore my account/);
    assert.match(notice.text, /\/signin/);
    assert.doesNotMatch(notice.text, /token=|flow=|\b\d{6}\b/);
    assert.ok(!notice.text.includes(user.password));

    // a wrong password answers exactly as an unknown address does
    const wrong = await signIn(server, user.email, 'not-the-password-at-all');
    const unknown = await signIn(server, `nobody-${randomHex(4)}@example.com`, 'not-the-password-at-all');
    assert.equal(wrong.status, 401);
    assert.deepEqual([wrong.status, wrong.json], [unknown.status, unknown.json]);

    // the right password: no session, an offer to restore
    const comeback = new Browser(server);
    const offer = await comeback.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(offer.status, 200, offer.text);
    assert.equal(offer.json.status, 'deletion_pending');
    assert.equal(offer.json.deletes_at, del.json.deletes_at);
    assert.ok(offer.json.restore?.flow_id, offer.text);
    assert.equal((await comeback.session()).authenticated, false, 'not signed in yet');

    // the flow id alone, in another browser, restores nothing
    const thief = new Browser(server);
    const stolen = await thief.post('/api/v1/account/restore', { flow_id: offer.json.restore.flow_id });
    assert.equal(stolen.status, 400, stolen.text);
    assert.equal(stolen.json.error, 'restore_expired');
    const bogus = await comeback.post('/api/v1/account/restore', { flow_id: 'no-such-flow' });
    assert.equal(bogus.status, 400, bogus.text);

    const restored = await comeback.post('/api/v1/account/restore', { flow_id: offer.json.restore.flow_id });
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.json.status, 'signed_in');
    assert.equal((await comeback.session()).authenticated, true);
    const again = await comeback.post('/api/v1/account/restore', { flow_id: offer.json.restore.flow_id });
    assert.equal(again.status, 400, 'single use');

    assert.deepEqual(sql(server, `SELECT status, delete_at FROM users WHERE id = '${user.id}'`)[0], { status: 'active', delete_at: null });
    assert.equal((await signIn(server, user.email, user.password)).json.status, 'signed_in');
    assert.equal((await refresh(server, reg, tokens.refresh_token)).status, 400, 'old tokens stay dead');
    assert.equal((await elsewhere.session()).authenticated, false, 'the other session stays ended after the restore');
    const types = sql(server, `SELECT type FROM audit_events WHERE subject = '${user.id}' ORDER BY seq`).map((e) => e.type);
    for (const t of ['account.deletion_requested', 'signin.deletion_pending', 'account.restored'])
      assert.ok(types.includes(t), `${t} in ${types}`);
  });

  test('an emailed sign-in code offers the restore too, in the browser that used it', async () => {
    const { server, mail } = ctx;
    const user = await newUser(server, 'delcode');
    const b = await signedIn(server, user);
    const on = await b.raw('PUT', '/api/v1/mfa/email', {
      body: JSON.stringify({ enabled: true }), headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf },
    });
    assert.equal(on.status, 200, on.text);
    const del = await b.post('/api/v1/account/delete', { current_password: user.password });
    assert.equal(del.status, 200, del.text);

    const comeback = new Browser(server);
    const since = mail.messages.length;
    const ask = await comeback.post('/api/v1/signin/email', { email: user.email });
    assert.equal(ask.status, 200, ask.text);
    const msg = await mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(user.email)(m) && m.subject === 'Your sign-in code', 10_000);
    const offer = await comeback.post('/api/v1/verify', { flow_id: ask.json.flow_id, code: codeFrom(msg) });
    assert.equal(offer.status, 200, offer.text);
    assert.equal(offer.json.status, 'deletion_pending');
    assert.equal((await comeback.session()).authenticated, false);
    const replay = await comeback.post('/api/v1/verify', { flow_id: ask.json.flow_id, code: codeFrom(msg) });
    assert.equal(replay.status, 400, 'the code is used');
    const restored = await comeback.post('/api/v1/account/restore', { flow_id: offer.json.restore.flow_id });
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.json.status, 'signed_in');
    assert.equal((await comeback.session()).authenticated, true);
  });

  test('an operator sees the pending deletion on SCIM (active: false) and cancels it with active: true', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'delop');
    const b = await signedIn(server, user);
    assert.equal((await b.post('/api/v1/account/delete', { current_password: user.password })).status, 200);
    const seen = await scim(server, 'GET', `/Users/${user.id}`);
    assert.equal(seen.body.active, false);
    const ext = seen.body['urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User'] ?? Object.entries(seen.body).find(([k]) => k.includes('extension'))?.[1];
    assert.ok(Math.abs(Date.parse(ext?.deletionScheduled) - Date.now() - 30 * DAY_MS) < 60_000, JSON.stringify(seen.body));
    // another change that leaves active false keeps the deletion
    const rename = await scim(server, 'PATCH', `/Users/${user.id}`, { schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value: 'Renamed' }] });
    assert.equal(rename.status, 200, rename.text);
    assert.equal(sql(server, `SELECT status FROM users WHERE id = '${user.id}'`)[0].status, 'deleting');
    const on = await scim(server, 'PATCH', `/Users/${user.id}`, { schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: true }] });
    assert.equal(on.status, 200, on.text);
    assert.deepEqual(sql(server, `SELECT status, delete_at FROM users WHERE id = '${user.id}'`)[0], { status: 'active', delete_at: null });
    assert.equal(Object.values(on.body).some((v) => v && typeof v === 'object' && 'deletionScheduled' in v), false);
    assert.equal((await signIn(server, user.email, user.password)).json.status, 'signed_in');
  });

  test('an account with a second factor asks for it before the restored sign-in', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'del2fa');
    const b = await signedIn(server, user);
    await enrolTotp(b);
    const del = await b.post('/api/v1/account/delete', { current_password: user.password });
    assert.equal(del.status, 200, del.text);
    const comeback = new Browser(server);
    const offer = await comeback.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(offer.json.status, 'deletion_pending', offer.text);
    const restored = await comeback.post('/api/v1/account/restore', { flow_id: offer.json.restore.flow_id });
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.json.status, 'mfa_required', restored.text);
    assert.equal((await comeback.session()).authenticated, false);
  });
});

describe('after the grace period, and SCIM DELETE (what deletion keeps)', () => {
  /** The user's audit events, read by the pseudonym the purge wrote. */
  function pseudonymised(server, id, type) {
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${id}' OR actor = '${id}'`)[0].n, 0, 'no event names the id');
    const purged = sql(server, `SELECT subject FROM audit_events WHERE type = '${type}' AND details LIKE '%events_pseudonymised%' ORDER BY seq DESC`);
    const pseud = purged[0]?.subject;
    assert.match(pseud ?? '', /^pseud:[A-Za-z0-9_-]{22}$/);
    const events = sql(server, `SELECT type, ip, user_agent, actor FROM audit_events WHERE subject = '${pseud}' ORDER BY seq`);
    return { pseud, events };
  }

  test('the janitor erases the account: no trace of the address anywhere; the audit events stay under a pseudonym without ip or user agent', async () => {
    const server = ctx.quick;
    const user = await newUser(server, 'delpurge');
    const reg = await registerClient(server, { client_name: 'Purge RP', scope: 'openid email offline_access' });
    const b = await signedIn(server, user);
    const tokens = await codeTokens(server, b, reg, 'openid email offline_access');
    await signIn(server, user.email, 'a-wrong-password-for-the-log'); // a failure event too
    assert.ok(holds(server, user.email), 'the address is stored before');
    const ua = sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}' AND user_agent IS NOT NULL`)[0].n;
    assert.ok(ua > 0, 'events carried a user agent');

    const del = await b.post('/api/v1/account/delete', { current_password: user.password });
    assert.equal(del.status, 200, del.text);
    const gone = await waitFor(() => sql(server, `SELECT count(*) AS n FROM users WHERE id = '${user.id}'`)[0].n === 0, 15_000, 200);
    assert.ok(gone, 'purged by the janitor after the grace period');

    assert.equal(holds(server, user.email), false, 'the address is nowhere in the database');
    for (const t of ['credentials', 'sessions', 'refresh_tokens', 'consents', 'devices', 'mfa_factors', 'email_flows', 'auth_codes'])
      assert.equal(sql(server, `SELECT count(*) AS n FROM ${t} WHERE user_id = '${user.id}'`)[0].n, 0, t);
    const { events } = pseudonymised(server, user.id, 'account.purged');
    const types = events.map((e) => e.type);
    for (const t of ['signin.succeeded', 'signin.failed', 'account.deletion_requested', 'account.purged'])
      assert.ok(types.includes(t), `${t} in ${types}`);
    assert.ok(events.every((e) => e.ip === null && e.user_agent === null), JSON.stringify(events));

    assert.equal((await refresh(server, reg, tokens.refresh_token)).status, 400);
    const after = await signIn(server, user.email, user.password);
    const unknown = await signIn(server, `nobody-${randomHex(4)}@example.com`, user.password);
    assert.deepEqual([after.status, after.json], [unknown.status, unknown.json], 'the address is free, like any unknown one');
  });

  test('SCIM DELETE erases at once the same way', async () => {
    const server = ctx.quick;
    const user = await newUser(server, 'delscim');
    const b = await signedIn(server, user);
    const copy = copyOf(server, b);
    const r = await scim(server, 'DELETE', `/Users/${user.id}`);
    assert.equal(r.status, 204, r.text);
    assert.equal((await copy.session()).authenticated, false);
    assert.equal(holds(server, user.email), false, 'the address is nowhere in the database');
    const { pseud, events } = pseudonymised(server, user.id, 'scim.user.deleted');
    const types = events.map((e) => e.type);
    assert.ok(types.includes('scim.user.created') && types.includes('signin.succeeded') && types.includes('scim.user.deleted'), String(types));
    assert.ok(events.filter((e) => e.type !== 'scim.user.deleted').every((e) => e.ip === null && e.user_agent === null));
    assert.equal(events.find((e) => e.type === 'scim.user.deleted').actor, 'admin');
    assert.equal((await scim(server, 'GET', `/Users/${user.id}`)).status, 404);
    assert.equal((await scim(server, 'DELETE', `/Users/${user.id}`)).status, 404);
    assert.notEqual(pseud, user.id);
  });

  test('the audit log refuses any other change (only erasure is let through)', () => {
    const server = ctx.quick;
    const trySql = (q) => { try { sqlExec(server, q); return 'ok'; } catch { return 'refused'; } };
    const seq = sql(server, 'SELECT max(seq) AS s FROM audit_events')[0].s;
    assert.equal(trySql(`UPDATE audit_events SET ip = NULL, user_agent = NULL WHERE seq = ${seq}`), 'ok', 'erasure');
    assert.equal(trySql(`UPDATE audit_events SET type = 'forged' WHERE seq = ${seq}`), 'refused');
    assert.equal(trySql(`UPDATE audit_events SET subject = 'someone-else' WHERE seq = ${seq}`), 'refused');
    assert.equal(trySql(`DELETE FROM audit_events WHERE seq = ${seq}`), 'refused');
  });
});
