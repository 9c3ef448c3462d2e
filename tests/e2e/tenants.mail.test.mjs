// A tenant's own email templates (docs/tenants.md "Email templates", issue
// 21 part 1): the admin API at the tenant's issuer, its checks, and the mail
// as the real mail sink receives it, on SQLite and PostgreSQL.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, request, randomHex, sql } from './lib/server.mjs';
import { Browser } from './lib/browser.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { tenantView, admin } from './lib/tenants.mjs';

after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const ctx = {};
const BUILT_IN_SUBJECT = 'Verify your email address';

async function newTenant(tag) {
  const id = `${tag}-${randomHex(3)}`;
  const r = await admin(ctx.server, 'POST', '/admin/v1/tenants', { id, display_name: `Tenant ${id}` });
  assert.equal(r.status, 201, r.text);
  return { id, T: tenantView(ctx.server, id) };
}

/** Signs up at server (a tenant view or the default tenant); the verification mail. */
async function signUpMail(server) {
  const email = `mail-${randomHex(4)}@example.com`;
  const b = new Browser(server);
  const since = ctx.mail.messages.length;
  const r = await b.post('/api/v1/signup', { email, password: `Juniper-${randomHex(6)}-Harbour` });
  assert.equal(r.status, 200, r.text);
  const msg = await ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && sentTo(email)(m), 10_000);
  return { b, msg, flow: r.json.flow_id, email };
}

const ACME = {
  subject: 'Acme: confirm your address',
  text: 'Hello from Acme!\n\nYour code: {{code}}\nOr open {{link}} within {{minutes}} minutes.\n\n<b>The Acme team</b> & friends\n',
};

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000' } });
});

describe('per-tenant email templates', () => {
  test('a tenant\'s overridden verification mail arrives with its subject and body, and its code works; the default tenant\'s stays the built-in one', async () => {
    const { id, T } = await newTenant('mt');
    const put = await admin(T, 'PUT', '/admin/v1/email-templates/verify_email', ACME);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.subject, ACME.subject);
    const got = await admin(T, 'GET', '/admin/v1/email-templates/verify_email');
    assert.equal(got.status, 200, got.text);
    assert.deepEqual({ subject: got.body.subject, text: got.body.text, locale: got.body.locale }, { ...ACME, locale: '' });

    const { b, msg, flow } = await signUpMail(T);
    assert.equal(msg.subject, ACME.subject);
    assert.match(msg.text, /^Hello from Acme!/);
    const code = codeFrom(msg);
    assert.ok(msg.text.includes(`Your code: ${code}`), msg.text);
    assert.match(msg.text, new RegExp(`Or open http://[^ ]+/t/${id}/verify\\?flow=`), 'the link is the tenant\'s');
    assert.ok(!msg.text.includes('{{'), 'every placeholder is filled');
    // the HTML part is the same text, escaped (no markup from the template)
    assert.ok(msg.html.includes('&lt;b&gt;The Acme team&lt;/b&gt; &amp; friends'), msg.html);
    assert.ok(!msg.html.includes('<b>'), msg.html);
    const v = await b.post('/api/v1/verify', { flow_id: flow, code });
    assert.equal(v.status, 200, v.text);

    const def = await signUpMail(ctx.server);
    assert.equal(def.msg.subject, BUILT_IN_SUBJECT, 'the default tenant keeps the built-in mail');
    assert.match(def.msg.text, /^Your verification code is:/);
    assert.equal((await admin(ctx.server, 'GET', '/admin/v1/email-templates/verify_email')).status, 404,
      'another tenant\'s template is not seen at the default tenant\'s address');

    // deleted: the built-in mail again
    const del = await admin(T, 'DELETE', '/admin/v1/email-templates/verify_email');
    assert.equal(del.status, 204, del.text);
    assert.equal((await admin(T, 'GET', '/admin/v1/email-templates/verify_email')).status, 404);
    const again = await signUpMail(T);
    assert.equal(again.msg.subject, BUILT_IN_SUBJECT);
    const events = sql(ctx.server, `SELECT type, actor FROM audit_events WHERE tenant_id = '${id}' AND type LIKE 'mail_template.%' ORDER BY seq`);
    assert.deepEqual(events.map((e) => `${e.type}/${e.actor}`), ['mail_template.updated/admin', 'mail_template.deleted/admin']);
  });

  test('a locale has its own template; a mail in another language falls back to the tenant\'s default one', async () => {
    const { T } = await newTenant('ml');
    const de = { subject: 'Acme: Adresse bestätigen', text: 'Ihr Code: {{code}}\n{{link}}\n{{minutes}} Minuten.\n' };
    assert.equal((await admin(T, 'PUT', '/admin/v1/email-templates/verify_email?locale=de', de)).status, 200);
    assert.equal((await admin(T, 'GET', '/admin/v1/email-templates/verify_email')).status, 404, 'no default-locale template yet');
    const got = await admin(T, 'GET', '/admin/v1/email-templates/verify_email?locale=de');
    assert.equal(got.body.subject, de.subject);
    assert.equal(got.body.locale, 'de');
    // a sign-up without a language: the built-in mail, not the German one
    const plain = await signUpMail(T);
    assert.equal(plain.msg.subject, BUILT_IN_SUBJECT);
    assert.equal((await admin(T, 'PUT', '/admin/v1/email-templates/verify_email?locale=xx_!', de)).status, 400);
  });

  test('bad templates are refused with the member named: unknown names, missing or unknown placeholders, header injection, sizes; only the admin token may manage them', async () => {
    const { T } = await newTenant('mv');
    const cases = [
      ['/admin/v1/email-templates/no_such_mail', ACME, 'name'],
      ['/admin/v1/email-templates/test', ACME, 'name'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, text: 'Code: {{code}} but no link' }, '{{link}}'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, text: `${ACME.text}{{password}}` }, '{{password}}'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, text: `${ACME.text}{{code` }, 'placeholder'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, subject: 'Hi\r\nBcc: victim@example.com' }, 'subject'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, subject: 'Hi\nBcc: victim@example.com' }, 'subject'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, subject: 'x'.repeat(201) }, 'subject'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, subject: '' }, 'subject'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, text: `${ACME.text}${'y'.repeat(20001)}` }, 'text'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, text: `${ACME.text}\u0007` }, 'text'],
      ['/admin/v1/email-templates/verify_email', { subject: ACME.subject }, 'text'],
      ['/admin/v1/email-templates/verify_email', { ...ACME, html: '<p>x</p>' }, 'html'],
    ];
    for (const [path, body, names] of cases) {
      const r = await admin(T, 'PUT', path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      assert.ok(r.body.error_description.includes(names), `${r.body.error_description} names ${names}`);
    }
    assert.equal((await admin(T, 'GET', '/admin/v1/email-templates/verify_email')).status, 404, 'nothing was stored');
    // a subject may use the values the mail has
    const ok = await admin(T, 'PUT', '/admin/v1/email-templates/verify_email', { ...ACME, subject: 'Code {{code}}' });
    assert.equal(ok.status, 200, ok.text);
    const scimTok = await admin(T, 'POST', '/admin/v1/scim-tokens', { name: 'provisioning' });
    assert.equal(scimTok.status, 201, scimTok.text);
    const bySCIM = await admin(T, 'PUT', '/admin/v1/email-templates/verify_email', ACME, { token: scimTok.body.token });
    assert.equal(bySCIM.status, 401, `a tenant's SCIM token does not manage templates: ${bySCIM.text}`);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await admin(T, method, '/admin/v1/email-templates/verify_email', method === 'PUT' ? ACME : undefined, { token: 'not-the-token' });
      assert.equal(r.status, 401, `${method} without the admin token: ${r.text}`);
    }
  });
});
