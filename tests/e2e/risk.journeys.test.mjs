// The risk engine on the journeys beside sign-in (issue 22, docs/risk.md
// "Journeys" and "Token requests"): sign-up, recovery, email change,
// step-up and refresh-token use are scored by the shipped policy
// (share/risk-policy.txt); each decision is stored with the rules that
// fired and shown by the explain API and in the customer's export. For each
// journey a scripted abuse gets the refusal (answered as the journey's
// enumeration-safe case) with the rule that fired, and the honest case
// passes. Addresses: every test speaks from its own 127.0.N.0/24 (Linux
// routes 127/8 to loopback), so one test's velocity never counts in
// another's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { newUser, copyOf } from './lib/browser.mjs';
import { BrowserFrom } from './lib/from.mjs';
import { enrolTotp, codeAt, currentStep, wrongCode, awayFromStepEdge } from './lib/factors.mjs';
import { registerClient, codeTokens, basic, tokenFromAddress } from './lib/oidc.mjs';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A browser at one local address that sends a browser's User-Agent. */
class From extends BrowserFrom {
  constructor(server, address, jarFrom) {
    super(server, address);
    if (jarFrom) { this.jar = new Map(jarFrom.jar); this.csrf = jarFrom.csrf; }
  }

  raw(method, p, { body, headers = {} } = {}) {
    return super.raw(method, p, { body, headers: { 'user-agent': CHROME, ...headers } });
  }
}

const ctx = {};
before(async () => {
  ctx.server = await startServer({ env: { GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000' } });
});
after(async () => {
  await stopAll();
});

async function decisions(userId) {
  const res = await fetch(`${ctx.server.url}/admin/v1/users/${userId}/risk`, { headers: { authorization: `Bearer ${ctx.server.token}` } });
  assert.equal(res.status, 200);
  return (await res.json()).decisions;
}

const rulesOf = (d) => d.fired.map((f) => f.rule);
/** The account's latest decision on a journey (a shifted session's own
 * decision may be stored in the same millisecond). */
const latest = async (userId, journey) => (await decisions(userId)).find((d) => d.journey === journey);
const mailsTo = (email) => Number(sql(ctx.server, `SELECT count(*) AS n FROM mail_outbox WHERE to_addr = '${email}'`)[0].n);

/** A user signed in with their password from address (a known device from then on). */
async function signedInFrom(address, tag) {
  const user = await newUser(ctx.server, tag);
  const b = new From(ctx.server, address);
  const r = await b.post('/api/v1/signin', { email: user.email, password: user.password });
  assert.equal(r.status, 200, r.text);
  await b.session();
  return { user, b };
}

test('SECURITY.md #14: sign-up: twenty from one address in an hour, then the twenty-first is refused as a taken address would be; another address signs up', async () => {
  const bot = new From(ctx.server, '127.0.31.1');
  for (let i = 0; i < 20; i++) {
    const r = await bot.post('/api/v1/signup', { email: `bot-${randomHex(4)}@example.com`, passwordless: true });
    assert.equal(r.status, 200, r.text);
  }
  const email = `bot-${randomHex(4)}@example.com`;
  const refused = await bot.post('/api/v1/signup', { email, passwordless: true });
  assert.equal(refused.status, 200, refused.text);
  assert.equal(refused.json.status, 'verification_required'); // says nothing
  assert.equal(mailsTo(email), 0);
  assert.equal(sql(ctx.server, `SELECT id FROM users WHERE email = '${email}'`).length, 0);
  const [ev] = sql(ctx.server, "SELECT details FROM audit_events WHERE type = 'signup.refused' AND ip = '127.0.31.1'");
  const id = JSON.parse(Object.values(ev)[0]).decision_id;
  const res = await fetch(`${ctx.server.url}/admin/v1/risk/decisions/${id}`, { headers: { authorization: `Bearer ${ctx.server.token}` } });
  const d = await res.json();
  assert.equal(d.journey, 'signup');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'signup_velocity');
  assert.equal(d.signals.ip_attempts, 20);
  assert.ok(rulesOf(d).includes('signup_address_velocity'));
  assert.equal(d.user_id, null); // no account was made

  // the honest case: a person at another address, whose account owns its decision
  const person = new From(ctx.server, '127.0.32.1');
  const email2 = `person-${randomHex(4)}@example.com`;
  const ok = await person.post('/api/v1/signup', { email: email2, passwordless: true });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(mailsTo(email2), 1);
  const [{ id: uid }] = sql(ctx.server, `SELECT id FROM users WHERE email = '${email2}'`);
  const [mine] = await decisions(uid);
  assert.equal(mine.journey, 'signup');
  assert.equal(mine.outcome, 'allow');
  assert.equal(mine.signals.ip_attempts, 0);
});

test('SECURITY.md #14: recovery: asked for one account again and again from devices it does not know is refused (no mail, the unknown-address answer); the owner\'s device still gets its code', async () => {
  const { user, b: owner } = await signedInFrom('127.0.33.1', 'riskrec');
  const before = mailsTo(user.email);
  for (let i = 1; i <= 5; i++) {
    const r = await new From(ctx.server, `127.0.34.${i}`).post('/api/v1/recovery', { email: user.email });
    assert.equal(r.status, 200, r.text);
  }
  const mailed = mailsTo(user.email);
  const r = await new From(ctx.server, '127.0.34.9').post('/api/v1/recovery', { email: user.email });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'code_sent'); // as for an address without an account
  assert.equal(mailsTo(user.email), mailed, 'no mail for the refused one');
  const [d] = await decisions(user.id);
  assert.equal(d.journey, 'recovery');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'recovery_velocity');
  assert.equal(d.signals.account_attempts, 5);
  assert.equal(d.signals.new_device, 1);
  assert.ok(rulesOf(d).includes('recovery_account_velocity'));
  assert.ok(mailed > before);

  // the owner's own browser is never refused
  const own = await owner.post('/api/v1/recovery', { email: user.email });
  assert.equal(own.status, 200, own.text);
  assert.equal(mailsTo(user.email), mailed + 1);
  const d2 = await latest(user.id, 'recovery');
  assert.notEqual(d2.outcome, 'deny');
  assert.equal(d2.signals.new_device, 0);
});

test('email change: a copied session elsewhere must give the password; a fourth change in an hour is refused as if accepted; the honest change mails its code', async () => {
  const { user, b } = await signedInFrom('127.0.35.1', 'riskmail');
  // a copy of the session cookie, without the device cookie, on another network
  const thief = new From(ctx.server, '127.0.36.1', b);
  thief.jar.delete('gh_device');
  const asked = await thief.post('/api/v1/email', { email: `thief-${randomHex(4)}@example.com` });
  assert.equal(asked.status, 403, asked.text);
  assert.equal(asked.json.error, 'reauthentication_required');
  const d = await latest(user.id, 'email_change');
  assert.equal(d.outcome, 'step_up');
  assert.deepEqual(rulesOf(d), ['email_change_new_context']);

  // the owner, in the sign-in's browser: three changes go out
  for (let i = 0; i < 3; i++) {
    const to = `new-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/email', { email: to });
    assert.equal(r.status, 200, r.text);
    assert.equal(mailsTo(to), 1, 'the honest change mails its code');
  }
  const to = `new-${randomHex(4)}@example.com`;
  const r = await b.post('/api/v1/email', { email: to });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'verification_required');
  assert.equal(mailsTo(to), 0);
  const d2 = await latest(user.id, 'email_change');
  assert.equal(d2.outcome, 'deny');
  assert.equal(d2.reason, 'email_change_velocity');
  assert.equal(d2.signals.account_attempts, 3);
});

test('step-up: a right code after five wrong ones from a device the account does not know is refused as a wrong code; the owner\'s device steps up', async () => {
  const { user, b } = await signedInFrom('127.0.37.1', 'riskstepup');
  const totp = await enrolTotp(b);
  const thief = copyOf(ctx.server, b);
  const stolen = new From(ctx.server, '127.0.38.1', thief);
  stolen.jar.delete('gh_device');
  for (let i = 0; i < 5; i++) {
    const w = await stolen.post('/api/v1/signin/mfa', { code: wrongCode(totp.secret) });
    assert.equal(w.status, 401, w.text);
  }
  await awayFromStepEdge(3);
  const right = await stolen.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
  assert.equal(right.status, 401, right.text);
  assert.equal(right.json.error, 'invalid_code');
  const d = await latest(user.id, 'step_up');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'second_factor_guessing');
  assert.equal(d.signals.account_attempts, 5);
  assert.ok(rulesOf(d).includes('stepup_guessing'));

  // the owner's browser (its device known) steps up with the next code
  await awayFromStepEdge(3);
  const own = await b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep() + 1) });
  assert.equal(own.status, 200, own.text);
  assert.equal(own.json.status, 'signed_in');
  // (the owner's request also moves the shared session back: its own
  // 'session' decision may share the millisecond)
  const d2 = await latest(user.id, 'step_up');
  assert.equal(d2.outcome, 'allow');
  assert.equal(d2.signals.new_device, 0);
});

/** POST /token from a local address (the refresh journey's network). */
const tokenFrom = (reg, form, address) => tokenFromAddress(ctx.server, form, address, { authorization: basic(reg) });

test('token: a refresh token from another network after many refused grants of the client is refused as an invalid token; from its own network it works', async () => {
  const reg = await registerClient(ctx.server, { client_name: 'Risk tokens' });
  const { user, b } = await signedInFrom('127.0.0.1', 'risktoken');
  const tokens = await codeTokens(ctx.server, b, reg); // redeemed from 127.0.0.1

  // the honest case first: a refresh from the network the token went to writes nothing
  const quiet = (await decisions(user.id)).length;
  const ok = await tokenFrom(reg, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, '127.0.0.1');
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.equal((await decisions(user.id)).length, quiet, 'nothing fired, nothing stored');

  // a script tries 50 made-up refresh tokens with the client's credentials
  for (let i = 0; i < 50; i++) {
    const r = await tokenFrom(reg, { grant_type: 'refresh_token', refresh_token: randomHex(32) }, '127.0.40.1');
    assert.equal(r.status, 400);
  }
  const stolen = await tokenFrom(reg, { grant_type: 'refresh_token', refresh_token: ok.json.refresh_token }, '127.0.40.1');
  assert.equal(stolen.status, 400, JSON.stringify(stolen.json));
  assert.equal(stolen.json.error, 'invalid_grant');
  const [d] = await decisions(user.id);
  assert.equal(d.journey, 'token');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'token_abuse');
  assert.equal(d.signals.new_network, 1);
  assert.ok(d.signals.client_failures >= 50, JSON.stringify(d.signals));
  assert.ok(rulesOf(d).includes('token_abuse'));

  // the same token from its own network still refreshes (recorded: the client's failures notify)
  const home = await tokenFrom(reg, { grant_type: 'refresh_token', refresh_token: ok.json.refresh_token }, '127.0.0.1');
  assert.equal(home.status, 200, JSON.stringify(home.json));
  const [d2] = await decisions(user.id);
  assert.equal(d2.outcome, 'notify');
  assert.deepEqual(rulesOf(d2), ['token_client_failures']);
});

test('the journeys\' decisions are in the customer\'s data export with the rules that fired', async () => {
  const { user, b } = await signedInFrom('127.0.41.1', 'riskexp');
  const r = await b.post('/api/v1/email', { email: `exp-${randomHex(4)}@example.com` });
  assert.equal(r.status, 200, r.text);
  const ex = await b.post('/api/v1/account/export', { current_password: user.password });
  assert.equal(ex.status, 200, ex.text);
  const journeys = ex.json.risk_decisions.map((d) => d.journey);
  assert.ok(journeys.includes('email_change'), JSON.stringify(journeys));
  assert.ok(journeys.includes('signin'));
  const d = ex.json.risk_decisions.find((x) => x.journey === 'email_change');
  assert.ok(Array.isArray(d.rules));
  assert.equal(d.shadow, undefined);
});
