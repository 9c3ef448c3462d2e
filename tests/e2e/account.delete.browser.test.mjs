// Delete my account in a real browser (issue 18 item 6; docs/accounts-api.md
// "Delete my account"): the account page's section "Delete account" with
// the field "Confirm with your password" and the button "Delete account",
// at 320 px, by keyboard only, axe clean; then the sign-in page offers
// "Restore my account", which signs in. Chromium through playwright-core,
// the notice from a real SMTP sink. SECURITY.md #31 (deletion ends every
// session), #33 (notice by mail).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, sql } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo } from './lib/mail.mjs';
import { newUser } from './lib/browser.mjs';

let browser;
let mail;
let server;

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

async function signInPage(page, user) {
  await page.goto('/signin');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('Delete account on /account at 320 px by keyboard, then "Restore my account" on the sign-in page', async () => {
  const user = await newUser(server, 'pgdel');
  const ctx = await browser.newContext({ baseURL: server.issuer, bypassCSP: true, viewport: { width: 320, height: 640 } });
  const page = await ctx.newPage();
  try {
    await signInPage(page, user);
    await page.waitForURL((u) => u.pathname === '/account');
    const section = page.getByRole('region', { name: 'Delete account' });
    await section.waitFor();
    await assertAccessible(page, '/account');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 320, `no sideways scrolling at 320 px (${wide})`);
    assert.match(await section.textContent(), /restore it by signing in/);

    // keyboard only: a wrong password is refused with the server's words
    await section.getByLabel('Confirm with your password').focus();
    await page.keyboard.type('not-the-password-at-all');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Show password',
      'Tab goes from the field to its show-password toggle (docs/branding.md)');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Delete account',
      'then to the button');
    await page.keyboard.press('Enter');
    assert.match(await alertText(page), /password/i);
    assert.equal((await pageSession(page)).authenticated, true, 'nothing changed');

    await section.getByLabel('Confirm with your password').focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(user.password);
    const since = mail.messages.length;
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/signin');
    assert.match(await page.getByRole('status').textContent(), /deleted/);
    assert.equal((await pageSession(page)).authenticated, false, 'signed out');
    await mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(user.email)(m)
      && m.subject === 'Your account will be deleted', 10_000);
    assert.equal(sql(server, `SELECT status FROM users WHERE id = '${user.id}'`)[0].status, 'deleting');

    // signing in again offers the restore; by keyboard it signs in
    await signInPage(page, user);
    const restore = page.getByRole('button', { name: 'Restore my account' });
    await restore.waitFor();
    assert.match(await page.locator('#restore-text').textContent(), /set to be deleted on/);
    await assertAccessible(page, '/signin with the restore offer');
    assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Restore my account');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/account');
    const s = await pageSession(page);
    assert.equal(s.authenticated, true);
    assert.equal(s.user.id, user.id);
    assert.equal(sql(server, `SELECT status FROM users WHERE id = '${user.id}'`)[0].status, 'active');
  } finally {
    await ctx.close();
  }
});
