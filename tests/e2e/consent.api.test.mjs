// Purposes, versioned documents and the consent ledger over the API
// (issue 20 items 1-3; docs/privacy.md): the operator defines purposes and
// publishes documents; sign-up records the customer's decisions and is
// refused without the required ones; a new version re-asks after sign-in
// (the session reaches neither /account's APIs nor /authorize meanwhile,
// checked with a COPY of its cookie) and the ledger keeps both records;
// optional purposes are withdrawn; no route changes or removes a record and
// the database refuses to; export holds the ledger; a purge keeps it under
// the audit pseudonym. SECURITY.md ids cited: #30 (sensitive state behind a
// live session), #31 (what deletion keeps).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, scim, sql, sqlExec, request, randomHex } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo as to } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient, REDIRECT } from './lib/oidc.mjs';

const strong = () => `Glacier-${randomHex(6)}-Orchard`;
const ctx = {};

/** An admin API call with the admin token. */
async function admin(method, path, body) {
  const headers = { authorization: `Bearer ${ctx.server.token}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return request(ctx.server, method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function publish(purpose, version, extra = {}) {
  const r = await admin('POST', `/admin/v1/consent/purposes/${purpose}/documents`, {
    version, url: `https://example.com/${purpose}/${version}`, text: `${purpose} text ${version}`,
    summary: `What changed in ${version}`, effective_at: '2020-01-01', ...extra,
  });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

describe('without purposes, nothing changes', () => {
  test('the public list is empty and a sign-up without "consents" works as before', async () => {
    const list = await request(ctx.server, 'GET', '/api/v1/consent/documents');
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body, { purposes: [] });
    const b = new Browser(ctx.server);
    const r = await b.post('/api/v1/signup', { email: `plain-${randomHex(4)}@example.com`, password: strong() });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'verification_required');
  });
});

describe('the ledger', () => {
  before(async () => {
    for (const p of [
      { key: 'terms', title: 'Terms of service', required: true },
      { key: 'marketing_email', title: 'Marketing email', label: 'Send me marketing email' },
    ]) {
      const r = await admin('POST', '/admin/v1/consent/purposes', p);
      assert.equal(r.status, 201, r.text);
    }
    await publish('terms', '1');
  });

  test('the operator\'s view: purposes, documents with the text\'s SHA-256, the label; bad input and no token refused', async () => {
    const r = await admin('GET', '/admin/v1/consent/purposes/terms');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.label, 'I accept the Terms of service');
    assert.equal(r.body.required, true);
    assert.equal(r.body.document.version, '1');
    assert.match(r.body.document.sha256, /^[0-9a-f]{64}$/);
    assert.equal(r.body.documents.length, 1);
    assert.equal((await admin('POST', '/admin/v1/consent/purposes', { key: 'terms', title: 'x' })).status, 409);
    assert.equal((await admin('POST', '/admin/v1/consent/purposes', { key: 'Bad Key', title: 'x' })).status, 400);
    assert.equal((await admin('POST', '/admin/v1/consent/purposes/terms/documents', { version: '1', url: 'https://e.com/x', text: 'x' })).status, 409);
    assert.equal((await admin('POST', '/admin/v1/consent/purposes/nope/documents', { version: '1', url: 'https://e.com/x', text: 'x' })).status, 404);
    const anon = await request(ctx.server, 'GET', '/admin/v1/consent/purposes');
    assert.equal(anon.status, 401, anon.text);
    const pub = await request(ctx.server, 'GET', '/api/v1/consent/documents');
    assert.deepEqual(pub.body.purposes.map((p) => [p.key, p.required]), [['terms', true], ['marketing_email', false]]);
  });

  test('sign-up is refused (400 consent_required) until the required document is accepted; the decisions land with evidence', async () => {
    const b = new Browser(ctx.server);
    const email = `signup-${randomHex(4)}@example.com`;
    for (const consents of [undefined, { terms: false }, { marketing_email: true }]) {
      const refused = await b.post('/api/v1/signup', { email, password: strong(), ...(consents ? { consents } : {}) });
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json.error, 'consent_required');
      assert.match(refused.json.error_description, /Accept the Terms of service/);
    }
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM users WHERE email = '${email}'`)[0].n, 0);
    const odd = await b.post('/api/v1/signup', { email, password: strong(), consents: { terms: true, research: true } });
    assert.equal(odd.status, 400, odd.text);

    const r = await b.post('/api/v1/signup', { email, password: strong(), consents: { terms: true, marketing_email: false } },
      { headers: { 'user-agent': 'consent-e2e' } });
    assert.equal(r.status, 200, r.text);
    const msg = await ctx.mail.waitFor(to(email), 10_000);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
    assert.equal(v.status, 200, v.text);
    const mine = await b.raw('GET', '/api/v1/consents/purposes');
    assert.equal(mine.status, 200, mine.text);
    const byKey = Object.fromEntries(mine.json.purposes.map((p) => [p.key, p]));
    assert.equal(byKey.terms.decision, 'granted');
    assert.equal(byKey.terms.version, '1');
    assert.equal(byKey.marketing_email.decision, 'declined');
    const rows = sql(ctx.server, `SELECT r.purpose, r.decision, r.version, r.sha256, r.wording, r.channel, r.ip, r.user_agent, r.actor FROM consent_records r JOIN users u ON u.id = r.user_id WHERE u.email = '${email}' ORDER BY seq`);
    assert.equal(rows.length, 2);
    const terms = rows.find((x) => x.purpose === 'terms');
    assert.equal(terms.wording, 'I accept the Terms of service');
    assert.equal(terms.channel, 'page');
    assert.equal(terms.user_agent, 'consent-e2e');
    assert.ok(terms.ip, 'the client address');
    assert.match(terms.sha256, /^[0-9a-f]{64}$/);
    // each record committed with its audit event
    const events = sql(ctx.server, `SELECT type FROM audit_events WHERE type LIKE 'consent.%' AND subject = (SELECT id FROM users WHERE email = '${email}')`);
    assert.deepEqual(events.map((e) => e.type).sort(), ['consent.declined', 'consent.granted']);
  });

  test('a new version re-asks after sign-in: a copy of the cookie reaches neither /account\'s APIs nor /authorize; accept continues and the ledger holds both versions', async () => {
    const user = await newUser(ctx.server, 'reask');
    // accepted version 1 first, in a session of its own
    const first = await signedIn(ctx.server, user);
    const pre = await first.raw('GET', '/api/v1/consent/update');
    assert.equal(pre.json.purposes.length, 1, 'a SCIM-made account has accepted nothing yet');
    assert.equal((await first.post('/api/v1/consent/update', { decision: 'accept' })).status, 200);
    assert.equal((await first.raw('GET', '/api/v1/profile')).status, 200);

    const v2 = `2-${randomHex(2)}`;
    await publish('terms', v2, { summary: 'We now explain refunds.' });
    const b = await signedIn(ctx.server, user);
    const s = await b.session();
    assert.equal(s.authenticated, true);
    assert.equal(s.consent_required, true);
    const copy = copyOf(ctx.server, b);
    assert.equal((await copy.raw('GET', '/api/v1/profile')).status, 401, 'the account API is closed while pending');
    assert.equal((await copy.raw('GET', '/api/v1/sessions')).status, 401);
    const reg = await registerClient(ctx.server, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
    const q = new URLSearchParams({ client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    const authz = await copy.raw('GET', `/authorize?${q}`);
    assert.equal(authz.status, 302, authz.text);
    const loc = new URL(authz.headers.get('location'), ctx.server.issuer);
    assert.equal(loc.pathname, '/consent/update');
    assert.match(loc.searchParams.get('return_to'), /^\/authorize\?/);

    const ask = await b.raw('GET', '/api/v1/consent/update');
    assert.equal(ask.status, 200, ask.text);
    assert.equal(ask.json.purposes[0].document.version, v2);
    assert.equal(ask.json.purposes[0].document.summary, 'We now explain refunds.');
    assert.equal(ask.json.purposes[0].accepted_version, '1');
    const ok = await b.post('/api/v1/consent/update', { decision: 'accept', return_to: loc.searchParams.get('return_to') });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'accepted');
    assert.match(ok.json.return_to, /^\/authorize\?/);
    assert.equal((await copy.raw('GET', '/api/v1/profile')).status, 200, 'open again once accepted');
    const after = await copy.raw('GET', `/authorize?${q}`);
    assert.notEqual(new URL(after.headers.get('location'), ctx.server.issuer).pathname, '/consent/update');
    const rows = sql(ctx.server, `SELECT version, decision FROM consent_records WHERE user_id = '${user.id}' AND purpose = 'terms' ORDER BY seq`);
    assert.deepEqual(rows, [{ version: '1', decision: 'granted' }, { version: v2, decision: 'granted' }]);
  });

  test('declining the new version records a decline and ends the session (a copy of the cookie is dead)', async () => {
    const user = await newUser(ctx.server, 'decline');
    const b = await signedIn(ctx.server, user);
    const copy = copyOf(ctx.server, b);
    const r = await b.post('/api/v1/consent/update', { decision: 'decline' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'signed_out');
    assert.equal((await copy.session()).authenticated, false);
    assert.equal((await copy.raw('GET', '/api/v1/consent/update')).status, 401);
    const rows = sql(ctx.server, `SELECT decision FROM consent_records WHERE user_id = '${user.id}'`);
    assert.deepEqual(rows, [{ decision: 'declined' }]);
    assert.equal((await b.post('/api/v1/consent/update', { decision: 'maybe' })).status, 401);
  });

  test('a pending session can sign out, and signing out ends it (a copy of the cookie is dead)', async () => {
    const user = await newUser(ctx.server, 'pendingout');
    const b = await signedIn(ctx.server, user);
    assert.equal((await b.session()).consent_required, true);
    const copy = copyOf(ctx.server, b);
    const out = await b.post('/api/v1/signout', {});
    assert.equal(out.status, 200, out.text);
    assert.equal((await copy.raw('GET', '/api/v1/consent/update')).status, 401);
    assert.equal((await copy.session()).authenticated, false);
  });

  test('optional purposes are granted and withdrawn; a required one is not withdrawn here (the path is deleting the account)', async () => {
    const user = await newUser(ctx.server, 'withdraw');
    const b = await signedIn(ctx.server, user);
    await b.post('/api/v1/consent/update', { decision: 'accept' });
    for (const decision of ['granted', 'withdrawn']) {
      const r = await b.post('/api/v1/consents/purposes', { purpose: 'marketing_email', decision });
      assert.equal(r.status, 200, r.text);
    }
    const req = await b.post('/api/v1/consents/purposes', { purpose: 'terms', decision: 'withdrawn' });
    assert.equal(req.status, 400, req.text);
    assert.match(req.json.error_description, /deleting the account/);
    const view = (await b.raw('GET', '/api/v1/consents/purposes')).json;
    assert.equal(view.purposes.find((p) => p.key === 'marketing_email').decision, 'withdrawn');
    assert.deepEqual(view.history.filter((h) => h.purpose === 'marketing_email').map((h) => [h.decision, h.channel]),
      [['granted', 'api'], ['withdrawn', 'api']]);
    assert.equal((await new Browser(ctx.server).post('/api/v1/consents/purposes', { purpose: 'marketing_email', decision: 'granted' })).status, 401);
  });

  test('an operator records a decision only with a reason; it shows as the operator\'s', async () => {
    const user = await newUser(ctx.server, 'operator');
    const none = await admin('POST', `/admin/v1/users/${user.id}/consents`, { purpose: 'marketing_email', decision: 'granted' });
    assert.equal(none.status, 400, none.text);
    const ok = await admin('POST', `/admin/v1/users/${user.id}/consents`, { purpose: 'marketing_email', decision: 'granted', reason: 'paper form 17', channel: 'import' });
    assert.equal(ok.status, 201, ok.text);
    const h = ok.body.history.at(-1);
    assert.deepEqual([h.actor, h.reason, h.channel], ['admin', 'paper form 17', 'import']);
    assert.equal((await admin('GET', '/admin/v1/users/no-such-user/consents')).status, 404);
  });

  test('no route changes or removes a record (404/405), and the database refuses an UPDATE or DELETE', async () => {
    const user = await newUser(ctx.server, 'immutable');
    const b = await signedIn(ctx.server, user);
    await b.post('/api/v1/consent/update', { decision: 'accept' });
    const rec = sql(ctx.server, `SELECT id FROM consent_records WHERE user_id = '${user.id}'`)[0];
    const paths = ['/api/v1/consents/purposes', `/api/v1/consents/purposes/${rec.id}`, '/api/v1/consent/update',
      '/api/v1/consent/documents', `/admin/v1/users/${user.id}/consents`, '/admin/v1/consent/purposes/terms',
      `/admin/v1/consent/records/${rec.id}`];
    for (const path of paths) {
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const headers = { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json', cookie: b.cookieHeader(), 'x-csrf-token': b.csrf, origin: b.origin };
        const r = await request(ctx.server, method, path, { headers, body: method === 'DELETE' ? undefined : '{}' });
        assert.ok([404, 405].includes(r.status), `${method} ${path}: ${r.status}`);
      }
    }
    assert.throws(() => sqlExec(ctx.server, `UPDATE consent_records SET decision = 'declined' WHERE id = '${rec.id}'`));
    assert.throws(() => sqlExec(ctx.server, `DELETE FROM consent_records WHERE id = '${rec.id}'`));
    assert.equal(sql(ctx.server, `SELECT decision FROM consent_records WHERE id = '${rec.id}'`)[0].decision, 'granted');
  });

  test('the data export holds the ledger; a purge keeps it under the audit pseudonym without address or user agent (SECURITY.md #31)', async () => {
    const user = await newUser(ctx.server, 'export');
    const b = await signedIn(ctx.server, user);
    await b.post('/api/v1/consent/update', { decision: 'accept' });
    await b.post('/api/v1/consents/purposes', { purpose: 'marketing_email', decision: 'granted' });
    const ex = await b.post('/api/v1/account/export', { current_password: user.password });
    assert.equal(ex.status, 200, ex.text);
    assert.deepEqual(ex.json.consents.map((c) => [c.purpose, c.decision]), [['terms', 'granted'], ['marketing_email', 'granted']]);
    assert.match(ex.json.consents[0].sha256, /^[0-9a-f]{64}$/);

    const del = await scim(ctx.server, 'DELETE', `/Users/${user.id}`);
    assert.equal(del.status, 204, del.text);
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM consent_records WHERE user_id = '${user.id}'`)[0].n, 0);
    const pseud = sql(ctx.server, `SELECT subject FROM audit_events WHERE type = 'scim.user.deleted' AND details LIKE '%consents_pseudonymised%' ORDER BY seq DESC`)[0].subject;
    assert.match(pseud, /^pseud:/);
    const kept = sql(ctx.server, `SELECT purpose, decision, version, sha256, wording, ip, user_agent, actor FROM consent_records WHERE user_id = '${pseud}' ORDER BY seq`);
    assert.equal(kept.length, 2);
    for (const k of kept) {
      assert.equal(k.ip, null);
      assert.equal(k.user_agent, null);
      assert.equal(k.actor, pseud);
      assert.ok(k.wording);
    }
  });
});

describe('`gatehouse consent` (issue 20 item 1)', () => {
  test('purposes and documents from the command line: add, list, show, publish from a text file, list; the same checks and audit as the API; usage errors exit 2, an unknown purpose 1', async () => {
    const { runGatehouse } = await import('./lib/server.mjs');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { createHash } = await import('node:crypto');
    const env = { env: ctx.server.env, timeoutMs: 15_000 };
    const key = `research_${randomHex(3)}`;
    const add = await runGatehouse(['consent', 'purpose', 'add', key, '--title', 'Research', '--label', 'Use my answers for research'], env);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(JSON.parse(add.stdout).key, key);
    assert.equal((await runGatehouse(['consent', 'purpose', 'add', key, '--title', 'Again'], env)).code, 1, 'a key in use');
    const list = JSON.parse((await runGatehouse(['consent', 'purpose', 'list'], env)).stdout);
    const mine = list.find((p) => p.key === key);
    assert.deepEqual([mine.title, mine.label, mine.required], ['Research', 'Use my answers for research', false]);

    const dir = mkdtempSync(join(tmpdir(), 'gh-consent-'));
    const text = 'We use your answers only for research.\n';
    writeFileSync(join(dir, 'research.txt'), text);
    const pub = await runGatehouse(['consent', 'document', 'publish', key, '--version', '2026-12', '--url',
      'https://example.com/research', '--text-file', join(dir, 'research.txt'), '--summary', 'First version.'], env);
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal(JSON.parse(pub.stdout).document.sha256, createHash('sha256').update(text).digest('hex'), 'the hash is of the file\'s text');
    const docs = JSON.parse((await runGatehouse(['consent', 'document', 'list', key], env)).stdout);
    assert.deepEqual(docs.map((d) => d.version), ['2026-12']);
    const shown = JSON.parse((await runGatehouse(['consent', 'purpose', 'show', key], env)).stdout);
    assert.equal(shown.document.version, '2026-12', 'the version in effect');
    // the same as through the API: a published version is never replaced
    assert.equal((await runGatehouse(['consent', 'document', 'publish', key, '--version', '2026-12', '--url',
      'https://example.com/research', '--sha256', 'ab'.repeat(32)], env)).code, 1);

    const unknown = await runGatehouse(['consent', 'purpose', 'show', 'no_such_purpose'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no purpose with key "no_such_purpose"/);
    assert.equal((await runGatehouse(['consent', 'purpose', 'add', 'Bad Key!', '--title', 'x'], env)).code, 2);
    assert.equal((await runGatehouse(['consent', 'document', 'publish', key, '--version', '2'], env)).code, 2, 'no URL, no text');
    assert.equal((await runGatehouse(['consent', 'frobnicate'], env)).code, 2);

    const events = sql(ctx.server, `SELECT type, actor FROM audit_events WHERE type LIKE 'consent.%' AND details LIKE '%"${key}"%' ORDER BY seq`);
    assert.deepEqual(events.map((e) => [e.type, e.actor]),
      [['consent.purpose_created', 'cli'], ['consent.document_published', 'cli']], 'audited as the command line\'s, once each');
  });
});
