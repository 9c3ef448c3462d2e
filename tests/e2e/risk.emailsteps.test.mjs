// The risk engine on the emailed steps (issue 22, docs/risk.md "Requests
// for emailed codes"): a request for an emailed sign-in code
// (POST /api/v1/signin/email) is scored on its own journey
// (email_code_request) from the audit events every request leaves; a flood
// (one account's codes asked for from many devices it does not know, or
// many addresses' codes from one client address) is refused with exactly
// the answer every request gets (SECURITY.md #14: nothing tells the
// refusal apart), no mail goes, and the decision is kept. The owner's
// known device still gets its code. The email verification of a sign-up
// in its browser is scored before the sign-in's transaction, so a refusal
// there keeps its decision (docs/risk.md "Limits" no longer says it is
// lost). Addresses: every test speaks from its
// own 127.0.N.0/24, so one test's velocity never counts in another's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, stopAll, randomHex, sql, makeTempDir } from './lib/server.mjs';
import { startMailSink, codeFrom, sentTo } from './lib/mail.mjs';
import { ChromeFrom, emailSigninOwner } from './lib/chromefrom.mjs';

/** A browser at one local address that sends a browser's User-Agent. */
const From = ChromeFrom;

const ctx = {};
before(async () => {
  // the flood below is a hundred requests from one address in seconds: the
  // per-minute rate limits would answer it first
  ctx.server = await startServer({ env: { GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000', GATEHOUSE_RATE_LIMITS: 'off' } });
});
after(async () => {
  await stopAll();
  await ctx.mail?.stop();
});

const admin = async (p) => {
  const res = await fetch(`${ctx.server.url}${p}`, { headers: { authorization: `Bearer ${ctx.server.token}` } });
  assert.equal(res.status, 200);
  return res.json();
};
const decisions = async (userId) => (await admin(`/admin/v1/users/${userId}/risk`)).decisions;
const mailsTo = (email) => Number(sql(ctx.server, `SELECT count(*) AS n FROM mail_outbox WHERE to_addr = '${email}'`)[0].n);
const auditDetails = (type, ip) =>
  sql(ctx.server, `SELECT details FROM audit_events WHERE type = '${type}' AND ip = '${ip}'`).map((row) => JSON.parse(Object.values(row)[0]));

const owner = (home, tag) => emailSigninOwner(ctx.server, home, tag);

/** The answer's shape: what a caller can compare between two answers. */
const shape = (r) => ({ status: r.status, keys: Object.keys(r.json).sort(), said: r.json.status });

test('SECURITY.md #14: one account\'s codes asked for eight times in the hour from devices and a network it does not know, the ninth is refused with the answer every request gets and no mail; the decision is kept; the owner\'s device still gets its code', async () => {
  const { user, home } = await owner('127.0.81.1', 'emflood');
  for (let i = 1; i <= 8; i++) {
    const r = await new From(ctx.server, `127.0.82.${i}`).post('/api/v1/signin/email', { email: user.email });
    assert.equal(r.status, 200, r.text);
  }
  const mailed = mailsTo(user.email);
  const attacker = new From(ctx.server, '127.0.82.9');
  const refused = await attacker.post('/api/v1/signin/email', { email: user.email });
  const nobody = await attacker.post('/api/v1/signin/email', { email: `nobody-${randomHex(4)}@example.com` });
  assert.deepEqual(shape(refused), shape(nobody)); // the answer for an address without an account
  assert.deepEqual(shape(refused), { status: 200, keys: ['email', 'flow_id', 'status'], said: 'code_sent' });
  assert.equal(refused.json.email, user.email);
  assert.equal(mailsTo(user.email), mailed, 'no mail for the refused request');

  const [ev] = auditDetails('signin.email_code_refused', '127.0.82.9');
  assert.ok(ev?.decision_id, 'the refusal is audited with its decision');
  const d = (await decisions(user.id)).find((x) => x.journey === 'email_code_request');
  assert.equal(d.id, ev.decision_id);
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'email_code_velocity');
  assert.equal(d.signals.account_attempts, 8);
  assert.equal(d.signals.new_device, 1);
  assert.equal(d.signals.new_network, 1);
  assert.ok(d.fired.some((f) => f.rule === 'email_code_account_flood'));

  // the refused flow can never sign anyone in
  const v = await attacker.post('/api/v1/verify', { flow_id: refused.json.flow_id, code: '000000' });
  assert.equal(v.status, 400, v.text);

  // the owner on the device the account knows: the code is mailed
  const mine = await home.post('/api/v1/signin/email', { email: user.email });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mailsTo(user.email), mailed + 1);
  const ok = (await decisions(user.id)).find((x) => x.journey === 'email_code_request');
  assert.equal(ok.outcome, 'allow');
  assert.equal(ok.signals.new_device, 0);
});

test('a hundred requests for codes from one address in the hour (a script walking a list of addresses): the next, for a real account, is refused without mail and recorded on that account; another address is not', async () => {
  const { user } = await owner('127.0.83.1', 'emscript');
  const bot = new From(ctx.server, '127.0.84.1');
  for (let i = 0; i < 100; i++) {
    const r = await bot.post('/api/v1/signin/email', { email: `list-${i}-${randomHex(3)}@example.com` });
    assert.equal(r.status, 200, r.text);
  }
  const mailed = mailsTo(user.email);
  const refused = await bot.post('/api/v1/signin/email', { email: user.email });
  assert.equal(refused.status, 200, refused.text);
  assert.equal(refused.json.status, 'code_sent');
  assert.equal(mailsTo(user.email), mailed);
  const d = (await decisions(user.id)).find((x) => x.journey === 'email_code_request');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.signals.ip_attempts, 100);
  assert.ok(d.fired.some((f) => f.rule === 'email_code_address_flood'));

  // a person at another network asking for their own code is not held back
  const person = new From(ctx.server, '127.0.85.1');
  const r = await person.post('/api/v1/signin/email', { email: user.email });
  assert.equal(r.status, 200, r.text);
  assert.equal(mailsTo(user.email), mailed + 1);
});

/** A policy that refuses every sign-in on the signin journey from a device
 * the account does not know: what a stricter operator's policy could say
 * at the emailed step of a sign-up. */
async function refusingPolicy() {
  const file = path.join(await makeTempDir(), 'risk-policy.txt');
  fs.writeFileSync(file, 'version test-refuse-signin\n'
    + 'rule refuse_new_device on signin if new_device weight 100 then deny reason test_refusal\n');
  return file;
}

test('a refusal at the email verification of a sign-up in its browser keeps its decision: answered as a wrong code, audited, and shown by GET /admin/v1/users/{id}/risk', async () => {
  ctx.mail = await startMailSink();
  const server = await startServer({
    env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_RISK_POLICY_FILE: await refusingPolicy(), GATEHOUSE_RATE_LIMITS: 'off' },
  });
  const email = `emverify-${randomHex(4)}@example.com`;
  const b = new From(server, '127.0.86.1');
  const up = await b.post('/api/v1/signup', { email, passwordless: true });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.json.status, 'verification_required');
  const code = codeFrom(await ctx.mail.waitFor(sentTo(email), 15_000));
  const v = await b.post('/api/v1/verify', { flow_id: up.json.flow_id, code });
  assert.equal(v.status, 400, v.text);
  assert.equal(v.json.error, 'invalid_code'); // as a wrong code
  assert.equal((await b.session()).authenticated, false); // not signed in

  const [{ id }] = sql(server, `SELECT id FROM users WHERE email = '${email}'`);
  const res = await fetch(`${server.url}/admin/v1/users/${id}/risk`, { headers: { authorization: `Bearer ${server.token}` } });
  assert.equal(res.status, 200);
  const d = (await res.json()).decisions.find((x) => x.journey === 'signin');
  assert.ok(d, 'the refusal\'s decision is kept');
  assert.equal(d.outcome, 'deny');
  assert.equal(d.reason, 'test_refusal');
  assert.equal(d.policy_version, 'test-refuse-signin');
  const audited = sql(server, `SELECT reason FROM audit_events WHERE type = 'email.verify_failed' AND subject = '${id}'`);
  assert.deepEqual(audited.map((row) => Object.values(row)[0]), ['refused by the risk policy']);
});
