// A tenant that claims a host (docs/tenants.md "Reaching a tenant"), in
// Chromium: the claimed name is mapped to 127.0.0.1 with
// --host-resolver-rules, so the browser sends that Host header as it would
// to a real DNS name. A customer signs in on that host: the session cookie
// is the tenant's (its name carries the tenant id) and is set for that host
// only, and the default tenant at 127.0.0.1 stays signed out.
// Runs on both backends (GATEHOUSE_TEST_DATABASE_URL for PostgreSQL).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, pageSession } from './lib/chromium.mjs';
import { startServer, stopAll, scim, userBody, randomHex, BACKEND } from './lib/server.mjs';
import { tenantView, createTenant } from './lib/tenants.mjs';

const id = `host-${randomHex(3)}`;
const name = `${id}.example.test`;
let browser;
let server;

before(async () => {
  server = await startServer();
  browser = await launchChromium([`--host-resolver-rules=MAP ${name} 127.0.0.1`]);
});

after(async () => {
  await browser?.close();
  await stopAll();
});

test(`sign-in on a tenant's own host sets the tenant's cookie for that host only; the default tenant stays signed out (${BACKEND})`, async () => {
  const host = `${name}:${server.port}`;
  const made = await createTenant(server, id, { host });
  assert.equal(made.issuer, `http://${host}`);
  const T = tenantView(server, id);
  const email = `host-${randomHex(4)}@example.com`;
  const password = `Lantern-${randomHex(6)}-Harbour`;
  assert.equal((await scim(T, 'POST', '/Users', userBody(email, { password }))).status, 201);

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`http://${host}/signin`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  assert.equal(new URL(page.url()).host, host, 'the journey stays on the tenant\'s host');
  assert.equal(new URL(page.url()).pathname, '/account', 'no /t/{id} prefix on the tenant\'s own host');
  const me = await pageSession(page);
  assert.equal(me.user?.email, email);

  const cookies = await ctx.cookies();
  const session = cookies.filter((c) => c.name.startsWith('gh_session'));
  assert.deepEqual(session.map((c) => [c.name, c.domain]), [[`gh_session.${id}`, name]],
    'one session cookie: the tenant\'s name, for the claimed host only');
  assert.equal(session[0].httpOnly, true);
  assert.equal((await ctx.cookies(server.issuer)).filter((c) => c.name.startsWith('gh_session')).length, 0);

  // the default tenant, at 127.0.0.1 in the same browser, knows nobody
  await page.goto(`${server.issuer}/account`);
  await page.waitForURL(/\/signin/);
  assert.equal(new URL(page.url()).host, new URL(server.issuer).host);
  assert.equal((await pageSession(page)).signed_in ?? false, false);
  await ctx.close();
});
