// Security notices and what their links do (issue 18 items 3 and 8;
// docs/recovery.md "This wasn't me", docs/accounts-api.md POST
// /api/v1/email), against the real server with mail caught by a real SMTP
// sink and tokens from a real code flow. Every "is it dead" check uses a
// COPY of the old credential. SECURITY.md ids cited:
//   #13 single-use links and codes, #14 no account enumeration,
//   #30 re-authentication for sensitive changes, #33 notices of security
//   events, #34 codes bound to their flow and browser.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, scim, sql, randomHex, databaseContains } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient, codeTokens, refresh } from './lib/oidc.mjs';

const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SUBJECT = {
  changed: 'Your password was changed',
  reset: 'Your password was reset',
  resetCode: 'Reset your password',
  newDevice: 'A sign-in from a new device',
  emailCode: 'Confirm your new email address',
  emailChanged: 'Your email address was changed',
};
const newPassword = () => `Harbour-${randomHex(6)}-Willow-${randomHex(3)}`;

const ctx = {};
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({
    env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000' },
  });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

/** The first mail to email with subject whose index is since or later. */
function mailAfter(since, email, subject) {
  return ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && sentTo(email)(m)
    && m.subject === subject, 10_000);
}

/** Mails to email with subject from index since on, now. */
function mailsNow(since, email, subject) {
  return ctx.mail.messages.slice(since).filter((m) => sentTo(email)(m) && m.subject === subject);
}

/** The notice link (lock or undo) in a mail: {kind, token}. */
function noticeLink(m) {
  const found = /(https?:\/\/\S+\/recover\/lock#(lock|undo)=([\w-]{43}))/.exec(m.text ?? '');
  assert.ok(found, `no notice link in the mail: ${m.text}`);
  assert.ok((m.html ?? '').includes(found[1]), 'the HTML part carries the same link');
  return { url: new URL(found[1]), kind: found[2], token: found[3] };
}

function events(userId, type) {
  return sql(ctx.server, `SELECT type, outcome, reason FROM audit_events WHERE subject = '${userId}' AND type = '${type}' ORDER BY seq`);
}

async function signIn(email, password, headers = {}) {
  const b = new Browser(ctx.server);
  const r = await b.post('/api/v1/signin', { email, password }, { headers });
  return { b, r };
}

async function userinfo(accessToken) {
  const res = await fetch(`${ctx.server.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, json: res.status === 200 ? await res.json() : null };
}

/** Completes the recovery the lock opened, in browser b: its code, then a
 * new password. Returns the new password. */
async function finishRecovery(b, email, flowId, since) {
  const msg = await mailAfter(since, email, SUBJECT.resetCode);
  const v = await b.post('/api/v1/verify', { flow_id: flowId, code: codeFrom(msg) });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.status, 'recovery_password');
  const pw = newPassword();
  const done = await b.post('/api/v1/recovery/password', { password: pw });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.status, 'signed_in');
  return pw;
}

describe('"This wasn\'t me" from a password notice', () => {
  test('the link locks the account: every session (copies of cookies) and token ends, no sign-in works, the link works once; the recovery it opens unlocks the account (SECURITY.md #13, #33)', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'lock');
    const b = await signedIn(server, user);
    const other = await signedIn(server, user);
    const otherCookie = copyOf(server, other);
    const reg = await registerClient(server, { client_name: 'Lock RP', scope: 'openid email offline_access' });
    const tokens = await codeTokens(server, other, reg, 'openid email offline_access');
    assert.equal((await userinfo(tokens.access_token)).status, 200);

    // the change the owner did not make: a password change in session b
    const since = ctx.mail.messages.length;
    const pw = newPassword();
    const ch = await b.post('/api/v1/password', { password: pw, current_password: user.password, sign_out_others: false });
    assert.equal(ch.status, 200, ch.text);
    const bCookie = copyOf(server, b);
    const notice = await mailAfter(since, user.email, SUBJECT.changed);
    const link = noticeLink(notice);
    assert.equal(link.kind, 'lock');
    assert.equal(link.url.pathname, '/recover/lock');
    assert.match(notice.text, /works once,\s+for 7 days/);
    assert.equal(databaseContains(server, link.token), false, 'the link is stored hashed');

    // the owner, in a browser of their own
    const owner = new Browser(server);
    const since2 = ctx.mail.messages.length;
    const lock = await owner.post('/api/v1/recovery/lock', { token: link.token });
    assert.equal(lock.status, 200, lock.text);
    assert.equal(lock.json.status, 'locked');
    assert.equal(lock.json.email, user.email);
    assert.equal(lock.json.email_restored, false);
    assert.ok(lock.json.flow_id);

    assert.equal((await bCookie.session()).authenticated, false, 'a copy of the changer\'s session cookie');
    assert.equal((await otherCookie.session()).authenticated, false, 'a copy of the other session cookie');
    const rt = await refresh(server, reg, tokens.refresh_token);
    assert.equal(rt.status, 400, JSON.stringify(rt.json));
    assert.equal(rt.json.error, 'invalid_grant');
    assert.equal((await userinfo(tokens.access_token)).status, 401, 'the access token issued before');

    // nobody signs in, with the password the changer set or any other
    const locked = await signIn(user.email, pw);
    const wrong = await signIn(user.email, `${pw}-wrong`);
    assert.equal(locked.r.status, wrong.r.status, 'a locked account answers like a wrong password');
    assert.deepEqual(locked.r.json, wrong.r.json);
    assert.equal((await locked.b.session()).authenticated, false);
    assert.equal(events(user.id, 'account.locked').length, 1);
    assert.ok(events(user.id, 'signin.failed').some((e) => e.reason === 'account locked by its owner'));

    // the link works once (SECURITY.md #13), and a forged one never
    const again = await new Browser(server).post('/api/v1/recovery/lock', { token: link.token });
    assert.equal(again.status, 400, again.text);
    assert.equal(again.json.error, 'link_expired');
    const forged = await new Browser(server).post('/api/v1/recovery/lock', { token: 'A'.repeat(43) });
    assert.equal(forged.status, 400);
    assert.equal(forged.json.error, 'link_expired');
    for (const bad of [{}, { token: 42 }, { token: 'short' }, { token: `${'A'.repeat(42)}!` }]) {
      const r = await new Browser(server).post('/api/v1/recovery/lock', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
    const noCsrf = await new Browser(server).post('/api/v1/recovery/lock', { token: link.token }, { csrf: false });
    assert.equal(noCsrf.status, 403);

    // the recovery it opened, in the owner's browser: then the lock is gone
    const final = await finishRecovery(owner, user.email, lock.json.flow_id, since2);
    assert.equal((await owner.session()).authenticated, true);
    const back = await signIn(user.email, final);
    assert.equal(back.r.status, 200, back.r.text);
    assert.equal((await signIn(user.email, pw)).r.status, wrong.r.status, 'the changer\'s password is gone');
    // the reset's own sign-in sent no new-device notice: its notice says it
    await mailAfter(since2, user.email, SUBJECT.reset);
    await mailAfter(since2, user.email, SUBJECT.newDevice);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(mailsNow(since2, user.email, SUBJECT.newDevice).length, 1, 'only the later sign-in in a new browser');
  });

  test('the reset notice carries a lock link too, which locks the account again', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'relock');
    const b = new Browser(server);
    const since = ctx.mail.messages.length;
    const start = await b.post('/api/v1/recovery', { email: user.email });
    assert.equal(start.status, 200);
    const pw = await finishRecovery(b, user.email, start.json.flow_id, since);
    const notice = await mailAfter(since, user.email, SUBJECT.reset);
    const link = noticeLink(notice);
    const bCookie = copyOf(server, b);
    const lock = await new Browser(server).post('/api/v1/recovery/lock', { token: link.token });
    assert.equal(lock.status, 200, lock.text);
    assert.equal((await bCookie.session()).authenticated, false);
    assert.notEqual((await signIn(user.email, pw)).r.status, 200);
  });
});

describe('a sign-in from a new device', () => {
  test('the owner is told the browser, system, network and time, once per device; the first device after sign-up is no news (SECURITY.md #33)', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'device');
    const since = ctx.mail.messages.length;
    const first = await signIn(user.email, user.password);
    assert.equal(first.r.status, 200);
    const second = await signIn(user.email, user.password, { 'user-agent': FIREFOX_WINDOWS });
    assert.equal(second.r.status, 200);
    const notice = await mailAfter(since, user.email, SUBJECT.newDevice);
    assert.match(notice.text, /Firefox on Windows/);
    assert.match(notice.text, /from the network 127\.0\.0\.0\/24/);
    assert.match(notice.text, /at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    assert.equal(noticeLink(notice).kind, 'lock');
    assert.doesNotMatch(notice.text, new RegExp(user.password), 'no secret in the notice');
    // the same browser (its device cookie) again: no news
    const again = await second.b.post('/api/v1/signin', { email: user.email, password: user.password }, { headers: { 'user-agent': FIREFOX_WINDOWS } });
    assert.equal(again.status, 200);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(mailsNow(since, user.email, SUBJECT.newDevice).length, 1);
  });
});

describe('change of email address', () => {
  test('the new address is proven by code in the same browser and session; then SCIM, userinfo and sign-in use it, verified; the old address is told with a masked new one (SECURITY.md #30, #33, #34)', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'move');
    const b = await signedIn(server, user);
    const newEmail = `moved-${randomHex(4)}@example.com`;

    // re-authentication: a wrong current password is refused and counted
    const wrong = await b.post('/api/v1/email', { email: newEmail, current_password: 'not-it-at-all' });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.json.error, 'wrong_password');
    assert.equal(events(user.id, 'reauth.failed').length, 1);
    // bad input changes nothing
    for (const bad of [{}, { email: 'not an address' }, { email: 42 }, { email: user.email }]) {
      const r = await b.post('/api/v1/email', bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
    }
    const broken = await b.raw('POST', '/api/v1/email', { body: '{"email": ', headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf } });
    assert.equal(broken.status, 400);
    const noCsrf = await b.post('/api/v1/email', { email: newEmail }, { csrf: false });
    assert.equal(noCsrf.status, 403);
    const anon = await new Browser(server).post('/api/v1/email', { email: newEmail });
    assert.equal(anon.status, 401);

    const since = ctx.mail.messages.length;
    const ask = await b.post('/api/v1/email', { email: newEmail, current_password: user.password });
    assert.equal(ask.status, 200, ask.text);
    assert.equal(ask.json.status, 'verification_required');
    const codeMail = await mailAfter(since, newEmail, SUBJECT.emailCode);
    const code = codeFrom(codeMail);
    assert.equal(databaseContains(server, code), false, 'the code is stored hashed');
    assert.equal((await scim(server, 'GET', `/Users/${user.id}`)).body.emails[0].value, user.email, 'nothing changes before the code');

    // the code in a copy of the session cookie without the browser's binding, or another browser
    const elsewhere = await signedIn(server, user);
    const there = await elsewhere.post('/api/v1/verify', { flow_id: ask.json.flow_id, code });
    assert.equal(there.status, 400, there.text);
    assert.equal(there.json.error, 'other_browser');

    const ok = await b.post('/api/v1/verify', { flow_id: ask.json.flow_id, code });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'email_changed');
    assert.equal(ok.json.email, newEmail);
    const replay = await b.post('/api/v1/verify', { flow_id: ask.json.flow_id, code });
    assert.equal(replay.status, 400, 'the code is spent');

    const u = (await scim(server, 'GET', `/Users/${user.id}`)).body;
    assert.equal(u.emails[0].value, newEmail);
    assert.equal(u.userName, user.email === u.userName ? user.email : u.userName);
    assert.equal((await b.session()).user.email, newEmail);
    const reg = await registerClient(server, { client_name: 'Email RP', scope: 'openid email offline_access' });
    const t = await codeTokens(server, b, reg, 'openid email offline_access');
    const ui = await userinfo(t.access_token);
    assert.equal(ui.json.email, newEmail);
    assert.equal(ui.json.email_verified, true);
    assert.equal((await signIn(newEmail, user.password)).r.status, 200);
    assert.notEqual((await signIn(user.email, user.password)).r.status, 200);
    assert.equal(events(user.id, 'email.changed').length, 1);

    const told = await mailAfter(since, user.email, SUBJECT.emailChanged);
    assert.match(told.text, new RegExp(`m\\*\\*\\*@example\\.com`));
    assert.ok(!told.text.includes(newEmail) && !(told.html ?? '').includes(newEmail), 'the new address is masked');
    assert.equal(noticeLink(told).kind, 'undo');
  });

  test('"Undo the change" from the old address restores it, locks the account and sends the recovery code there', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'undo');
    const b = await signedIn(server, user);
    const bCookie = copyOf(server, b);
    const newEmail = `thief-${randomHex(4)}@example.com`;
    const since = ctx.mail.messages.length;
    const ask = await b.post('/api/v1/email', { email: newEmail });
    assert.equal(ask.status, 200, ask.text);
    const code = codeFrom(await mailAfter(since, newEmail, SUBJECT.emailCode));
    assert.equal((await b.post('/api/v1/verify', { flow_id: ask.json.flow_id, code })).status, 200);
    const link = noticeLink(await mailAfter(since, user.email, SUBJECT.emailChanged));

    const owner = new Browser(server);
    const since2 = ctx.mail.messages.length;
    const undo = await owner.post('/api/v1/recovery/lock', { token: link.token });
    assert.equal(undo.status, 200, undo.text);
    assert.equal(undo.json.email_restored, true);
    assert.equal(undo.json.email, user.email);
    assert.equal((await scim(server, 'GET', `/Users/${user.id}`)).body.emails[0].value, user.email);
    assert.equal((await bCookie.session()).authenticated, false);
    assert.notEqual((await signIn(user.email, user.password)).r.status, 200, 'locked');
    assert.notEqual((await signIn(newEmail, user.password)).r.status, 200);
    // the recovery code goes to the restored address, never the thief's
    await finishRecovery(owner, user.email, undo.json.flow_id, since2);
    assert.equal(mailsNow(since2, newEmail, SUBJECT.resetCode).length, 0);
  });

  test('an address another account holds gets the same first answer; its owner learns it at confirmation (409) and nothing changes (SECURITY.md #14)', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'taker');
    const holder = await newUser(server, 'holder');
    const b = await signedIn(server, user);
    const free = await b.post('/api/v1/email', { email: `free-${randomHex(4)}@example.com` });
    const since = ctx.mail.messages.length;
    const taken = await b.post('/api/v1/email', { email: holder.email });
    assert.equal(taken.status, free.status);
    assert.deepEqual(Object.keys(taken.json).sort(), Object.keys(free.json).sort());
    assert.equal(taken.json.status, free.json.status);
    const code = codeFrom(await mailAfter(since, holder.email, SUBJECT.emailCode));
    const r = await b.post('/api/v1/verify', { flow_id: taken.json.flow_id, code });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error, 'email_taken');
    assert.equal((await scim(server, 'GET', `/Users/${user.id}`)).body.emails[0].value, user.email);
    assert.equal((await scim(server, 'GET', `/Users/${holder.id}`)).body.emails[0].value, holder.email);
  });
});
