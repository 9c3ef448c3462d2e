// An application's purpose question on the hosted consent page, in a real
// browser (issue 20 item 4; docs/privacy.md "For applications"): an
// authorization request with purpose=marketing_email from a first-party
// client still shows the consent page, with an unticked checkbox whose
// accessible name is the exact words recorded; leaving it unticked and
// choosing Allow signs in and records a decline with the client in the
// evidence. Keyboard only, at 320 px, axe-checked.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';

import { launchChromium, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, request, sql } from './lib/server.mjs';
import { newUser } from './lib/browser.mjs';
import { registerClient, clientAuth, startRelyingParty } from './lib/oidc.mjs';

let browser;
let server;
let rp; // the relying party's callback on loopback
let REDIRECT;

before(async () => {
  rp = await startRelyingParty();
  REDIRECT = rp.redirect;
  server = await startServer();
  browser = await launchChromium();
  const r = await request(server, 'POST', '/admin/v1/consent/purposes', {
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: 'marketing_email', title: 'Marketing email', label: 'Send me marketing email', description: 'News and offers, about once a month.' }),
  });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await browser?.close();
  await stopAll();
  rp?.close();
});

test('the consent page asks the purpose with an unticked, named checkbox; Allow without ticking still signs in and records a decline', async () => {
  const user = await newUser(server, 'appweb');
  const reg = await registerClient(server, { client_name: 'Web Shop', scope: 'openid consents', redirect_uris: [REDIRECT] });
  const config = await client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, clientAuth(reg),
    { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid consents', state, purpose: 'marketing_email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const ctx = await browser.newContext({ baseURL: server.issuer, bypassCSP: true, viewport: { width: 320, height: 700 } });
  try {
    const page = await ctx.newPage();
    await page.goto(url.href);
    await page.waitForURL(/\/signin\?/);
    await page.getByLabel('Email', { exact: true }).fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/consent');
    const box = page.getByRole('checkbox', { name: 'Send me marketing email', exact: true });
    await box.waitFor();
    assert.equal(await box.isChecked(), false, 'the purpose starts unticked');
    assert.match(await box.getAttribute('aria-describedby'), /purpose-marketing_email-hint/);
    await page.getByText('News and offers, about once a month.').waitFor();
    await page.getByRole('group', { name: 'Your choices' }).waitFor();
    await assertAccessible(page, '/consent with a purpose');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 320, `no sideways scrolling at 320 px (${wide})`);
    await page.getByRole('button', { name: 'Allow' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${REDIRECT}**`);
    const callback = rp.callbacks.at(-1);
    assert.ok(callback?.searchParams.get('code'), `a code despite the decline: ${callback}`);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
    assert.equal(info.consents.marketing_email.decision, 'declined');
    assert.deepEqual(sql(server, `SELECT decision, channel, client_id, wording FROM consent_records WHERE user_id = '${user.id}'`),
      [{ decision: 'declined', channel: 'page', client_id: reg.client_id, wording: 'Send me marketing email' }]);
  } finally {
    await ctx.close();
  }
});
