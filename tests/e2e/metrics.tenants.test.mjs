// Journey metrics per tenant (docs/metrics.md, "Tenants"): each tenant's
// journey is counted under its own tenant label, the server's scrape shows
// every tenant, a scrape at a tenant's address shows that tenant only, and
// past GATEHOUSE_METRICS_TENANTS the rest count as tenant="other". Journeys
// are real sign-ups, sign-ins and token grants against the running binary.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

import { startServer, stopAll, freePort, randomHex, scim, userBody } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';
import { registerClient, codeTokens } from './lib/oidc.mjs';
import { tenantView, admin, createTenant } from './lib/tenants.mjs';

after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

async function scrape(base, token) {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text() };
}

/** The value of the sample name{labels} (all of them, in the order
 * written), or null when the text has no such line. */
function sample(text, name, labels) {
  const want = `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}} `;
  const line = text.split('\n').find((l) => l.startsWith(want));
  return line === undefined ? null : Number(line.slice(want.length));
}

/** The samples of the text (no comments). */
const samples = (text) => text.split('\n').filter((l) => l && !l.startsWith('#'));

/** A SCIM user of the server (or tenant view) with a known password. */
async function scimUser(view, tag) {
  const email = `${tag}-${randomHex(4)}@example.com`;
  const password = `Lighthouse-${randomHex(6)}-Meadow`;
  const r = await scim(view, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, r.text);
  return { email, password };
}

async function wrongPassword(view, user) {
  const r = await new Browser(view).post('/api/v1/signin', { email: user.email, password: `${user.password}-no` });
  assert.equal(r.status, 401, r.text);
}

describe('metrics per tenant: each tenant counts its own journey', () => {
  let server;
  let mail;
  let metricsUrl;
  let a; // the second tenant's id
  let idle; // a tenant with no journey at all

  before(async () => {
    mail = await startMailSink();
    const port = await freePort();
    server = await startServer({
      env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_METRICS_LISTEN: `127.0.0.1:${port}` },
    });
    metricsUrl = `http://127.0.0.1:${port}`;
    a = `mt-${randomHex(3)}`;
    idle = `idle-${randomHex(3)}`;
    await createTenant(server, a);
    await createTenant(server, idle);
    const A = tenantView(server, a);

    // tenant A: a self-service sign-up (its email verified), a wrong
    // password, the right one, and a code grant
    const b = new Browser(A);
    const email = `mt-${randomHex(4)}@example.com`;
    const password = `Harbour-${randomHex(6)}-Lantern`;
    const r = await b.post('/api/v1/signup', { email, password });
    assert.equal(r.status, 200, r.text);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(await mail.waitFor(sentTo(email), 10_000)) });
    assert.equal(v.status, 200, v.text);
    await wrongPassword(A, { email, password });
    const b2 = new Browser(A);
    assert.equal((await b2.post('/api/v1/signin', { email, password })).status, 200);
    const reg = await registerClient(A, { client_name: 'Tenant A app' });
    await codeTokens(A, b2, reg);

    // the default tenant: one failed sign-in, nothing else
    await wrongPassword(server, await scimUser(server, 'mt-default'));
  });
  after(async () => { await server?.stop(); await mail?.stop(); });

  test('the server\'s scrape: A\'s steps under A, the default tenant\'s under default, neither under the other (ASVS 16.3.1 events counted per tenant)', async () => {
    for (const base of [server.url, metricsUrl]) {
      const { status, text } = await scrape(base, server.token);
      assert.equal(status, 200, base);
      const got = (tenant) => ({
        started: sample(text, 'gatehouse_signups_total', { tenant, stage: 'started' }),
        completed: sample(text, 'gatehouse_signups_total', { tenant, stage: 'completed' }),
        success: sample(text, 'gatehouse_signins_total', { tenant, outcome: 'success', reason: 'none' }),
        wrong: sample(text, 'gatehouse_signins_total', { tenant, outcome: 'failure', reason: 'wrong_password' }),
        code: sample(text, 'gatehouse_tokens_issued_total', { tenant, grant_type: 'authorization_code' }),
      });
      // A: the verified sign-up signs in, then the password does
      assert.deepEqual(got(a), { started: 1, completed: 1, success: 2, wrong: 1, code: 1 }, base);
      assert.deepEqual(got('default'), { started: 0, completed: 0, success: 0, wrong: 1, code: 0 }, base);
      // a tenant is there at zero from its creation, before its first step
      assert.deepEqual(got(idle), { started: 0, completed: 0, success: 0, wrong: 0, code: 0 }, base);
      // slots are left: no "other" yet
      assert.doesNotMatch(text, /tenant="other"/);
    }
  });

  test('the text with three tenants is Prometheus text promtool accepts (no series twice)', async (t) => {
    const { text } = await scrape(server.url, server.token);
    const lines = samples(text).map((l) => l.replace(/ [^ ]+$/, ''));
    assert.equal(new Set(lines).size, lines.length, 'a series written twice');
    if (!fs.existsSync(PROMTOOL)) return t.skip('no promtool');
    const p = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
  });

  test('a scrape at a tenant\'s address shows that tenant\'s journey only: no other tenant, no server-wide series', async () => {
    for (const base of [`${server.url}/t/${a}`, `${metricsUrl}/t/${a}`]) {
      const { status, text } = await scrape(base, server.token);
      assert.equal(status, 200, base);
      assert.equal(sample(text, 'gatehouse_signins_total', { tenant: a, outcome: 'success', reason: 'none' }), 2, base);
      const lines = samples(text);
      assert.ok(lines.length > 0);
      for (const l of lines) assert.match(l, new RegExp(`^gatehouse_[a-z_]+\\{tenant="${a}",`), l);
      assert.doesNotMatch(text, /gatehouse_http_|gatehouse_mail_outbox_backlog|gatehouse_db_pool/);
    }
    const d = await scrape(`${server.url}/t/${idle}`, server.token);
    assert.equal(sample(d.text, 'gatehouse_signins_total', { tenant: idle, outcome: 'failure', reason: 'wrong_password' }), 0);
    assert.doesNotMatch(d.text, new RegExp(`tenant="(default|${a})"`));
  });

  test('a tenant\'s scrape needs the admin token: none, another, or the tenant\'s own SCIM token get 401 and no series', async () => {
    const made = await admin(server, 'POST', `/t/${a}/admin/v1/scim-tokens`, { name: 'metrics probe' });
    assert.equal(made.status, 201, made.text);
    for (const token of [null, 'not-the-admin-token', made.body.token]) {
      const r = await scrape(`${server.url}/t/${a}`, token);
      assert.equal(r.status, 401, `${token}`);
      assert.doesNotMatch(r.text, /gatehouse_/);
    }
    // an unknown tenant's address has no /metrics at all
    assert.equal((await scrape(`${server.url}/t/no-such-${randomHex(3)}`, server.token)).status, 404);
  });
});

describe('metrics per tenant: past GATEHOUSE_METRICS_TENANTS the rest count as "other"', () => {
  let server;
  let first;
  let late;

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_METRICS_TENANTS: '2' } });
    first = `first-${randomHex(3)}`;
    late = `late-${randomHex(3)}`;
    await createTenant(server, first); // the second slot, after default
    await createTenant(server, late); // no slot left
    await wrongPassword(tenantView(server, late), await scimUser(tenantView(server, late), 'late'));
    await wrongPassword(tenantView(server, late), await scimUser(tenantView(server, late), 'late'));
    await wrongPassword(tenantView(server, first), await scimUser(tenantView(server, first), 'first'));
  });
  after(async () => { await server?.stop(); });

  test('the late tenant is counted under tenant="other", the others keep their own', async () => {
    const { text } = await scrape(server.url, server.token);
    const wrong = (tenant) => sample(text, 'gatehouse_signins_total', { tenant, outcome: 'failure', reason: 'wrong_password' });
    assert.equal(wrong(first), 1);
    assert.equal(wrong('default'), 0);
    assert.equal(wrong('other'), 2);
    assert.doesNotMatch(text, new RegExp(`tenant="${late}"`));
  });

  test('the late tenant\'s own scrape shows no series: "other" mixes other tenants\' counts', async () => {
    const r = await scrape(`${server.url}/t/${late}`, server.token);
    assert.equal(r.status, 200);
    assert.match(r.text, /^# TYPE gatehouse_signins_total counter$/m);
    assert.deepEqual(samples(r.text), []);
  });
});
