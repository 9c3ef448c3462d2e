// "Download my data" over the API (issue 18 item 7; docs/accounts-api.md):
// POST /api/v1/account/export answers one JSON document of what Gatehouse
// holds about the signed-in customer, as a download. SECURITY.md ids cited:
//   #30 re-authentication before sensitive actions (the document maps where
//       and when the customer signs in), #12 rate limits with Retry-After.
// The document must carry no secret: every secret this account was ever
// given (password, TOTP seed, recovery codes, cookies, tokens, emailed
// codes) is looked for in its text and must be absent.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { registerClient, codeTokens } from './lib/oidc.mjs';
import { SoftAuthenticator, b64url } from './lib/webauthn.mjs';
import { enrolTotp, addPasskey, currentStep, codeAt, awayFromStepEdge } from './lib/factors.mjs';

const FORMAT = 'gatehouse.account-export/1';
const strong = () => `Glacier-${randomHex(6)}-Orchard`;

const ctx = {};
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const exportOf = (b, body = {}, opts) => b.post('/api/v1/account/export', body, opts);

/** A customer who signed up (a verification code mailed), with an
 * authenticator app, recovery codes, a passkey, a profile, a third-party
 * app's consent with a refresh token, two sessions, and an emailed sign-in
 * code: something in every section. Returns every secret it was given. */
async function fullAccount() {
  const { server, mail } = ctx;
  const b0 = new Browser(server);
  const email = `export-${randomHex(5)}@example.com`;
  const password = strong();
  const up = await b0.post('/api/v1/signup', { email, password });
  assert.equal(up.status, 200, up.text);
  const verifyMail = await mail.waitFor(sentTo(email), 10_000);
  const v = await b0.post('/api/v1/verify', { flow_id: up.json.flow_id, code: codeFrom(verifyMail) });
  assert.equal(v.status, 200, v.text);
  const id = (await b0.session()).user.id;
  const totp = await enrolTotp(b0);

  // An AAL2 session: password, then the app's code of the step offset from
  // now (each code works once).
  const signInAal2 = async (offset) => {
    const b = new Browser(server);
    const r = await b.post('/api/v1/signin', { email, password });
    assert.equal(r.json.status, 'mfa_required', r.text);
    const m = await b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep() + offset) });
    assert.equal(m.status, 200, m.text);
    await b.session();
    return b;
  };
  await awayFromStepEdge(5);
  const b = await signInAal2(0);
  const auth = new SoftAuthenticator({ origin: new URL(server.issuer).origin });
  const pk = await addPasskey(b, auth, { name: 'Laptop' });
  assert.equal(pk.r.status, 200, pk.r.text);
  const patch = await b.raw('PATCH', '/api/v1/profile', {
    body: JSON.stringify({ given_name: 'Zoë', family_name: 'Ångström', locale: 'de-CH', zoneinfo: 'Europe/Zurich' }),
    headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf },
  });
  assert.equal(patch.status, 200, patch.text);

  const reg = await registerClient(server, { client_name: `Orchard Notes ${randomHex(2)}`, scope: 'openid email offline_access' },
    { firstParty: false });
  const tokens = await codeTokens(server, b, reg, 'openid email offline_access');

  const elsewhere = await signInAal2(1);
  // A password-reset code, mailed and never used.
  const before = mail.messages.length;
  const e = await new Browser(server).post('/api/v1/recovery', { email });
  assert.equal(e.status, 200, e.text);
  const codeMail = await mail.waitFor((m) => mail.messages.indexOf(m) >= before && sentTo(email)(m)
    && m.subject === 'Reset your password', 10_000);
  await b.session();
  return {
    email, password, id, b, elsewhere, totp, auth, pk, reg, tokens,
    mails: [verifyMail, codeMail],
    codes: [codeFrom(verifyMail), codeFrom(codeMail)],
  };
}

/** Every secret the account was given, by name. */
function secretsOf(a) {
  const s = {
    password: a.password,
    'TOTP seed': a.totp.secret,
    'refresh token': a.tokens.refresh_token,
    'access token': a.tokens.access_token,
    'ID token': a.tokens.id_token,
    'client secret': a.reg.client_secret,
  };
  a.totp.recoveryCodes.forEach((c, i) => { s[`recovery code ${i + 1}`] = c; });
  a.codes.forEach((c, i) => { s[`emailed code ${i + 1}`] = c; });
  for (const m of a.mails) {
    for (const [, tok] of (m.text ?? '').matchAll(/token=([\w-]+)/g)) s[`link token ${tok.slice(0, 6)}`] = tok;
  }
  for (const [who, br] of [['this browser', a.b], ['the other browser', a.elsewhere]]) {
    for (const [k, v] of br.jar) s[`${who}'s cookie ${k}`] = v;
    s[`${who}'s CSRF token`] = br.csrf;
  }
  s['passkey public key'] = b64url(a.pk.cred.coseKey());
  s['passkey credential id'] = a.pk.cred.idB64;
  return Object.fromEntries(Object.entries(s).filter(([, v]) => typeof v === 'string' && v.length >= 6));
}

describe('the export (issue 18 item 7)', () => {
  test('a full account: every section with the right values, as a download that is never cached', async () => {
    const a = await fullAccount();
    const r = await exportOf(a.b);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="gatehouse-data-${today}.json"`);
    assert.match(r.headers.get('cache-control'), /no-store/);
    const d = r.json;
    assert.equal(d.format, FORMAT);
    assert.ok(Math.abs(Date.parse(d.exported_at) - Date.now()) < 60_000, d.exported_at);

    assert.equal(d.profile.id, a.id);
    assert.equal(d.profile.email, a.email);
    assert.equal(d.profile.email_verified, true);
    assert.equal(d.profile.given_name, 'Zoë');
    assert.equal(d.profile.family_name, 'Ångström');
    assert.equal(d.profile.locale, 'de-CH');
    assert.equal(d.profile.zoneinfo, 'Europe/Zurich');
    assert.ok(Date.parse(d.profile.created_at) <= Date.parse(d.profile.updated_at));

    const au = d.authentication;
    assert.equal(au.password.set, true);
    assert.ok(Date.parse(au.password.set_at) > 0);
    assert.equal(au.authenticator_apps.length, 1);
    assert.equal(au.authenticator_apps[0].id, a.totp.id);
    assert.equal(au.authenticator_apps[0].confirmed, true);
    assert.ok(au.authenticator_apps[0].last_used_at, 'the sign-ins used it');
    assert.equal(au.passkeys.length, 1);
    assert.equal(au.passkeys[0].name, 'Laptop');
    assert.ok(Date.parse(au.passkeys[0].created_at) > 0);
    assert.equal(au.passkeys[0].last_used_at, null, 'never used to sign in');
    assert.equal(au.passkeys[0].backup_eligible, false);
    assert.ok('aaguid' in au.passkeys[0]);
    assert.equal(au.recovery_codes.left, a.totp.recoveryCodes.length);
    assert.equal(au.recovery_codes.issued, a.totp.recoveryCodes.length);

    const sessions = d.sessions.filter((s) => s.active);
    assert.ok(sessions.length >= 2, JSON.stringify(d.sessions));
    const current = d.sessions.filter((s) => s.current);
    assert.equal(current.length, 1);
    assert.equal(current[0].assurance_level, 2);
    assert.ok(Array.isArray(current[0].methods) && current[0].methods.includes('pwd'), JSON.stringify(current[0]));
    assert.ok('ip' in current[0] && 'user_agent' in current[0]);

    const app = d.connected_apps.find((x) => x.client_id === a.reg.client_id);
    assert.ok(app, JSON.stringify(d.connected_apps));
    assert.equal(app.client_name, a.reg.client_name);
    assert.deepEqual(app.scope.split(' ').sort(), ['email', 'offline_access', 'openid']);
    assert.ok(Date.parse(app.granted_at) > 0 && Date.parse(app.last_used_at) > 0);
    assert.ok(d.app_tokens.some((t) => t.client_id === a.reg.client_id && t.scope.includes('offline_access')));
    assert.ok(d.devices.length >= 1 && d.devices.every((x) => x.first_seen_at && x.last_seen_at));

    const types = new Set(d.activity.map((e) => e.type));
    assert.ok(types.size >= 3, [...types].join(' '));
    assert.ok(d.activity.every((e) => e.time && e.outcome));
    const mails = new Map(d.mails.map((m) => [m.template, m]));
    assert.equal(mails.get('verify_email')?.subject, 'Verify your email address', JSON.stringify(d.mails));
    assert.equal(mails.get('recovery_code')?.subject, 'Reset your password', JSON.stringify(d.mails));
    assert.ok(d.mails.every((m) => Object.keys(m).sort().join() === 'created_at,sent_at,status,subject,template'));
    assert.ok(d.email_codes.some((f) => f.purpose === 'verify_email' && f.used_at));
    assert.ok(d.email_codes.some((f) => f.purpose === 'recover_password' && !f.used_at));
    assert.deepEqual(d.recovery_waits, []);
    assert.equal(d.pending_recovery, null);
    assert.deepEqual(d.truncated, []);

    // The export is audited; the next document shows it.
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${a.id}' AND type = 'account.exported'`)[0].n, 1);
    const again = await exportOf(a.b);
    assert.equal(again.status, 200, again.text);
    assert.ok(again.json.activity.some((e) => e.type === 'account.exported' && e.outcome === 'success'));
    ctx.full = { a, text: r.text };
  });

  test('no secret appears anywhere in the document: password, seed, codes, cookies, tokens, hashes', async () => {
    assert.ok(ctx.full, 'the test before made the account');
    const { a, text } = ctx.full;
    const secrets = secretsOf(a);
    assert.ok(Object.keys(secrets).length >= 20, Object.keys(secrets).join(', '));
    for (const [what, value] of Object.entries(secrets)) assert.ok(!text.includes(value), `the ${what} is in the export`);
    assert.ok(!text.includes('$argon2'), 'a password hash');
    // Nor a hash of one: every hash the database holds for this account.
    const hashes = [
      ...sql(ctx.server, `SELECT token_hash AS h FROM sessions WHERE user_id = '${a.id}'`),
      ...sql(ctx.server, `SELECT code_hash AS h FROM recovery_codes WHERE user_id = '${a.id}'`),
      ...sql(ctx.server, `SELECT code_hash AS h FROM email_flows WHERE user_id = '${a.id}'`),
      ...sql(ctx.server, `SELECT link_hash AS h FROM email_flows WHERE user_id = '${a.id}'`),
      ...sql(ctx.server, `SELECT device_hash AS h FROM devices WHERE user_id = '${a.id}'`),
      ...sql(ctx.server, `SELECT token_hash AS h FROM refresh_tokens WHERE user_id = '${a.id}'`),
      ...sql(ctx.server, `SELECT secret AS h FROM mfa_factors WHERE user_id = '${a.id}' AND secret IS NOT NULL`),
      ...sql(ctx.server, `SELECT public_key AS h FROM mfa_factors WHERE user_id = '${a.id}' AND public_key IS NOT NULL`),
      ...sql(ctx.server, `SELECT credential_id AS h FROM mfa_factors WHERE user_id = '${a.id}' AND credential_id IS NOT NULL`),
    ].map((x) => x.h);
    assert.ok(hashes.length >= 10, `${hashes.length} stored values`);
    for (const h of hashes) assert.ok(!text.includes(h), `a stored secret value ${h.slice(0, 8)}… is in the export`);
  });

  test('another customer\'s data never appears, and theirs holds none of this one\'s', async () => {
    assert.ok(ctx.full, 'the first test made the account');
    const { a, text } = ctx.full;
    const other = await newUser(ctx.server, 'exp-other');
    const ob = await signedIn(ctx.server, other);
    assert.ok(!text.includes(other.id) && !text.includes(other.email));
    const mine = await exportOf(ob);
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.profile.email, other.email);
    assert.ok(!mine.text.includes(a.id) && !mine.text.includes(a.email), 'the first customer');
    assert.ok(!mine.text.includes(a.reg.client_id), 'the first customer\'s app');
    assert.equal(mine.json.authentication.password.set, true);
    assert.deepEqual(mine.json.authentication.passkeys, []);
    assert.equal(mine.json.authentication.recovery_codes.left, 0);
    assert.equal(mine.json.sessions.length, 1);
  });
});

describe('who may export (SECURITY.md #30) and how often (#12)', () => {
  test('a session below the account\'s level needs the current password: 403 without, 400 wrong (audited), 200 right', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'exp-reauth');
    const b = await signedIn(server, user);
    await enrolTotp(b); // the session stays AAL1, the account now has a second factor
    const refused = await exportOf(b);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error, 'reauthentication_required');
    assert.equal(refused.headers.get('content-disposition'), null);
    const wrong = await exportOf(b, { current_password: `not-it-${randomHex(3)}` });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.json.error, 'wrong_password');
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}' AND type = 'reauth.failed'`)[0].n, 1);
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}' AND type = 'account.exported'`)[0].n, 0);
    const ok = await exportOf(b, { current_password: user.password });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.profile.email, user.email);
    assert.ok(!ok.text.includes(user.password));
  });

  test('no CSRF token, a forged one, another origin, or no session: refused with nothing exported', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'exp-csrf');
    const b = await signedIn(server, user);
    for (const [opts, what] of [
      [{ csrf: false }, 'no token'],
      [{ csrf: 'forged-token' }, 'a forged token'],
      [{ headers: { origin: 'https://evil.example' } }, 'another origin'],
    ]) {
      const r = await exportOf(b, { current_password: user.password }, opts);
      assert.equal(r.status, 403, `${what}: ${r.text}`);
      assert.equal(r.json.error, 'csrf', what);
      assert.ok(!r.text.includes(user.email), what);
    }
    const anon = await exportOf(new Browser(server), {});
    assert.equal(anon.status, 401, anon.text);
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}' AND type = 'account.exported'`)[0].n, 0);
  });

  test('three exports an hour, then 429 with Retry-After, for that account only', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'exp-rate');
    const b = await signedIn(server, user);
    for (let i = 0; i < 3; i++) {
      const r = await exportOf(b);
      assert.equal(r.status, 200, `export ${i + 1}: ${r.text}`);
    }
    const fourth = await exportOf(b, { current_password: user.password });
    assert.equal(fourth.status, 429, fourth.text);
    assert.equal(fourth.json.error, 'too_many_requests');
    const wait = Number(fourth.headers.get('retry-after'));
    assert.ok(wait > 3000 && wait <= 3600, `Retry-After ${wait}`);
    assert.equal(fourth.headers.get('content-disposition'), null);
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}' AND type = 'account.exported'`)[0].n, 3);
    const other = await signedIn(server, await newUser(server, 'exp-rate2'));
    assert.equal((await exportOf(other)).status, 200, 'another account is not limited');
  });

  test('a malformed body is a 400', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'exp-bad');
    const b = await signedIn(server, user);
    const arr = await exportOf(b, { current_password: ['x'] });
    assert.equal(arr.status, 400, arr.text);
    const broken = await b.raw('POST', '/api/v1/account/export', {
      body: '{"current_password": ',
      headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf },
    });
    assert.equal(broken.status, 400, broken.text);
  });
});
