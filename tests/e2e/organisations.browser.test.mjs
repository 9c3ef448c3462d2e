// An invitation in Chromium (docs/organisations.md "Invitations"): the
// invitee opens the mailed link, signs in from the invitation page, comes
// back to it and accepts, through accessible names; keyboard and 320 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium } from './lib/chromium.mjs';
import { startMailSink, stopAllMailSinks, sentTo } from './lib/mail.mjs';
import { startServer, stopAll, scim, request, userBody, randomHex } from './lib/server.mjs';
import { registerClient, startRelyingParty } from './lib/oidc.mjs';
import * as client from 'openid-client';

const GH_EXT = 'urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User';
let browser;
let server;
let mail;

before(async () => {
  mail = await startMailSink();
  server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
  await stopAllMailSinks();
});

test('the invitee opens the link, signs in from the page, accepts and is a member', async () => {
  const id = `web-${randomHex(3)}`;
  const admin = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };
  assert.equal((await request(server, 'POST', '/admin/v1/organizations', { headers: admin, body: JSON.stringify({ id, display_name: 'Web Invite Ltd' }) })).status, 201);
  const email = `web-${randomHex(4)}@example.com`;
  const password = `Lantern-${randomHex(6)}-Harbour`;
  const body = userBody(email, { password, [GH_EXT]: { emailVerified: true } });
  body.schemas = [...body.schemas, GH_EXT];
  const user = await scim(server, 'POST', '/Users', body);
  assert.equal(user.status, 201, user.text);
  const inv = await request(server, 'POST', `/admin/v1/organizations/${id}/invitations`, { headers: admin, body: JSON.stringify({ email, roles: ['viewer'] }) });
  assert.equal(inv.status, 201, inv.text);
  const m = await mail.waitFor(sentTo(email));
  const link = /(http\S+\/invitation#token=[A-Za-z0-9_-]+)/.exec(m.text)[1];

  const ctx = await browser.newContext({ viewport: { width: 320, height: 640 } });
  const page = await ctx.newPage();
  await page.goto(link);
  await page.getByText(`Web Invite Ltd invites ${email} to join.`).waitFor();
  assert.ok(!page.url().includes('token='), 'the token leaves the address bar');
  await page.getByRole('link', { name: 'Sign in' }).first().click();
  await page.waitForURL(/\/signin\?/);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/invitation$/);
  const accept = page.getByRole('button', { name: 'Accept invitation' });
  await accept.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'You joined Web Invite Ltd.' }).waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 320, `no sideways scrolling at 320 px (${width})`);
  const members = await request(server, 'GET', `/admin/v1/organizations/${id}/members`, { headers: admin });
  assert.deepEqual(members.body.members.map((x) => [x.email, x.roles]), [[email, ['viewer']]]);
  await ctx.close();
});

test('a client that requires an organisation: a member of two picks one on the picker; the code carries it', async () => {
  const admin = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };
  const rp = await startRelyingParty();
  try {
    const a = `pa-${randomHex(3)}`;
    const b = `pb-${randomHex(3)}`;
    for (const [id, name] of [[a, 'Alpha Shipping'], [b, 'Beta Freight']]) {
      assert.equal((await request(server, 'POST', '/admin/v1/organizations', { headers: admin, body: JSON.stringify({ id, display_name: name }) })).status, 201);
    }
    const email = `pick-${randomHex(4)}@example.com`;
    const password = `Lantern-${randomHex(6)}-Harbour`;
    const u = await scim(server, 'POST', '/Users', userBody(email, { password }));
    for (const id of [a, b]) {
      assert.equal((await request(server, 'PUT', `/admin/v1/organizations/${id}/members/${u.body.id}`, { headers: admin, body: JSON.stringify({ roles: ['staff'] }) })).status, 200);
    }
    const bad = await request(server, 'POST', '/register', { headers: admin, body: JSON.stringify({ redirect_uris: [rp.redirect], organization_usage: 'always' }) });
    assert.equal(bad.status, 400, 'organization_usage is checked');
    const reg = await registerClient(server, { client_name: 'Fleet', redirect_uris: [rp.redirect], organization_usage: 'require' });
    const config = await client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, client.ClientSecretBasic(reg.client_secret),
      { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: rp.redirect, scope: 'openid org_roles', state: 'st',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url.href);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Choose an organisation' }).waitFor();
    await page.getByRole('button', { name: 'Beta Freight' }).click();
    await page.waitForURL(`${rp.redirect}**`);
    const tokens = await client.authorizationCodeGrant(config, rp.callbacks.at(-1), { pkceCodeVerifier: verifier, expectedState: 'st' });
    assert.equal(tokens.claims().org_id, b);
    assert.deepEqual(tokens.claims().org_roles, ['staff']);
    await ctx.close();
  } finally {
    rp.close();
  }
});
