// Progressive profiling in a real browser (issue 20 item 6): an
// openid-client relying party asks for `openid profile`; after sign-in the
// hosted /profile/complete page asks only for the missing attribute, with
// the application's reason, at 320 px and by keyboard; Continue leads to
// consent, then to the app, whose ID token carries the value. axe-clean.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import http from 'node:http';

import * as client from 'openid-client';

import { launchChromium, assertAccessible } from './lib/chromium.mjs';
import { clientAuth } from './lib/oidc.mjs';
import { startServer, stopAll, scim, userBody, randomHex } from './lib/server.mjs';

let server;
let browser;
let rp;
let REDIRECT;

before(async () => {
  rp = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>App</title><p>Back at the app</p>');
  });
  await new Promise((r) => rp.listen(0, '127.0.0.1', r));
  REDIRECT = `http://127.0.0.1:${rp.address().port}/callback`;
  server = await startServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
  rp?.close();
});

async function admin(method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.status < 300, JSON.stringify(json));
  return json;
}

describe('progressive profiling in the browser', () => {
  test('the profile page asks only for the missing attribute with the why line; keyboard, 320 px, axe; the ID token has it', async () => {
    await admin('POST', '/admin/v1/profile/attributes',
      { name: 'birthdate', display_name: 'Date of birth', type: 'date', scopes: ['profile'], required: true });
    await admin('POST', '/admin/v1/profile/attributes',
      { name: 'phone_number', display_name: 'Mobile phone', type: 'phone' });
    const reg = await admin('POST', '/register', {
      client_name: 'Wine Shop', redirect_uris: [REDIRECT], scope: 'openid profile',
      attribute_reasons: { birthdate: 'We may sell wine only to adults.' },
    });
    const email = `pp-${randomHex(4)}@example.com`;
    const password = `Juniper-${randomHex(6)}-Canyon`;
    assert.equal((await scim(server, 'POST', '/Users', userBody(email, { password }))).status, 201);

    const config = await client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, clientAuth(reg),
      { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });

    const ctx = await browser.newContext({ viewport: { width: 320, height: 640 }, bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(url.href);
    await page.waitForURL(/\/signin\?/);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.keyboard.press('Enter');

    await page.waitForURL(/\/profile\/complete\?/);
    const field = page.getByLabel('Date of birth', { exact: true });
    await field.waitFor();
    assert.equal(await page.locator('#fields input, #fields select').count(), 1, 'only the missing attribute');
    await page.getByText('Why this is needed: We may sell wine only to adults.').waitFor();
    assert.equal(await page.getByText('Wine Shop').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Not now' }).isVisible(), false, 'a required one cannot be skipped');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 320, `no sideways scrolling at 320 px (${wide})`);
    await assertAccessible(page, 'profile page');

    // keyboard only: focus the field, type the date, Enter submits (Continue)
    await field.focus();
    await page.keyboard.type('05171990'); // the date input's month, day, year segments
    assert.equal(await field.inputValue(), '1990-05-17');
    // Tab on (past the date's own segments) to Continue
    for (let i = 0; i < 6 && await page.evaluate(() => document.activeElement.textContent) !== 'Continue'; i++) {
      await page.keyboard.press('Tab');
    }
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Continue');
    await page.keyboard.press('Enter');

    await page.waitForURL(/\/consent\?/);
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.waitForURL(`${REDIRECT}**`);
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url()),
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    assert.equal(tokens.claims().birthdate, '1990-05-17');
    assert.equal(tokens.claims().phone_number, undefined);

    // the account page shows it in "More about you", editable
    await page.goto(`${server.issuer}/account`);
    const section = page.getByRole('region', { name: 'More about you' });
    await section.waitFor();
    assert.equal(await section.getByLabel('Date of birth', { exact: true }).inputValue(), '1990-05-17');
    await section.getByLabel('Mobile phone', { exact: true }).fill('+41 79 123 45 67');
    await section.getByRole('button', { name: 'Save details' }).click();
    await page.getByText('Your details are saved.').waitFor();
    await assertAccessible(page, 'account page with More about you');
    await ctx.close();
  });
});
