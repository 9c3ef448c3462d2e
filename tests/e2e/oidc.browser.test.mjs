// The OpenID Connect journey in a real browser: Chromium (playwright-core)
// goes from the relying party's authorization URL through Gatehouse's hosted
// sign-in and consent pages back to the relying party, which openid-client
// then completes. The relying party's callback is a small HTTP server on
// loopback that records how it was reached.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import http from 'node:http';

import { launchChromium } from './lib/chromium.mjs';
import * as client from 'openid-client';
import { clientAuth } from './lib/oidc.mjs';

import path from 'node:path';

import { startServer, stopAll, scim, userBody, randomHex, REPO_ROOT } from './lib/server.mjs';

const AXE_PATH = path.join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js');

let RP;
let REDIRECT;
let browser;
let server;
let rp;
const arrivals = [];

before(async () => {
  rp = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      arrivals.push({ url: `${RP}${req.url}`, method: req.method, body });
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>App</title><p>Back at the app</p>');
    });
  });
  await new Promise((r) => rp.listen(0, '127.0.0.1', r));
  RP = `http://127.0.0.1:${rp.address().port}`;
  REDIRECT = `${RP}/callback`;
  server = await startServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
  rp?.close();
});

async function register(metadata) {
  const res = await fetch(`${server.url}/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

/** The last request that reached the callback (browsers also ask for /favicon.ico). */
function lastCallback() {
  return arrivals.filter((a) => new URL(a.url).pathname === '/callback').at(-1);
}

/** A fresh browser context; the relying party's arrivals are recorded. */
async function rpContext() {
  const ctx = await browser.newContext();
  arrivals.length = 0;
  return { ctx, arrivals };
}

async function signInOnPage(page, email, password) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe('OpenID Connect in the browser', () => {
  test('code + PKCE through the hosted sign-in page (first-party client: no consent), completed by openid-client', async () => {
    const email = `web-${randomHex(4)}@example.com`;
    const password = `Orchid-${randomHex(6)}-River`;
    assert.equal((await scim(server, 'POST', '/Users', userBody(email, { password }))).status, 201);
    const reg = await register({ client_name: 'Web Shop', redirect_uris: [REDIRECT], gatehouse_first_party: true });
    const config = await client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, clientAuth(reg),
      { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', login_hint: email });

    const { ctx, arrivals } = await rpContext();
    const page = await ctx.newPage();
    await page.goto(url.href);
    await page.waitForURL(/\/signin\?/);
    assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), email, 'login_hint fills in the email');
    await signInOnPage(page, email, password);
    await page.waitForURL(`${REDIRECT}**`);
    const back = new URL(lastCallback().url);
    assert.equal(back.searchParams.get('state'), state);
    const tokens = await client.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    assert.equal(tokens.claims().email, email, 'the email scope puts email in the ID token too (docs/oidc.md)');
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
    assert.equal(info.email, email);

    // A second authorization in the same browser needs no sign-in.
    const again = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's2',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    await page.goto(again.href);
    await page.waitForURL(`${REDIRECT}**`);
    assert.ok(new URL(page.url()).searchParams.get('code'));
    await ctx.close();
  });

  test('a third-party client shows the consent page; Allow returns a code by form_post, Deny returns access_denied', async () => {
    const email = `consent-${randomHex(4)}@example.com`;
    const password = `Quill-${randomHex(6)}-Harbour`;
    await scim(server, 'POST', '/Users', userBody(email, { password }));
    const reg = await register({ client_name: 'Partner Portal', redirect_uris: [REDIRECT] });
    const config = await client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, clientAuth(reg),
      { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const challenge = await client.calculatePKCECodeChallenge(verifier);

    const { ctx, arrivals } = await rpContext();
    const page = await ctx.newPage();
    const deny = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile', state: 'd1',
      code_challenge: challenge, code_challenge_method: 'S256' });
    await page.goto(deny.href);
    await signInOnPage(page, email, password);
    await page.waitForURL(/\/consent\?/);
    await page.getByText('Partner Portal').waitFor();
    await page.getByText('See your name').waitFor();
    await page.getByRole('button', { name: 'Deny', exact: true }).click();
    await page.waitForURL(`${REDIRECT}**`);
    assert.equal(new URL(lastCallback().url).searchParams.get('error'), 'access_denied');

    const state = client.randomState();
    const allow = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile', state,
      response_mode: 'form_post', code_challenge: challenge, code_challenge_method: 'S256' });
    await page.goto(allow.href);
    await page.waitForURL(/\/consent\?/);
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.waitForURL(`${REDIRECT}**`);
    const arrival = lastCallback();
    assert.equal(arrival.method, 'POST', 'form_post delivers the response in a POST');
    const form = new URLSearchParams(arrival.body);
    assert.equal(form.get('state'), state);
    assert.equal(form.get('iss'), server.issuer);
    const callback = new URL(REDIRECT);
    for (const [k, v] of form) callback.searchParams.set(k, v);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    assert.ok(tokens.access_token);

    // Remembered: the next request goes straight back with a code.
    await page.goto(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile', state: 's3',
      code_challenge: challenge, code_challenge_method: 'S256' }).href);
    await page.waitForURL(`${REDIRECT}**`);
    assert.ok(new URL(page.url()).searchParams.get('code'));
    await ctx.close();
  });

  test('the consent page has no serious or critical accessibility violations (axe-core; bypassCSP only for the axe run)', async () => {
    const email = `axe-${randomHex(4)}@example.com`;
    const password = `Saffron-${randomHex(6)}-Bridge`;
    await scim(server, 'POST', '/Users', userBody(email, { password }));
    const reg = await register({ client_name: 'Axe App', redirect_uris: [REDIRECT] });
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    const url = new URL(`${server.issuer}/authorize`);
    for (const [k, v] of Object.entries({ client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code',
      scope: 'openid email', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    await page.goto(url.href);
    await signInOnPage(page, email, password);
    await page.waitForURL(/\/consent\?/);
    await page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
    await page.addScriptTag({ path: AXE_PATH });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => v.id), []);
    await page.setViewportSize({ width: 320, height: 640 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320), 'no horizontal scroll at 320 px');
    await ctx.close();
  });

  test('an unknown redirect_uri shows an error page in the browser and never leaves Gatehouse', async () => {
    const reg = await register({ client_name: 'Strict', redirect_uris: [REDIRECT], gatehouse_first_party: true });
    const { ctx, arrivals } = await rpContext();
    const page = await ctx.newPage();
    const url = new URL(`${server.issuer}/authorize`);
    for (const [k, v] of Object.entries({ client_id: reg.client_id, redirect_uri: `${RP}/elsewhere`, response_type: 'code',
      scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    const res = await page.goto(url.href);
    assert.equal(res.status(), 400);
    await page.getByRole('alert').waitFor();
    assert.equal(arrivals.length, 0, 'the browser never reached the relying party');
    await ctx.close();
  });
});
