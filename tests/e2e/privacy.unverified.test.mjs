// The janitor's removal of a self-service sign-up never verified keeps its
// evidence only under the audit pseudonym, as a deleted customer's
// (docs/privacy.md "Retention and deletion"; SECURITY.md #31, what
// deletion keeps): the consent records and the audit events stay, without
// the user id, the address, the client address or the user agent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, sql, request, randomHex, sqlExec } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo as to } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';

const ctx = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function admin(method, path, body) {
  const headers = { authorization: `Bearer ${ctx.server.token}`, accept: 'application/json', 'content-type': 'application/json' };
  return request(ctx.server, method, path, { headers, body: JSON.stringify(body) });
}

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({
    env: {
      GATEHOUSE_SMTP_URL: ctx.mail.url,
      GATEHOUSE_UNVERIFIED_ACCOUNT_TTL: '60', // its minimum (src/base/gh_config.c)
      GATEHOUSE_PRUNE_INTERVAL: '1',
    },
  });
  assert.equal((await admin('POST', '/admin/v1/consent/purposes', { key: 'terms', title: 'Terms of service', required: true })).status, 201);
  const doc = await admin('POST', '/admin/v1/consent/purposes/terms/documents', {
    version: '1', url: 'https://example.com/terms/1', text: 'terms text', effective_at: '2020-01-01',
  });
  assert.equal(doc.status, 201, doc.text);
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

test('an unverified sign-up pruned by the janitor leaves consent records and audit events under the pseudonym only: no id, address, ip or user agent', async () => {
  const email = `unverified-${randomHex(4)}@example.com`;
  const agent = `privacy-e2e-${randomHex(4)}`;
  const b = new Browser(ctx.server);
  const r = await b.post('/api/v1/signup', { email, password: `Glacier-${randomHex(6)}-Orchard`, consents: { terms: true } },
    { headers: { 'user-agent': agent } });
  assert.equal(r.status, 200, r.text);
  await ctx.mail.waitFor(to(email), 10_000); // the verification mail, never used
  const id = sql(ctx.server, `SELECT id FROM users WHERE email = '${email}'`)[0].id;
  const before = sql(ctx.server, `SELECT ip, user_agent FROM consent_records WHERE user_id = '${id}'`);
  assert.equal(before.length, 1);
  assert.equal(before[0].user_agent, agent, 'the evidence is there before');

  // older than the TTL (60 s) without waiting a minute: the janitor's rule is what is tested
  sqlExec(ctx.server, `UPDATE users SET created_at = created_at - 61000 WHERE id = '${id}'`);
  let left = 1;
  for (let i = 0; i < 80 && left; i++) {
    await sleep(250);
    left = sql(ctx.server, `SELECT count(*) AS n FROM users WHERE id = '${id}'`)[0].n;
  }
  assert.equal(left, 0, 'pruned');

  const pruned = sql(ctx.server, `SELECT subject, actor, ip, user_agent FROM audit_events WHERE type = 'account.unverified_pruned' ORDER BY seq DESC LIMIT 1`);
  assert.equal(pruned.length, 1, 'the removal is audited');
  const pseud = pruned[0].subject;
  assert.match(pseud, /^pseud:[A-Za-z0-9_-]{22}$/);
  assert.equal(pruned[0].actor, 'gatehouse');

  const records = sql(ctx.server, `SELECT user_id, ip, user_agent, decision FROM consent_records WHERE user_id IN ('${id}', '${pseud}')`);
  assert.equal(records.length, 1, 'the consent record is kept as evidence');
  assert.equal(records[0].user_id, pseud);
  assert.equal(records[0].decision, 'granted');
  assert.equal(records[0].ip, null);
  assert.equal(records[0].user_agent, null);

  const raw = sql(ctx.server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${id}' OR actor = '${id}' OR details LIKE '%${id}%' OR details LIKE '%${email}%' OR user_agent = '${agent}'`);
  assert.equal(raw[0].n, 0, 'no event holds the id, the address or the user agent');
  const events = sql(ctx.server, `SELECT type, ip, user_agent FROM audit_events WHERE subject = '${pseud}'`);
  assert.ok(events.some((e) => e.type === 'consent.granted' || e.type === 'purpose.granted'), JSON.stringify(events));
  for (const e of events) {
    if (e.type === 'account.unverified_pruned') continue;
    assert.equal(e.ip, null, e.type);
    assert.equal(e.user_agent, null, e.type);
  }
  const history = sql(ctx.server, `SELECT count(*) AS n FROM comm_preference_history WHERE user_id = '${id}'`);
  assert.equal(history[0].n, 0);
  const mail = sql(ctx.server, `SELECT count(*) AS n FROM mail_outbox WHERE to_addr = '${email}'`);
  assert.equal(mail[0].n, 0, 'no mail row names the address');
});
