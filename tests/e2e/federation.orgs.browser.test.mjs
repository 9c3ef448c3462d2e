// Home-realm discovery in Chromium (issue 21 part 3, docs/federation.md):
// an application asks for a sign-in for organisation "acme"; on the
// hosted sign-in page the person types an address of acme's domain, is
// sent to acme's own upstream (node oidc-provider) instead of being asked
// for a password, and comes back to the application, whose openid-client
// finds org_id in the ID token. A second upstream belongs to "globex". By
// accessible names ("Email", "Password", "Sign in"); axe-core on the page.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';

import { launchChromium, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, randomHex } from './lib/server.mjs';
import { registerClient, startRelyingParty, clientAuth } from './lib/oidc.mjs';
import { startOidcUpstream } from './lib/upstream.mjs';

let browser;
const ctx = {};

async function admin(path, body) {
  const res = await fetch(`${ctx.server.url}/admin/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  ctx.server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32' } });
  const up = (id) => startOidcUpstream({
    clients: [{ client_id: id, client_secret: `${id}-secret`, redirect_uris: [`${ctx.server.issuer}/federation/${id}/callback`],
      token_endpoint_auth_method: 'client_secret_post' }],
  });
  ctx.upA = await up('acme-sso');
  ctx.upB = await up('globex-sso');
  for (const [org, u] of [['acme', ctx.upA], ['globex', ctx.upB]]) {
    await admin('/organizations', { id: org, display_name: org.toUpperCase(), domains: [`${org}.test`] });
    await admin('/identity-providers', { id: `${org}-sso`, display_name: `${org.toUpperCase()} SSO`, issuer: u.issuer,
      client_id: `${org}-sso`, client_secret: `${org}-sso-secret`, trust_email_verified: true, org_id: org });
  }
  ctx.rp = await startRelyingParty();
  ctx.reg = await registerClient(ctx.server, { client_name: 'B2B App', redirect_uris: [ctx.rp.redirect] });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stopAll();
  for (const u of [ctx.upA, ctx.upB]) await u?.close();
  ctx.rp?.close();
});

describe('home-realm discovery in Chromium', () => {
  test('an address of acme\'s domain goes to acme\'s provider, not to a password; back at the app with org_id', async () => {
    const config = await client.discovery(new URL(ctx.server.issuer), ctx.reg.client_id, ctx.reg.client_secret,
      clientAuth(ctx.reg), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: ctx.rp.redirect, scope: 'openid', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', organization: 'acme' });
    const login = `ann-${randomHex(3)}`;
    ctx.upA.accounts.set(login, { email: `${login}@acme.test`, email_verified: true });

    const c = await browser.newContext({ bypassCSP: true }); // axe is injected as a script
    const page = await c.newPage();
    await page.goto(url.href);
    await page.waitForURL(/\/signin\?/);
    const password = page.getByLabel('Password', { exact: true });
    // another domain: the usual password sign-in stays
    await page.getByLabel('Email', { exact: true }).fill(`someone-${randomHex(2)}@example.com`);
    await page.getByLabel('Email', { exact: true }).blur();
    await page.waitForTimeout(500);
    assert.equal(await password.isVisible(), true);
    // acme's domain: no password asked; "Sign in" leads to acme's upstream
    await page.getByLabel('Email', { exact: true }).fill(`${login}@Acme.test`);
    await password.waitFor({ state: 'hidden' });
    await page.getByRole('status').getByText(/ACME SSO/).waitFor();
    await assertAccessible(page, '/signin with an organisation found');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.origin === ctx.upA.issuer);
    await page.getByPlaceholder('Enter any login').fill(login);
    await page.getByPlaceholder('and password').fill('anything');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.waitForURL((u) => u.href.startsWith(ctx.rp.redirect));
    const back = ctx.rp.callbacks.at(-1);
    const tokens = await client.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    assert.equal(tokens.claims().org_id, 'acme');
    assert.deepEqual(tokens.claims().amr, ['fed']);
    await c.close();
  });
});
