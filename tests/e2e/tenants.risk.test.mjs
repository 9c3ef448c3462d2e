// A tenant's own risk policy (issue 21 item 1, docs/tenants.md "Risk
// policy"): set over the admin API or `gatehouse tenant risk-policy`,
// checked as the server's policy file is (errors name the line), used for
// that tenant's decisions only, and dropped to go back to the server's.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, stopAll, scim, request, runGatehouse, randomHex, userBody, makeTempDir, sleep, sql } from './lib/server.mjs';
import { Browser } from './lib/browser.mjs';
import { tenantView } from './lib/tenants.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await stopAll(); });

function admin(method, p, { body, type = 'application/json', token = server.token } = {}) {
  return request(server, method, p, {
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) },
    body,
  });
}

// Every sign-in from a device the account has not used is refused: the
// harshest policy a tenant could choose, so its effect cannot be missed.
const STRICT = 'version shop-strict-1\n'
  + 'rule every_new_device on signin if new_device weight 100 then deny reason new_device\n';

async function person(T) {
  const email = `risk-${randomHex(4)}@example.com`;
  const password = `Harbour-${randomHex(6)}-Lantern`;
  const made = await scim(T, 'POST', '/Users', userBody(email, { password }));
  assert.equal(made.status, 201, made.text);
  return { email, password, id: made.body.id };
}

const signIn = (T, u) => new Browser(T).post('/api/v1/signin', { email: u.email, password: u.password });

async function decisions(T, userId) {
  const r = await request(T, 'GET', `/admin/v1/users/${userId}/risk`, { headers: { authorization: `Bearer ${server.token}` } });
  assert.equal(r.status, 200, r.text);
  return r.body.decisions;
}

describe('a tenant\'s own risk policy', () => {
  test('set over the admin API: the tenant\'s sign-ins follow it, other tenants keep the server\'s; bad policies are refused naming the line; dropping it goes back', async () => {
    const id = `risk-${randomHex(3)}`;
    assert.equal((await admin('POST', '/admin/v1/tenants', { body: JSON.stringify({ id, display_name: 'Shop' }) })).status, 201);
    const T = tenantView(server, id);
    const shopper = await person(T);
    const rooted = await person(server);

    const before = await admin('GET', `/admin/v1/tenants/${id}/risk-policy`);
    assert.equal(before.status, 200);
    assert.equal(before.body.source, 'server');
    const serverVersion = before.body.version;
    assert.match(serverVersion, /^builtin-\d+$/, 'the built-in policy');

    const set = await admin('PUT', `/admin/v1/tenants/${id}/risk-policy`, { body: STRICT, type: 'text/plain; charset=utf-8' });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.body.source, 'tenant');
    assert.equal(set.body.version, 'shop-strict-1');
    assert.equal(set.body.text, STRICT);

    // refused as a wrong password is: nothing tells an attacker why
    const refused = await signIn(T, shopper);
    assert.equal(refused.status, 401, refused.text);
    assert.equal(refused.json.error, 'invalid_credentials');
    const [d] = await decisions(T, shopper.id);
    assert.equal(d.outcome, 'deny');
    assert.equal(d.policy_version, 'shop-strict-1');
    assert.deepEqual(d.fired.map((f) => f.rule), ['every_new_device']);

    // the default tenant is untouched
    const fine = await signIn(server, rooted);
    assert.equal(fine.status, 200, fine.text);
    const [rd] = await decisions(server, rooted.id);
    assert.equal(rd.policy_version, serverVersion);

    // a policy that does not read is refused with its line, and changes nothing
    const bad = await admin('PUT', `/admin/v1/tenants/${id}/risk-policy`, {
      body: 'version broken-1\n# fine so far\nrule x on signin if moon_phase >= 3 weight 1 reason r\n', type: 'text/plain',
    });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.body.error_description ?? bad.text, /line 3/);
    for (const [body, type, status] of [[STRICT, 'application/json', 415], ['\u0000', 'text/plain', 400],
      [Buffer.from([0x76, 0xff, 0xfe]), 'text/plain', 400]]) {
      assert.equal((await admin('PUT', `/admin/v1/tenants/${id}/risk-policy`, { body, type })).status, status, `${type} ${status}`);
    }
    assert.equal((await admin('PUT', `/admin/v1/tenants/${id}/risk-policy`, { body: STRICT, type: 'text/plain', token: 'not-the-admin-token' })).status, 401);
    assert.equal((await admin('PUT', '/admin/v1/tenants/no-such-tenant/risk-policy', { body: STRICT, type: 'text/plain' })).status, 404);
    assert.equal((await admin('GET', `/admin/v1/tenants/${id}/risk-policy`)).body.version, 'shop-strict-1');

    // audited in the tenant's own chain
    const events = sql(server, `SELECT details FROM audit_events WHERE tenant_id = '${id}' AND type = 'tenant.risk_policy_changed'`);
    assert.equal(events.length, 1);
    assert.equal(JSON.parse(events[0].details).version, 'shop-strict-1');

    assert.equal((await admin('DELETE', `/admin/v1/tenants/${id}/risk-policy`)).status, 204);
    assert.deepEqual((await admin('GET', `/admin/v1/tenants/${id}/risk-policy`)).body, { source: 'server', version: serverVersion });
    const back = await signIn(T, shopper);
    assert.equal(back.status, 200, back.text);
  });

  test('SECURITY.md #11: a tenant-wide wave of failed sign-ins shows in tenant_failures, counted per tenant: a policy can act on an attack spread over many accounts', async () => {
    const id = `wave-${randomHex(3)}`;
    assert.equal((await admin('POST', '/admin/v1/tenants', { body: JSON.stringify({ id, display_name: 'Shop' }) })).status, 201);
    const T = tenantView(server, id);
    const owner = await person(T);
    const policy = 'version wave-1\n'
      + 'rule tenant_wave on signin if tenant_failures >= 4 weight 10 reason tenant_under_attack\n'
      + 'threshold signin notify 10\n';
    assert.equal((await admin('PUT', `/admin/v1/tenants/${id}/risk-policy`, { body: policy, type: 'text/plain' })).status, 200);
    // four wrong passwords, each on another address of the tenant
    for (let i = 0; i < 4; i++) {
      const r = await new Browser(T).post('/api/v1/signin', { email: `nobody-${i}-${randomHex(3)}@example.com`, password: 'Wrong-password-123456' });
      assert.equal(r.status, 401);
    }
    const ok = await signIn(T, owner);
    assert.equal(ok.status, 200, ok.text);
    const [d] = await decisions(T, owner.id);
    assert.ok(d.signals.tenant_failures >= 4, `tenant_failures ${d.signals.tenant_failures}`);
    assert.deepEqual(d.fired.map((f) => f.rule), ['tenant_wave']);
    assert.equal(d.outcome, 'notify');
    // another tenant's wave is not this one's: the default tenant's count leaves them out
    const rooted = await person(server);
    assert.equal((await signIn(server, rooted)).status, 200);
    const [rd] = await decisions(server, rooted.id);
    const elsewhere = sql(server, `SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = 'default' AND type = 'signin.failed'`)[0].n;
    assert.equal(rd.signals.tenant_failures, Number(elsewhere));
  });

  test('`gatehouse tenant risk-policy ID FILE` reaches the running server; --server goes back; a bad file names its line and changes nothing', async () => {
    const id = `clirisk-${randomHex(3)}`;
    assert.equal((await admin('POST', '/admin/v1/tenants', { body: JSON.stringify({ id, display_name: 'Shop' }) })).status, 201);
    const T = tenantView(server, id);
    const shopper = await person(T);
    const dir = await makeTempDir();
    const file = path.join(dir, 'strict.txt');
    fs.writeFileSync(file, STRICT);
    const env = server.env;

    const set = await runGatehouse(['tenant', 'risk-policy', id, file], { env, timeoutMs: 15_000 });
    assert.equal(set.code, 0, set.stderr);
    let status = 0;
    for (let i = 0; i < 60 && status !== 401; i++) {
      status = (await signIn(T, shopper)).status;
      if (status !== 401) await sleep(100);
    }
    assert.equal(status, 401, 'the running server uses the policy the command set');

    const broken = path.join(dir, 'broken.txt');
    fs.writeFileSync(broken, 'version b-1\nrule y on nowhere if new_device weight 1 reason r\n');
    const bad = await runGatehouse(['tenant', 'risk-policy', id, broken], { env, timeoutMs: 15_000 });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /line 2/);
    assert.equal((await admin('GET', `/admin/v1/tenants/${id}/risk-policy`)).body.version, 'shop-strict-1');

    const usage = await runGatehouse(['tenant', 'risk-policy', id], { env, timeoutMs: 15_000 });
    assert.equal(usage.code, 2);

    const off = await runGatehouse(['tenant', 'risk-policy', id, '--server'], { env, timeoutMs: 15_000 });
    assert.equal(off.code, 0, off.stderr);
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await signIn(T, shopper)).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200, 'back on the server\'s policy');
  });
});
