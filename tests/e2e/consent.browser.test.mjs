// Purposes and the consent ledger in a real browser (issue 20; docs/privacy.md):
// the sign-up page's agreements (a required checkbox named "I accept the
// Terms of service" with a link to the version, an optional "Send me
// marketing email" left unticked), the re-ask after sign-in
// (/consent/update: what changed, a link, "Accept" and "Decline"), and
// "Privacy and agreements" on /account ("Agree", then "Withdraw"). Driven by
// accessible names and the keyboard, at 320 px, axe-checked.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, request, randomHex, sql } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo } from './lib/mail.mjs';

let browser;
let mail;
let server;

async function admin(method, path, body) {
  const r = await request(server, method, path, {
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 201, r.text);
}

const publish = (version, summary) => admin('POST', '/admin/v1/consent/purposes/terms/documents', {
  version, url: `https://example.com/terms/${version}`, text: `Terms ${version}`, summary, effective_at: '2020-01-01',
});

before(async () => {
  mail = await startMailSink();
  server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
  browser = await launchChromium();
  await admin('POST', '/admin/v1/consent/purposes', { key: 'terms', title: 'Terms of service', required: true });
  await admin('POST', '/admin/v1/consent/purposes', { key: 'marketing_email', title: 'Marketing email', label: 'Send me marketing email' });
  await publish('1', 'First version.');
});
after(async () => {
  await browser?.close();
  await stopAll();
  await stopAllMailSinks();
});

async function newPage() {
  const ctx = await browser.newContext({ baseURL: server.issuer, bypassCSP: true, viewport: { width: 320, height: 700 } });
  return { ctx, page: await ctx.newPage() };
}

async function noSidewaysScroll(page, label) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 320, `${label}: no sideways scrolling at 320 px (${wide})`);
}

async function signIn(page, email, password, path = '/signin') {
  await page.goto(path);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe('agreements in the hosted pages', () => {
  const user = { email: `consent-${randomHex(4)}@example.com`, password: `Harbour ${randomHex(6)} willow` };

  test('sign-up: the required box by its name, refused unticked, ticked by keyboard; the optional one left off is recorded as declined', async () => {
    const { ctx, page } = await newPage();
    try {
      await page.goto('/signup');
      const terms = page.getByRole('checkbox', { name: 'I accept the Terms of service' });
      await terms.waitFor();
      const marketing = page.getByRole('checkbox', { name: 'Send me marketing email' });
      assert.equal(await marketing.isChecked(), false, 'optional purposes start unticked');
      assert.equal(await page.getByRole('link', { name: 'Terms of service, version 1 (opens in a new tab)' }).getAttribute('href'),
        'https://example.com/terms/1');
      await assertAccessible(page, '/signup with agreements');
      await noSidewaysScroll(page, '/signup');
      await page.getByLabel('Email', { exact: true }).fill(user.email);
      await page.getByLabel('Password', { exact: true }).fill(user.password);
      // the passwordless button sends without the browser's form check: the server refuses
      await page.getByRole('button', { name: 'Create account without a password' }).click();
      assert.match(await alertText(page), /Accept the Terms of service/);
      await terms.focus();
      await page.keyboard.press('Space');
      assert.equal(await terms.isChecked(), true);
      await page.getByLabel('Password', { exact: true }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/verify');
      const msg = await mail.waitFor(sentTo(user.email), 15_000);
      await page.getByLabel('Code').fill(codeFrom(msg));
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/account');
      const rows = sql(server, `SELECT r.purpose, r.decision, r.version, r.channel FROM consent_records r JOIN users u ON u.id = r.user_id WHERE u.email = '${user.email}' ORDER BY r.purpose`);
      assert.deepEqual(rows, [
        { purpose: 'marketing_email', decision: 'declined', version: null, channel: 'page' },
        { purpose: 'terms', decision: 'granted', version: '1', channel: 'page' },
      ]);
    } finally {
      await ctx.close();
    }
  });

  test('a new version: after sign-in the re-ask shows what changed; Accept by keyboard leads on; /account lists it; Agree then Withdraw', async () => {
    await publish('2', 'We now explain refunds.');
    const { ctx, page } = await newPage();
    try {
      await signIn(page, user.email, user.password);
      await page.waitForURL((u) => u.pathname === '/consent/update');
      await page.getByText('We now explain refunds.').waitFor();
      assert.equal(await page.getByRole('link', { name: 'Terms of service, version 2 (opens in a new tab)' }).isVisible(), true);
      await assertAccessible(page, '/consent/update');
      await noSidewaysScroll(page, '/consent/update');
      await page.getByRole('button', { name: 'Accept' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/account');
      const section = page.getByRole('region', { name: 'Privacy and agreements' });
      await section.getByText('You accepted version 2').waitFor();
      await assertAccessible(page, '/account with agreements');
      await section.getByRole('button', { name: 'Agree: Send me marketing email' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved: Send me marketing email.' }).waitFor();
      await section.getByRole('button', { name: 'Withdraw: Send me marketing email' }).click();
      await page.getByRole('status').filter({ hasText: 'Withdrawn: Send me marketing email.' }).waitFor();
      await section.getByRole('button', { name: 'Agree: Send me marketing email' }).waitFor();
      const decisions = sql(server, `SELECT r.decision FROM consent_records r JOIN users u ON u.id = r.user_id WHERE u.email = '${user.email}' AND r.purpose = 'marketing_email' ORDER BY r.seq`);
      assert.deepEqual(decisions.map((d) => d.decision), ['declined', 'granted', 'withdrawn']);
    } finally {
      await ctx.close();
    }
  });

  test('from any return target the re-ask comes first; Decline signs out with a clear message, and nothing else', async () => {
    await publish('3', 'A third change.');
    const { ctx, page } = await newPage();
    try {
      await signIn(page, user.email, user.password, '/signin?return_to=%2Faccount%2Fauthenticator');
      await page.waitForURL((u) => u.pathname === '/consent/update');
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account/authenticator');
      await page.getByRole('button', { name: 'Decline' }).click();
      await page.getByRole('status').filter({ hasText: 'You declined, so you are signed out' }).waitFor();
      assert.equal((await pageSession(page)).authenticated, false);
      await assertAccessible(page, '/consent/update after declining');
    } finally {
      await ctx.close();
    }
  });

  test('in German (issue 20 item 7): the re-ask and the agreements on /account speak the browser\'s language, the operator\'s wording stays as written', async () => {
    await publish('4', 'A fourth change.');
    const ctx = await browser.newContext({ baseURL: server.issuer, locale: 'de-DE', bypassCSP: true, viewport: { width: 320, height: 700 } });
    const page = await ctx.newPage();
    try {
      await page.goto('/signin');
      await page.getByLabel('E-Mail', { exact: true }).fill(user.email);
      await page.getByLabel('Passwort', { exact: true }).fill(user.password);
      await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/consent/update');
      await page.getByRole('heading', { name: 'Bitte prüfen Sie, was sich geändert hat' }).waitFor();
      await page.getByRole('link', { name: 'Terms of service, Version 4 (öffnet in einem neuen Tab)' }).waitFor();
      await page.getByRole('button', { name: 'Akzeptieren' }).click();
      await page.waitForURL((u) => u.pathname === '/account');
      const section = page.getByRole('region', { name: 'Datenschutz und Zustimmungen' });
      await section.getByText('Sie haben Version 4 am').waitFor();
      await section.getByRole('button', { name: 'Zustimmen: Send me marketing email' }).click();
      await page.getByRole('status').filter({ hasText: 'Gespeichert: Send me marketing email.' }).waitFor();
      await section.getByRole('listitem').filter({ hasText: 'zugestimmt „Send me marketing email“' }).first().waitFor();
      await assertAccessible(page, '/account in German');
    } finally {
      await ctx.close();
    }
  });
});
