// The OAuth consent page in German (issue 20 gap 5; docs/i18n.md): the
// words of the built-in scopes come from the server in English and the page
// shows them through the catalog, on the consent page and under "Connected
// apps" (SECURITY.md #42: clear scope text). Chromium with locale de-DE.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';

import { launchChromium } from './lib/chromium.mjs';
import { startServer, stopAll } from './lib/server.mjs';
import { newUser, signedIn } from './lib/browser.mjs';
import { registerClient, clientAuth, REDIRECT } from './lib/oidc.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stopAll();
});

test('a German consent page lists the scopes in German, and "Connected apps" too', async () => {
  const reg = await registerClient(server, { scope: 'openid profile email offline_access' }, { firstParty: false });
  const user = await newUser(server, 'de-consent');
  const b = await signedIn(server, user);
  const ctx = await browser.newContext({ baseURL: server.issuer, locale: 'de-DE' });
  try {
    await ctx.addCookies(b.cookieHeader().split(/;\s*/).filter(Boolean).map((kv) => {
      const i = kv.indexOf('=');
      return { name: kv.slice(0, i), value: kv.slice(i + 1), url: server.issuer };
    }));
    const config = await client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, clientAuth(reg),
      { execute: [client.allowInsecureRequests] });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid profile email', state: client.randomState(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const page = await ctx.newPage();
    await page.goto(url.href);
    await page.waitForURL(/\/consent\?/);
    for (const words of ['Sie mit Ihrem Gatehouse-Konto anmelden', 'Ihren Namen sehen', 'Ihre E-Mail-Adresse sehen']) {
      await page.getByText(words, { exact: true }).waitFor({ timeout: 10_000 });
    }
    assert.equal(await page.getByText('See your name').count(), 0, 'no English scope words left');
    // the browser leaves for the application (which does not exist here)
    const leaving = page.waitForRequest((r) => r.url().startsWith(REDIRECT));
    await page.getByRole('button', { name: 'Erlauben' }).click();
    await leaving;

    const account = await ctx.newPage();
    await account.goto('/account');
    await account.getByText(/Ihren Namen sehen/).first().waitFor({ timeout: 10_000 });
    assert.equal(await account.getByText(/See your name/).count(), 0);
  } finally {
    await ctx.close();
  }
});
