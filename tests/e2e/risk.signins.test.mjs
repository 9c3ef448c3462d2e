// The risk engine on the sign-ins without a password and on the code grant
// (issue 22, docs/risk.md "Passkey and emailed-code sign-ins" and "Token
// requests"): a passkey sign-in and an emailed-code sign-in are scored on
// their own journeys (passkey_signin, email_signin) by the shipped policy,
// and the explain API and `gatehouse risk explain` show the decision; a
// guessing run on emailed codes gets the right code refused as a wrong one
// while the owner with a passkey, or on a known device, still signs in; the
// code grant counts invalid_client towards client_failures and refuses a
// public client's code redeemed from another network after a flood.
// Addresses: every test speaks from its own 127.0.N.0/24, so one test's
// velocity never counts in another's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';

import { startServer, stopAll, randomHex, sql, runGatehouse } from './lib/server.mjs';
import { newUser } from './lib/browser.mjs';
import { ChromeFrom, emailSigninOwner } from './lib/chromefrom.mjs';
import { addPasskey } from './lib/factors.mjs';
import { SoftAuthenticator } from './lib/webauthn.mjs';
import { startMailSink, codeFrom, sentTo } from './lib/mail.mjs';
import { registerClient, REDIRECT, tokenFromAddress } from './lib/oidc.mjs';

/** A browser at one local address that sends a browser's User-Agent. */
const From = ChromeFrom;

const ctx = {};
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({
    env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_RESEND_COOLDOWN: '1', GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000' },
  });
});
after(async () => {
  await stopAll();
  await ctx.mail?.stop();
});

const admin = async (p) => {
  const res = await fetch(`${ctx.server.url}${p}`, { headers: { authorization: `Bearer ${ctx.server.token}` } });
  return { status: res.status, json: await res.json() };
};
const decisions = async (userId) => (await admin(`/admin/v1/users/${userId}/risk`)).json.decisions;
const latest = async (userId, journey) => (await decisions(userId)).find((d) => d.journey === journey);
const rulesOf = (d) => d.fired.map((f) => f.rule);
const mailsTo = (email) => ctx.mail.messages.filter(sentTo(email));

/** The code of the first mail to email with a code that is not among seen
 * (notices of the set-up, a passkey added, come and go in between). */
async function codeAfter(email, seen) {
  const hasCode = (m) => /(?<!\d)\d{6}(?!\d)/.test((m.text ?? '').replace(/https?:\/\/\S+/g, ' '));
  const m = await ctx.mail.waitFor((x) => sentTo(email)(x) && !seen.has(x) && hasCode(x), 15_000);
  return codeFrom(m);
}

/** Asks for an emailed sign-in code in b; resolves {flow, code}. */
async function emailedCode(b, email) {
  const seen = new Set(mailsTo(email));
  const r = await b.post('/api/v1/signin/email', { email });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'code_sent');
  return { flow: r.json.flow_id, code: await codeAfter(email, seen) };
}

/** An account that signs in with a passkey or an emailed code, set up
 * from home (whose browser is a known device of the account from then on). */
async function owner(home, tag) {
  const { user, home: b } = await emailSigninOwner(ctx.server, home, tag);
  const auth = new SoftAuthenticator({ origin: new URL(ctx.server.issuer).origin });
  const added = await addPasskey(b, auth, { name: 'Laptop' });
  assert.equal(added.r.status, 200, added.r.text);
  return { user, auth, home: b };
}

/** A username-less passkey sign-in from address. */
async function passkeySignIn(auth, address) {
  const b = new From(ctx.server, address);
  const o = await b.post('/api/v1/signin/passkey/options', {});
  assert.equal(o.status, 200, o.text);
  const r = await b.post('/api/v1/signin/passkey', { credential: auth.get(o.json.publicKey) });
  return { b, r };
}

test('a passkey sign-in is scored on its own journey: a new device and network ask for nothing; the explain API and the CLI show the decision', async () => {
  const { user, auth } = await owner('127.0.61.1', 'pksign');
  const { r } = await passkeySignIn(auth, '127.0.62.1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'signed_in');

  const d = await latest(user.id, 'passkey_signin');
  assert.ok(d, 'a passkey_signin decision');
  assert.equal(d.outcome, 'allow');
  assert.equal(d.policy_version, 'builtin-5');
  assert.equal(d.signals.new_device, 1);
  assert.equal(d.signals.new_network, 1);
  assert.equal(d.signals.phishing_resistant, 1);
  assert.equal(d.signals.user_verified, 1);
  assert.deepEqual(rulesOf(d).sort(), ['passkey_new_device', 'passkey_new_network']);
  assert.equal(d.score, 10);

  const one = await admin(`/admin/v1/risk/decisions/${d.id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.json, d);
  const cli = await runGatehouse(['risk', 'explain', d.id], { env: ctx.server.env, timeoutMs: 15_000 });
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout), d);
  // the audit event links to it
  const rows = sql(ctx.server, `SELECT details FROM audit_events WHERE type = 'risk.decided' AND subject = '${user.id}'`);
  assert.ok(rows.some((row) => JSON.parse(Object.values(row)[0]).decision_id === d.id));
});

test('an emailed-code sign-in is scored on its own journey, in the explain API and the CLI', async () => {
  const { user, home } = await owner('127.0.63.1', 'emsign');
  const { flow, code } = await emailedCode(home, user.email);
  const v = await home.post('/api/v1/verify', { flow_id: flow, code });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.status, 'mfa_required'); // the passkey is the second step

  const d = await latest(user.id, 'email_signin');
  assert.ok(d, 'an email_signin decision');
  assert.equal(d.outcome, 'allow');
  assert.equal(d.signals.new_device, 0); // the browser the account signed in on
  assert.equal(d.signals.code_failures, 0);
  assert.equal(d.signals.phishing_resistant, 0);
  const cli = await runGatehouse(['risk', 'explain', d.id], { env: ctx.server.env, timeoutMs: 15_000 });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout).journey, 'email_signin');
  // no other journey's decision was made for it
  assert.equal((await decisions(user.id)).filter((x) => x.journey === 'signin').length, 1); // the set-up's password
});

test('SECURITY.md #13, #14: after five wrong emailed codes on an account, the right code from a device it does not know is refused exactly as a wrong one; the owner with a passkey, and on a known device, still signs in', async () => {
  const { user, auth, home } = await owner('127.0.64.1', 'emguess');
  const attacker = new From(ctx.server, '127.0.65.1');

  // five guesses at one flow's code (the flow dies at the fifth, SECURITY.md #13)
  const first = await emailedCode(attacker, user.email);
  const wrong = first.code === '000000' ? '111111' : '000000';
  let wrongAnswer;
  for (let i = 0; i < 5; i++) {
    const r = await attacker.post('/api/v1/verify', { flow_id: first.flow, code: wrong });
    assert.equal(r.status, 400, r.text);
    if (i === 0) wrongAnswer = r.json;
  }
  assert.equal(wrongAnswer.error, 'invalid_code');

  // a new flow, and its right code (as the attacker would have it if they read it)
  const second = await emailedCode(attacker, user.email);
  const refused = await attacker.post('/api/v1/verify', { flow_id: second.flow, code: second.code });
  assert.equal(refused.status, 400, refused.text);
  assert.deepEqual(refused.json, wrongAnswer, 'said exactly as a wrong code');
  assert.equal(refused.setCookies.filter((c) => c.startsWith('gh_session')).length, 0, 'no session');

  const d = await latest(user.id, 'email_signin');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'email_code_guessing');
  assert.ok(rulesOf(d).includes('email_code_guessing'));
  assert.equal(d.signals.code_failures, 5);
  assert.equal(d.signals.new_device, 1);
  const one = await admin(`/admin/v1/risk/decisions/${d.id}`);
  assert.deepEqual(one.json, d);
  const failed = sql(ctx.server, `SELECT reason FROM audit_events WHERE type = 'signin.failed' AND subject = '${user.id}' ORDER BY time DESC LIMIT 1`);
  assert.equal(Object.values(failed[0])[0], 'refused by the risk policy');

  // the owner's passkey from a device and network of its own: signed in
  const pk = await passkeySignIn(auth, '127.0.66.1');
  assert.equal(pk.r.status, 200, pk.r.text);
  assert.equal(pk.r.json.status, 'signed_in');
  const dp = await latest(user.id, 'passkey_signin');
  assert.equal(dp.outcome, 'allow');
  assert.ok(!rulesOf(dp).some((rule) => rule.startsWith('email')), JSON.stringify(dp.fired));

  // and an emailed code on the device the account knows: not refused
  const mine = await emailedCode(home, user.email);
  const ok = await home.post('/api/v1/verify', { flow_id: mine.flow, code: mine.code });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.status, 'mfa_required');
  assert.equal((await latest(user.id, 'email_signin')).outcome, 'allow');
});

const tokenFrom = (form, address, headers) => tokenFromAddress(ctx.server, form, address, headers);

/** A code for reg from the browser b (its /authorize network); resolves {code, verifier}. */
async function codeFor(b, reg) {
  const verifier = client.randomPKCECodeVerifier();
  const q = new URLSearchParams({
    client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: randomHex(8),
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const r = await b.raw('GET', `/authorize?${q}`);
  assert.equal(r.status, 302, r.text);
  const code = new URL(r.headers.get('location')).searchParams.get('code');
  assert.ok(code, r.headers.get('location'));
  return { code, verifier };
}

const basicOf = (reg, secret = reg.client_secret) => ({ authorization: `Basic ${Buffer.from(`${reg.client_id}:${secret}`).toString('base64')}` });

test('code grant: after fifty invalid_client answers, a public client\'s code redeemed from another network than its /authorize is refused as an invalid code, and from its own it works; a confidential client\'s is never compared', async () => {
  const pub = await registerClient(ctx.server, { client_name: 'Risk code public', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'] });
  const user = await newUser(ctx.server, 'riskcode');
  const b = new From(ctx.server, '127.0.67.1');
  assert.equal((await b.post('/api/v1/signin', { email: user.email, password: user.password })).status, 200);
  await b.session();

  // the honest case first: redeemed where it was issued, nothing fired, nothing stored
  const quiet = (await decisions(user.id)).length;
  const c1 = await codeFor(b, pub);
  const t1 = await tokenFrom({ grant_type: 'authorization_code', client_id: pub.client_id, code: c1.code, redirect_uri: REDIRECT, code_verifier: c1.verifier }, '127.0.67.1');
  assert.equal(t1.status, 200, JSON.stringify(t1.json));
  assert.equal((await decisions(user.id)).length, quiet, 'nothing fired, nothing stored');

  // a script floods the token endpoint in the client's name with a secret it does not have
  for (let i = 0; i < 50; i++) {
    const r = await tokenFrom({ grant_type: 'authorization_code', client_id: pub.client_id, client_secret: randomHex(8), code: randomHex(16), redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43) }, '127.0.68.1');
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.error, 'invalid_client');
  }
  const c2 = await codeFor(b, pub);
  const form = { grant_type: 'authorization_code', client_id: pub.client_id, code: c2.code, redirect_uri: REDIRECT, code_verifier: c2.verifier };
  const away = await tokenFrom(form, '127.0.68.1');
  assert.equal(away.status, 400, JSON.stringify(away.json));
  assert.equal(away.json.error, 'invalid_grant');
  const d = (await decisions(user.id))[0];
  assert.equal(d.journey, 'token');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'token_abuse');
  assert.equal(d.signals.code_grant, 1);
  assert.equal(d.signals.public_client, 1);
  assert.equal(d.signals.new_network, 1);
  assert.ok(d.signals.client_failures >= 50, JSON.stringify(d.signals));
  assert.deepEqual((await admin(`/admin/v1/risk/decisions/${d.id}`)).json, d);

  // the refused code was not spent: from the browser's own network it is redeemed (the failures notify)
  const home = await tokenFrom(form, '127.0.67.1');
  assert.equal(home.status, 200, JSON.stringify(home.json));
  const d2 = (await decisions(user.id))[0];
  assert.equal(d2.outcome, 'notify');
  assert.deepEqual(rulesOf(d2), ['token_client_failures']);

  // a confidential client: its server redeems from its own network, so the same flood refuses nothing
  const conf = await registerClient(ctx.server, { client_name: 'Risk code confidential', grant_types: ['authorization_code'] });
  for (let i = 0; i < 50; i++) {
    const r = await tokenFrom({ grant_type: 'authorization_code', code: randomHex(16), redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43) }, '127.0.68.2', basicOf(conf, 'wrong'));
    assert.equal(r.status, 401, JSON.stringify(r.json));
  }
  const c3 = await codeFor(b, conf);
  const server = await tokenFrom({ grant_type: 'authorization_code', code: c3.code, redirect_uri: REDIRECT, code_verifier: c3.verifier }, '127.0.69.1', basicOf(conf));
  assert.equal(server.status, 200, JSON.stringify(server.json));
  const d3 = (await decisions(user.id))[0];
  assert.equal(d3.outcome, 'notify');
  assert.equal(d3.signals.new_network, 0);
  assert.equal(d3.signals.public_client, 0);
  assert.ok(d3.signals.client_failures >= 50, JSON.stringify(d3.signals));
});
