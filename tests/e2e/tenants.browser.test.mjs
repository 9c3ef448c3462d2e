// A tenant reached by path in a real browser (docs/tenants.md): the hosted
// pages under /t/{tenant} sign a customer in, keep every link and API call
// inside the tenant, and hand a relying party (openid-client, discovering
// the tenant's issuer) its code; the default tenant knows nothing of it.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';

import { launchChromium } from './lib/chromium.mjs';
import { clientAuth, registerClient, startRelyingParty } from './lib/oidc.mjs';
import { startServer, stopAll, scim, request, userBody, randomHex } from './lib/server.mjs';

let browser;
let server;
let rp;

before(async () => {
  server = await startServer();
  browser = await launchChromium();
  rp = await startRelyingParty();
});

after(async () => {
  await browser?.close();
  rp?.close();
  await stopAll();
});

describe('a tenant in the browser', () => {
  test('sign-in through /t/{tenant}/signin, the code to an openid-client RP with the tenant\'s issuer; the default tenant stays signed out', async () => {
    const id = `shop-${randomHex(3)}`;
    const made = await request(server, 'POST', '/admin/v1/tenants', {
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, display_name: 'Shop' }),
    });
    assert.equal(made.status, 201, made.text);
    const T = { ...server, url: `${server.url}/t/${id}`, issuer: `${server.issuer}/t/${id}` };
    const email = `buyer-${randomHex(4)}@example.com`;
    const password = `Orchid-${randomHex(6)}-River`;
    assert.equal((await scim(T, 'POST', '/Users', userBody(email, { password }))).status, 201);
    const reg = await registerClient(T, { client_name: 'Shop App', redirect_uris: [rp.redirect] });

    const config = await client.discovery(new URL(T.issuer), reg.client_id, reg.client_secret, clientAuth(reg),
      { execute: [client.allowInsecureRequests] });
    assert.equal(config.serverMetadata().issuer, T.issuer);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: rp.redirect, scope: 'openid email', state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });

    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url.href);
    await page.waitForURL(new RegExp(`/t/${id}/signin\\?`));
    // the page's own links stay inside the tenant
    const hrefs = await page.locator('main a[href^="/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(hrefs.length > 0);
    for (const h of hrefs) assert.ok(h.startsWith(`/t/${id}/`), `link ${h} stays in the tenant`);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${rp.redirect}**`);
    const back = rp.callbacks.at(-1);
    const tokens = await client.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state });
    assert.equal(tokens.claims().iss, T.issuer);
    assert.equal(tokens.claims().email, email);

    // the tenant's account page knows the customer; the default tenant's does not
    await page.goto(`${T.url}/account`.replace(server.url, server.issuer));
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    // the tenant's 404 page links inside the tenant; sign-out names the tenant's product
    const brand = await request(T, 'PUT', '/admin/v1/branding', {
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ product_name: 'Shop Online' }),
    });
    assert.equal(brand.status, 200, brand.text);
    await page.goto(`${server.issuer}/t/${id}/no-such-page`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href'), `/t/${id}/signin`);
    assert.equal(await page.getByRole('link', { name: 'Go to your account' }).getAttribute('href'), `/t/${id}/account`);
    await page.goto(`${server.issuer}/t/${id}/logout`);
    await page.getByText('Do you want to sign out of Shop Online on this device?').waitFor();
    await page.goto(`${server.issuer}/account`);
    await page.waitForURL(/\/signin/);
    assert.ok(!new URL(page.url()).pathname.startsWith('/t/'), 'the default tenant\'s sign-in page');
    await ctx.close();
  });
});
