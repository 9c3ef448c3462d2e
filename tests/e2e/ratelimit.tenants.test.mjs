// The rate limits and tenants (docs/rate-limits.md "The limits", issue 22
// item 5): an email names an account of one tenant, so its bucket is that
// tenant's. An attack on alice@example.com in one tenant must not lock out
// the alice@example.com of another tenant (SECURITY.md #11: throttling
// without malicious lockout). Runs on SQLite and PostgreSQL.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, scim, userBody, randomHex, sql, sqlExec, BACKEND } from './lib/server.mjs';
import { Browser } from './lib/browser.mjs';
import { registerClient, basic } from './lib/oidc.mjs';
import { tenantView, createTenant } from './lib/tenants.mjs';

after(stopAll);

const EMAIL = 'alice@example.com';
const LIMIT = 5; // GATEHOUSE_RATE_LIMIT_IDENTIFIER here: the email's bucket
const CLIENT_LIMIT = 3; // GATEHOUSE_RATE_LIMIT_CLIENT here: a client's tokens a minute

async function alice(server) {
  const password = `Harbour-${randomHex(6)}-Lantern`;
  const r = await scim(server, 'POST', '/Users', userBody(EMAIL, { password }));
  assert.equal(r.status, 201, r.text);
  return password;
}

describe(`the email's bucket belongs to the tenant (${BACKEND})`, () => {
  let server;
  let tenant;
  const pw = {};

  before(async () => {
    server = await startServer({
      env: { GATEHOUSE_RATE_LIMIT_IDENTIFIER: String(LIMIT), GATEHOUSE_RATE_LIMIT_CLIENT: String(CLIENT_LIMIT) },
    });
    const id = `rl-${randomHex(3)}`;
    await createTenant(server, id);
    tenant = tenantView(server, id);
    pw.root = await alice(server);
    pw.tenant = await alice(tenant);
  });
  after(async () => { await server?.stop(); });

  test('SECURITY.md #11, #12: wrong passwords for alice@example.com in one tenant empty that tenant\'s bucket only; the same address in the default tenant still signs in', async () => {
    const attacker = new Browser(tenant);
    for (let i = 0; i < LIMIT; i++) {
      const r = await attacker.post('/api/v1/signin', { email: EMAIL, password: `wrong-${i}-guess-xx` });
      assert.equal(r.status, 401, r.text);
    }
    const refused = await attacker.post('/api/v1/signin', { email: EMAIL, password: 'one-more-guess-xx' });
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.error, 'rate_limited');
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    // The tenant's own alice, in a new browser, waits with her attacker: the
    // per-email limit holds within the tenant.
    const sameTenant = await new Browser(tenant).post('/api/v1/signin', { email: EMAIL, password: pw.tenant });
    assert.equal(sameTenant.status, 429, sameTenant.text);

    // The default tenant's alice is another account: a new browser with no
    // device cookie, the same address, signs in at once.
    const owner = new Browser(server);
    const r = await owner.post('/api/v1/signin', { email: EMAIL, password: pw.root });
    assert.equal(r.status, 200, r.text);
    assert.equal((await owner.session()).authenticated, true);
  });
});

/** A copy of the default tenant's client row in tenant id: the same
 * client id and secret naming another client (the schema keys clients by
 * tenant and id; an operator moving clients between tenants makes this). */
function copyClient(server, clientId, id) {
  const cols = (BACKEND === 'postgres'
    ? sql(server, "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'clients' ORDER BY ordinal_position")
    : sql(server, "SELECT name FROM pragma_table_info('clients')")).map((c) => c.name);
  const values = cols.map((c) => (c === 'tenant_id' ? `'${id}'` : c));
  sqlExec(server, `INSERT INTO clients (${cols.join(', ')}) SELECT ${values.join(', ')} FROM clients WHERE tenant_id = 'default' AND id = '${clientId}'`);
}

describe(`an OAuth client's bucket belongs to the tenant (${BACKEND})`, () => {
  let server;
  let tenant;
  let reg;

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_RATE_LIMIT_CLIENT: String(CLIENT_LIMIT) } });
    const id = `rlc-${randomHex(3)}`;
    await createTenant(server, id);
    tenant = tenantView(server, id);
    reg = await registerClient(server, { grant_types: ['client_credentials'], redirect_uris: undefined });
    copyClient(server, reg.client_id, id);
  });
  after(async () => { await server?.stop(); });

  const token = (s) => fetch(`${s.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(reg) },
    body: 'grant_type=client_credentials',
  });

  test('SECURITY.md #12: one tenant\'s client using up its tokens leaves the client of the same id in another tenant its own', async () => {
    for (let i = 0; i < CLIENT_LIMIT; i++) {
      const r = await token(server);
      assert.equal(r.status, 200, await r.text());
    }
    const refused = await token(server);
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error, 'slow_down');
    const other = await token(tenant);
    const text = await other.text();
    assert.equal(other.status, 200, text);
    const claims = JSON.parse(Buffer.from(JSON.parse(text).access_token.split('.')[1], 'base64url'));
    assert.equal(claims.iss, tenant.issuer, 'the token is the other tenant\'s');
  });
});
