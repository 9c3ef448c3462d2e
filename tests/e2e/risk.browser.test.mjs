// The risk engine's reason on the hosted pages (issue 22 item 3,
// docs/risk.md "What the customer sees"), in Chromium through
// playwright-core: a sign-in from a new device on an account with an
// authenticator app asks for the code, and the second step says why in
// plain words, in English and German, at 320 px, axe clean. TOTP codes
// come from Debian's oathtool.
//
// SECURITY.md #33 (notify on suspicious sign-in, ASVS 6.3.5): here only the
// in-page part, the reason given on the second step for a new device; no
// notification mail is checked in this file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll } from './lib/server.mjs';
import { newUser, signedIn } from './lib/browser.mjs';
import { enrolTotp, codeAt, currentStep, awayFromStepEdge } from './lib/factors.mjs';

let browser;
let server;
before(async () => {
  server = await startServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stopAll();
});

const onPath = (p) => (url) => url.pathname === p;

async function signInOnNewDevice(user, options) {
  const ctx = await browser.newContext({ baseURL: server.issuer, bypassCSP: true, viewport: { width: 320, height: 640 }, ...options });
  const page = await ctx.newPage();
  await page.goto('/signin');
  await page.getByLabel(options?.locale === 'de-DE' ? 'E-Mail' : 'Email', { exact: true }).fill(user.email);
  await page.getByLabel(options?.locale === 'de-DE' ? 'Passwort' : 'Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: options?.locale === 'de-DE' ? 'Anmelden' : 'Sign in', exact: true }).click();
  await page.waitForURL(onPath('/signin/mfa'));
  return { ctx, page };
}

test('a new device on an account with an authenticator app: the code is asked and the page says why', async () => {
  const user = await newUser(server, 'riskpage');
  const totp = await enrolTotp(await signedIn(server, user));

  const { ctx, page } = await signInOnNewDevice(user);
  const why = page.locator('#risk-why');
  await why.waitFor({ state: 'visible' });
  assert.equal((await why.textContent()).trim(), 'We asked for your code because this is a new device.');
  await assertAccessible(page, 'the second step with its reason at 320 px');
  await awayFromStepEdge();
  await page.getByLabel('Code', { exact: true }).fill(codeAt(totp.secret, currentStep()));
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await page.waitForURL(onPath('/account'));
  await ctx.close();

  const de = await signInOnNewDevice(user, { locale: 'de-DE' });
  const grund = de.page.locator('#risk-why');
  await grund.waitFor({ state: 'visible' });
  assert.equal((await grund.textContent()).trim(), 'Wir haben nach Ihrem Code gefragt, weil dies ein neues Gerät ist.');
  await de.ctx.close();
});
