// "Download my data" on /account in a real browser (issue 18 item 7;
// docs/accounts-api.md): the button named "Download my data" gives a real
// download (Playwright's download event) whose file is the account's JSON
// document. The download runs under the page's own strict CSP (this
// context does not bypass it); axe runs in a second context that does, as
// axe is injected. A session past the re-authentication window is asked
// for "Confirm with your password"; all of it by keyboard and at 320 px.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';

import { launchChromium, alertText, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll } from './lib/server.mjs';
import { Browser, newUser } from './lib/browser.mjs';
import { enrolTotp } from './lib/factors.mjs';

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

/** A page signed in as user through the sign-in page. */
async function signedInPage(user, options = {}) {
  const ctx = await browser.newContext({ baseURL: server.issuer, acceptDownloads: true, ...options });
  const page = await ctx.newPage();
  await page.goto('/signin');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/account');
  await page.getByRole('heading', { name: 'Your data' }).waitFor();
  return { ctx, page };
}

async function downloaded(download) {
  const file = await download.path();
  return JSON.parse(await fs.readFile(file, 'utf8'));
}

describe('account page: Download my data', () => {
  test('clicking "Download my data" after a fresh sign-in downloads the account\'s JSON, under the page\'s CSP, at 320 px', async () => {
    const user = await newUser(server, 'pgexport');
    const { ctx, page } = await signedInPage(user, { viewport: { width: 320, height: 640 } });
    try {
      const button = page.getByRole('button', { name: 'Download my data' });
      assert.ok((await button.boundingBox()).width <= 320, 'the button fits');
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= 320, `no sideways scrolling at 320 px (${scrollWidth})`);
      const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
      const today = new Date().toISOString().slice(0, 10);
      assert.equal(download.suggestedFilename(), `gatehouse-data-${today}.json`);
      const doc = await downloaded(download);
      assert.equal(doc.format, 'gatehouse.account-export/1');
      assert.equal(doc.profile.email, user.email);
      assert.equal(doc.profile.id, user.id);
      assert.ok(!JSON.stringify(doc).includes(user.password));
      assert.match(await page.getByRole('status').textContent(), /downloading/);
    } finally {
      await ctx.close();
    }
  });

  test('by keyboard, on a session that must re-authenticate: the password is asked for, a wrong one is refused, the right one downloads; axe finds nothing serious', async () => {
    const user = await newUser(server, 'pgexport2');
    const { ctx, page } = await signedInPage(user);
    try {
      // A second factor added through the API puts this AAL1 session below
      // the account's level: the export now needs the current password.
      const api = new Browser(server);
      api.jar = new Map((await ctx.cookies()).map((c) => [c.name, c.value]));
      await api.session();
      await enrolTotp(api);

      const field = page.getByRole('region', { name: 'Your data' }).getByLabel('Confirm with your password');
      await field.focus();
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Show password',
        'Tab from the field reaches its show-password toggle (docs/branding.md)');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Download my data',
        'then the button');
      await page.keyboard.press('Enter');
      assert.match(await alertText(page), /password/i);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'export_password', 'focus goes to the field');

      await page.keyboard.type('not-the-password-at-all');
      await page.keyboard.press('Enter');
      assert.match(await alertText(page), /not right/);

      await field.fill('');
      await page.keyboard.type(user.password);
      const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
      const doc = await downloaded(download);
      assert.equal(doc.profile.email, user.email);
      assert.equal(doc.authentication.authenticator_apps.length, 1);
      assert.equal(await field.inputValue(), '', 'the password is cleared');
    } finally {
      await ctx.close();
    }
    // axe injects a script: a context that bypasses the CSP
    const { ctx: axeCtx, page: axePage } = await signedInPage(await newUser(server, 'pgexport3'), { bypassCSP: true });
    try {
      await assertAccessible(axePage, '/account');
    } finally {
      await axeCtx.close();
    }
  });
});
