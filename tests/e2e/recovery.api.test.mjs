// Forgot password (issue 18 item 1; docs/recovery.md) over the JSON API,
// against the real server with independent parts on the other side: mail
// caught by a real SMTP sink, TOTP codes from oathtool, passkeys from the
// software authenticator, tokens from a real code flow. Every "is it dead"
// check uses a COPY of the old credential (the old cookie, the old refresh
// token), never the client that dropped it. SECURITY.md ids cited:
//   #13 codes single-use and short-lived, #14 no account enumeration,
//   #20 bounded guesses, #32 recovery never weaker than the strongest
//   factor, #34 codes bound to their flow and browser.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, sql, randomHex, databaseContains } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, linkFrom, sentTo } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient, codeTokens, refresh } from './lib/oidc.mjs';
import { currentStep, codeAt, wrongCode, awayFromStepEdge, enrolTotp, addPasskey } from './lib/factors.mjs';
import { SoftAuthenticator } from './lib/webauthn.mjs';

const AAL1 = 'urn:gatehouse:aal1';
const RESET_SUBJECT = 'Reset your password';
const NOTICE_SUBJECT = 'Your password was reset';
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

/** The first mail to email with subject after index since. */
function mailAfter(since, email, subject) {
  return ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && sentTo(email)(m)
    && m.subject === subject, 10_000);
}

/** Asks for a reset in browser b; returns the answer and the mail. */
async function askReset(b, email, { expectMail = true } = {}) {
  const since = ctx.mail.messages.length;
  const r = await b.post('/api/v1/recovery', { email });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'code_sent');
  const msg = expectMail ? await mailAfter(since, email, RESET_SUBJECT) : null;
  return { r, msg };
}

function events(userId, type) {
  return sql(ctx.server, `SELECT type, outcome, reason FROM audit_events WHERE subject = '${userId}' AND type = '${type}' ORDER BY seq`);
}

async function passwordWorks(email, password) {
  const b = new Browser(ctx.server);
  const r = await b.post('/api/v1/signin', { email, password });
  return r.status === 200;
}

describe('forgot password: an account whose strongest factor is its password', () => {
  test('code, then a new password: signed in at AAL1; the old password, the old session (a copy of its cookie) and the old refresh token are dead; a notice is mailed (SECURITY.md #13, #32)', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'reset');
    const old = await signedIn(server, user);
    const oldCookie = copyOf(server, old);
    const reg = await registerClient(server, { client_name: 'Reset RP', scope: 'openid offline_access' });
    const fresh = await codeTokens(server, old, reg);

    const b = new Browser(server);
    const { r, msg } = await askReset(b, user.email);
    const code = codeFrom(msg);
    assert.match(code, /^\d{6}$/);
    assert.equal(linkFrom(msg).pathname, '/recover');
    assert.equal(databaseContains(server, code), false, 'the code is stored hashed');
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'recovery_password');
    assert.equal((await b.session()).authenticated, false, 'proving the email alone signs nobody in');
    assert.equal((await b.raw('GET', '/api/v1/recovery')).json.status, 'recovery_password');

    const pw = newPassword();
    const since = ctx.mail.messages.length;
    const done = await b.post('/api/v1/recovery/password', { password: pw });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.status, 'signed_in');
    assert.equal(done.json.acr, AAL1);
    const s = await b.session();
    assert.equal(s.authenticated, true);
    assert.equal(s.user.id, user.id);

    assert.equal(await passwordWorks(user.email, user.password), false, 'the old password');
    assert.equal(await passwordWorks(user.email, pw), true, 'the new password');
    assert.equal((await oldCookie.session()).authenticated, false, 'a copy of the old session cookie');
    const rt = await refresh(server, reg, fresh.refresh_token);
    assert.equal(rt.status, 400, JSON.stringify(rt.json));
    assert.equal(rt.json.error, 'invalid_grant');
    const notice = await mailAfter(since, user.email, NOTICE_SUBJECT);
    assert.doesNotMatch(notice.text, new RegExp(pw), 'no secret in the notice');
    assert.equal(events(user.id, 'recovery.completed').length, 1);
    assert.equal(events(user.id, 'recovery.started').length, 1);

    // the ticket is spent: a second reset from the same browser needs a new code
    const again = await b.post('/api/v1/recovery/password', { password: newPassword() });
    assert.equal(again.status, 400, again.text);
    assert.equal(again.json.error, 'flow_expired');
    // the code is spent too (SECURITY.md #13)
    const replay = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(replay.status, 400, replay.text);
  });

  test('the code works only in the browser that asked, and a weak new password changes nothing (SECURITY.md #34)', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'bound');
    const b = new Browser(server);
    const { r, msg } = await askReset(b, user.email);
    const elsewhere = new Browser(server);
    await elsewhere.session();
    const other = await elsewhere.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
    assert.equal(other.status, 400, other.text);
    assert.equal(other.json.error, 'other_browser');
    const link = new URL(linkFrom(msg));
    const otherLink = await elsewhere.post('/api/v1/verify', { flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token') });
    assert.equal(otherLink.json.error, 'other_browser');
    assert.equal((await elsewhere.post('/api/v1/recovery/password', { password: newPassword() })).status, 400);

    // the link in the browser that asked
    const v = await b.post('/api/v1/verify', { flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token') });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'recovery_password');
    const weak = await b.post('/api/v1/recovery/password', { password: '1234567890qwerty' });
    assert.equal(weak.status, 400, weak.text);
    assert.equal(weak.json.error, 'weak_password');
    assert.match(weak.json.error_description, /too common/, 'the list, not the length (SECURITY.md #4)');
    assert.equal(await passwordWorks(user.email, user.password), true, 'nothing changed');
    assert.equal((await b.raw('GET', '/api/v1/recovery')).json.status, 'recovery_password', 'the ticket is still good');
  });

  test('five wrong codes end the flow; the right code after them is refused (SECURITY.md #20)', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'guess');
    const b = new Browser(server);
    const { r, msg } = await askReset(b, user.email);
    const right = codeFrom(msg);
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const w = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: wrong });
      assert.equal(w.status, 400, w.text);
    }
    const late = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: right });
    assert.equal(late.status, 400, late.text);
    assert.equal(late.json.error, 'flow_expired');
    assert.equal(events(user.id, 'recovery.code_failed').length >= 5, true);
  });

  test('bad input gets a clear 4xx and changes nothing', async () => {
    const { server } = ctx;
    const b = new Browser(server);
    await b.session();
    const headers = { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf };
    const cases = [
      ['{"email":', 'malformed JSON'],
      ['{"email": 42}', 'a number'],
      ['{"email": ["a@example.com"]}', 'an array'],
      ['{"email": "not-an-address"}', 'not an address'],
      [`{"email": "${'a'.repeat(400)}@example.com"}`, 'too long'],
      [Buffer.concat([Buffer.from('{"email": "a'), Buffer.from([0xc3, 0x28]), Buffer.from('@example.com"}')]), 'broken UTF-8'],
    ];
    const before = Number(sql(server, 'SELECT count(*) AS n FROM email_flows')[0].n);
    for (const [body, what] of cases) {
      const res = await b.raw('POST', '/api/v1/recovery', { body, headers });
      assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${res.text}`);
      assert.ok(res.json?.error, `${what}: an error code`);
    }
    const noCsrf = await b.post('/api/v1/recovery', { email: 'x@example.com' }, { csrf: false });
    assert.equal(noCsrf.status, 403);
    const after = Number(sql(server, 'SELECT count(*) AS n FROM email_flows')[0].n);
    assert.equal(after, before, 'no flow was opened');
    const pw = await b.raw('POST', '/api/v1/recovery/password', { body: '{"password": 7}', headers });
    assert.equal(pw.status, 400, pw.text);
  });
});

describe('forgot password: accounts with a stronger factor (SECURITY.md #32)', () => {
  async function userWithTotp(tag) {
    const user = await newUser(ctx.server, tag);
    const b = await signedIn(ctx.server, user);
    const totp = await enrolTotp(b);
    return { ...user, totp };
  }

  /** A browser whose reset has passed the emailed code; returns it and the answer. */
  async function emailProved(user) {
    const b = new Browser(ctx.server);
    const { r, msg } = await askReset(b, user.email);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
    assert.equal(v.status, 200, v.text);
    return { b, v };
  }

  test('authenticator app: the emailed code alone cannot set a password; a wrong app code counts; the right one leads to the new password, at AAL1 and never higher', async () => {
    const user = await userWithTotp('rtotp');
    const { b, v } = await emailProved(user);
    assert.equal(v.json.status, 'recovery_factor_required');
    assert.deepEqual(v.json.methods.sort(), ['recovery_code', 'totp']);
    const skip = await b.post('/api/v1/recovery/password', { password: newPassword() });
    assert.equal(skip.status, 400, skip.text);
    assert.equal(await passwordWorks(user.email, user.password), true);
    assert.equal((await b.raw('GET', '/api/v1/recovery')).json.status, 'recovery_factor_required');
    const info = await b.raw('GET', '/api/v1/signin/mfa');
    assert.equal(info.json.context, 'recovery');

    const bad = await b.post('/api/v1/signin/mfa', { code: wrongCode(user.totp.secret) });
    assert.equal(bad.status, 401, bad.text);
    assert.equal(events(user.id, 'recovery.factor_failed').length, 1);
    await awayFromStepEdge();
    const ok = await b.post('/api/v1/signin/mfa', { code: codeAt(user.totp.secret, currentStep()) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'recovery_password');
    assert.equal((await b.session()).authenticated, false, 'the factor step never signs in');

    const pw = newPassword();
    const done = await b.post('/api/v1/recovery/password', { password: pw });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.acr, AAL1, 'email and an app code are one factor of substance: AAL1');
    assert.equal(await passwordWorks(user.email, pw), true);
    // the app stays: the next sign-in still asks for it
    const next = await new Browser(ctx.server).post('/api/v1/signin', { email: user.email, password: pw });
    assert.equal(next.json.status, 'mfa_required', next.text);
  });

  test('a recovery code passes the factor step, once', async () => {
    const user = await userWithTotp('rcode');
    const { b } = await emailProved(user);
    const used = user.totp.recoveryCodes[0];
    const ok = await b.post('/api/v1/signin/mfa', { recovery_code: used });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'recovery_password');
    assert.equal((await b.post('/api/v1/recovery/password', { password: newPassword() })).status, 200);
    const { b: b2 } = await emailProved(user);
    const again = await b2.post('/api/v1/signin/mfa', { recovery_code: used });
    assert.equal(again.status, 401, again.text);
  });

  test('CVE-2026-18963: the emailed code alone on an account with a passkey resets nothing; the passkey does', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'rpk');
    const signed = await signedIn(server, user);
    const auth = new SoftAuthenticator({ origin: new URL(server.issuer).origin });
    const added = await addPasskey(signed, auth, { name: 'Laptop' });
    assert.equal(added.r.status, 200, added.r.text);

    // the attacker holds the mailbox, not the passkey
    const { b, v } = await emailProved(user);
    assert.equal(v.json.status, 'recovery_factor_required');
    assert.deepEqual(v.json.methods.sort(), ['passkey', 'recovery_code']); // a passkey comes with recovery codes
    for (const attempt of [
      () => b.post('/api/v1/recovery/password', { password: newPassword() }),
      () => b.post('/api/v1/signin/mfa', { code: '123456' }),
      () => b.post('/api/v1/signin/mfa', { recovery_code: 'AAAAA-BBBBB' }),
    ]) {
      const res = await attempt();
      assert.ok([400, 401].includes(res.status), `${res.status} ${res.text}`);
    }
    assert.equal(await passwordWorks(user.email, user.password), true, 'the password is unchanged');
    assert.equal(events(user.id, 'recovery.completed').length, 0);

    // the owner, with the passkey
    const o = await b.post('/api/v1/signin/mfa/passkey/options', {});
    assert.equal(o.status, 200, o.text);
    const ok = await b.post('/api/v1/signin/mfa', { passkey: auth.get(o.json.publicKey) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'recovery_password');
    const pw = newPassword();
    assert.equal((await b.post('/api/v1/recovery/password', { password: pw })).status, 200);
    assert.equal(await passwordWorks(user.email, pw), true);
  });
});

describe('forgot password: nobody learns whether an address has an account (SECURITY.md #14)', () => {
  test('known and unknown addresses: same status, same body shape, no mail to the unknown, medians within 30 ms over 30 tries', async () => {
    const { server } = ctx;
    const known = [];
    for (let i = 0; i < 30; i++) known.push((await newUser(server, 'enum')).email);
    const unknown = known.map((e) => `nobody-${randomHex(5)}-${e}`);
    const time = async (email) => {
      const b = new Browser(server);
      await b.session();
      const t0 = process.hrtime.bigint();
      const r = await b.post('/api/v1/recovery', { email });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      return { r, ms };
    };
    const tk = [];
    const tu = [];
    for (let i = 0; i < 30; i++) {
      const a = await time(known[i]);
      const c = await time(unknown[i]);
      assert.equal(a.r.status, 200, a.r.text);
      assert.equal(c.r.status, 200, c.r.text);
      assert.deepEqual(Object.keys(a.r.json).sort(), Object.keys(c.r.json).sort());
      assert.equal(a.r.json.status, c.r.json.status);
      assert.equal(c.r.json.email, unknown[i]);
      tk.push(a.ms);
      tu.push(c.ms);
    }
    const median = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const gap = Math.abs(median(tk) - median(tu));
    assert.ok(gap < 30, `median known ${median(tk).toFixed(1)} ms, unknown ${median(tu).toFixed(1)} ms`);
    await ctx.mail.waitFor(sentTo(known[29]), 10_000);
    for (const e of unknown) assert.equal(ctx.mail.messages.some(sentTo(e)), false, `mail to ${e}`);
  });
});

describe('waiting-period recovery: every factor lost ("I can\'t use any of these")', () => {
  const WAIT_S = 4;
  const w = {};
  before(async () => {
    w.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_RECOVERY_WAIT: String(WAIT_S) } });
  });

  async function userWithTotpOn(server, tag) {
    const user = await newUser(server, tag);
    const totp = await enrolTotp(await signedIn(server, user));
    return { ...user, totp };
  }

  /** The emailed code proven in a new browser of server; returns it and the answer. */
  async function proveEmail(server, user) {
    const b = new Browser(server);
    const since = ctx.mail.messages.length;
    const r = await b.post('/api/v1/recovery', { email: user.email });
    assert.equal(r.status, 200, r.text);
    const msg = await mailAfter(since, user.email, RESET_SUBJECT);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
    assert.equal(v.status, 200, v.text);
    return { b, v };
  }

  async function startWait(server, user) {
    const { b, v } = await proveEmail(server, user);
    assert.equal(v.json.status, 'recovery_factor_required');
    const since = ctx.mail.messages.length;
    const s = await b.post('/api/v1/recovery/wait', {});
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.status, 'recovery_waiting');
    const notice = await mailAfter(since, user.email, 'A password reset is waiting');
    const link = /(https?:\/\/\S+\/recover\/cancel\?wait=[\w-]+&token=[\w-]+)/.exec(notice.text);
    assert.ok(link, notice.text);
    return { b, started: s.json, since, cancel: new URL(link[1]) };
  }

  const waitRow = (server, userId) => sql(server, `SELECT state, reason FROM recovery_waits WHERE user_id = '${userId}' ORDER BY started_at DESC`)[0];
  const factorCount = (server, userId) => Number(sql(server, `SELECT count(*) AS n FROM mfa_factors WHERE user_id = '${userId}'`)[0].n)
    + Number(sql(server, `SELECT count(*) AS n FROM recovery_codes WHERE user_id = '${userId}'`)[0].n);

  test('the wait starts without a factor, the address is told at once and reminded before the end; after it, the reset removes every factor (SECURITY.md #32)', async () => {
    const { server } = w;
    const user = await userWithTotpOn(server, 'wait');
    const { started, since } = await startWait(server, user);
    assert.ok(started.ends_at > Date.now() + 2000, 'ends in the future');
    // during the wait, the emailed code alone still opens nothing
    const early = await proveEmail(server, user);
    assert.equal(early.v.json.status, 'recovery_waiting', early.v.text);
    assert.equal((await early.b.post('/api/v1/recovery/password', { password: newPassword() })).status, 400);
    await mailAfter(since, user.email, 'Your password reset ends soon');
    await new Promise((res) => setTimeout(res, Math.max(0, started.ends_at - Date.now()) + 300));

    const { b, v } = await proveEmail(server, user);
    assert.equal(v.json.status, 'recovery_password', v.text);
    const pw = newPassword();
    const done = await b.post('/api/v1/recovery/password', { password: pw });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.factors_removed, true);
    assert.equal(done.json.acr, AAL1);
    assert.equal(factorCount(server, user.id), 0, 'apps, passkeys and recovery codes removed');
    assert.equal(waitRow(server, user.id).state, 'completed');
    // the next sign-in needs only the new password: nothing left to ask for
    const next = await new Browser(server).post('/api/v1/signin', { email: user.email, password: pw });
    assert.equal(next.json.status, 'signed_in', next.text);
  });

  test('a sign-in by the owner with a factor cancels the wait, and after its end the factor is still required', async () => {
    const { server } = w;
    const user = await userWithTotpOn(server, 'waitcancel');
    const { started, since } = await startWait(server, user);
    const { b } = await (async () => {
      const br = new Browser(server);
      const r = await br.post('/api/v1/signin', { email: user.email, password: user.password });
      assert.equal(r.json.status, 'mfa_required', r.text);
      await awayFromStepEdge();
      const m = await br.post('/api/v1/signin/mfa', { code: codeAt(user.totp.secret, currentStep()) });
      assert.equal(m.status, 200, m.text);
      return { b: br };
    })();
    assert.equal((await b.session()).authenticated, true);
    assert.equal(waitRow(server, user.id).state, 'cancelled');
    await mailAfter(since, user.email, 'Password reset cancelled');
    await new Promise((res) => setTimeout(res, Math.max(0, started.ends_at - Date.now()) + 300));
    const after = await proveEmail(server, user);
    assert.equal(after.v.json.status, 'recovery_factor_required', 'the cancelled wait opens nothing');
    assert.ok(factorCount(server, user.id) > 0);
  });

  test('the cancel link in the mail cancels it; a forged or replayed link does nothing', async () => {
    const { server } = w;
    const user = await userWithTotpOn(server, 'waitlink');
    const { cancel } = await startWait(server, user);
    const b = new Browser(server);
    const wait = cancel.searchParams.get('wait');
    const real = cancel.searchParams.get('token');
    // the first character changed, never to itself (a random token starts with x once in 64)
    const forged = await b.post('/api/v1/recovery/wait/cancel', { wait_id: wait, token: `${real[0] === 'x' ? 'y' : 'x'}${real.slice(1)}` });
    assert.equal(forged.status, 400, forged.text);
    assert.equal(waitRow(server, user.id).state, 'waiting');
    const ok = await b.post('/api/v1/recovery/wait/cancel', { wait_id: wait, token: cancel.searchParams.get('token') });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(waitRow(server, user.id).state, 'cancelled');
    const again = await b.post('/api/v1/recovery/wait/cancel', { wait_id: wait, token: cancel.searchParams.get('token') });
    assert.equal(again.status, 400, again.text);
  });

  test('an operator sees the wait, shortens it, or cancels it through the admin API; nobody else can', async () => {
    const { server } = ctx; // the default 72-hour wait
    const user = await userWithTotpOn(server, 'waitop');
    await startWait(server, user);
    const admin = (method, body, token = server.token) => fetch(`${server.url}/admin/v1/users/${user.id}/recovery`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    assert.equal((await admin('GET', undefined, 'not-the-token')).status, 401);
    const seen = await admin('GET');
    const row = await seen.json();
    assert.equal(seen.status, 200, JSON.stringify(row));
    assert.equal(row.state, 'waiting');
    assert.ok(row.ends_at - row.started_at >= 72 * 3600 * 1000 - 1000);
    assert.equal((await admin('POST', { action: 'explode' })).status, 400);
    const short = await admin('POST', { action: 'shorten', ends_in: 0, reason: 'ticket 4711: identity checked by phone' });
    assert.equal(short.status, 200, await short.text());
    const { b, v } = await proveEmail(server, user);
    assert.equal(v.json.status, 'recovery_password', v.text);
    assert.equal((await b.post('/api/v1/recovery/password', { password: newPassword() })).status, 200);
    assert.equal(events(user.id, 'recovery.shortened').length, 1);

    const other = await userWithTotpOn(server, 'waitop2');
    await startWait(server, other);
    const cancel = await fetch(`${server.url}/admin/v1/users/${other.id}/recovery`, {
      method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'cancel' }),
    });
    assert.equal(cancel.status, 200, await cancel.text());
    const gone = await fetch(`${server.url}/admin/v1/users/${other.id}/recovery`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(gone.status, 404);
    const again = await fetch(`${server.url}/admin/v1/users/${other.id}/recovery`, {
      method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'cancel' }),
    });
    assert.equal(again.status, 404, 'nothing left to cancel');
  });
});
