// A German browser in real Chromium (issue 20 item 7; docs/i18n.md):
// Chromium with locale de-DE signs up and signs in through German pages,
// driven by their German accessible names, under the pages' real CSP (the
// catalog reaches the page script as a JSON data block); the language
// switch works by keyboard and is saved as the customer's locale; axe finds
// nothing serious on the German pages at 320 px. Kept lean: one journey.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, randomHex } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo } from './lib/mail.mjs';

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

const onPath = (p) => (u) => u.pathname === p;

describe('a German browser', () => {
  test('signs up and signs in through German pages by German names; the switch works by keyboard and is saved', async () => {
    const ctx = await browser.newContext({ baseURL: server.issuer, locale: 'de-DE' });
    const page = await ctx.newPage();
    const violations = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    try {
      const email = `browser-de-${randomHex(4)}@example.com`;
      const password = `Leuchtturm ${randomHex(6)} Wiese ${randomHex(3)}`;
      await page.goto('/signup');
      assert.equal(await page.locator('html').getAttribute('lang'), 'de');
      await page.getByRole('heading', { name: 'Konto erstellen' }).waitFor();
      // a message the page script writes itself comes from the catalog
      await page.getByText('Mindestens 15 Zeichen.').waitFor();
      await page.getByLabel('E-Mail', { exact: true }).fill(email);
      await page.getByLabel('Passwort', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Konto erstellen', exact: true }).click();
      await page.waitForURL(onPath('/verify'));
      const m = await mail.waitFor(sentTo(email), 15_000);
      assert.equal(m.subject, 'Bestätigen Sie Ihre E-Mail-Adresse');
      await page.getByText(`Wir haben einen 6-stelligen Code an ${email} gesendet.`, { exact: false }).waitFor();
      await page.getByLabel('Code', { exact: true }).fill(codeFrom(m));
      await page.getByRole('button', { name: 'Bestätigen', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      await page.getByRole('heading', { name: 'Ihr Konto', level: 1 }).waitFor();

      // sign out, then in again by the German names
      await page.getByRole('button', { name: 'Abmelden', exact: true }).click();
      await page.waitForURL(onPath('/signin'));
      await page.getByRole('status').getByText('Sie haben sich abgemeldet.').waitFor();
      await page.getByLabel('E-Mail', { exact: true }).fill(email);
      // the API's refusal reaches the page in German too
      await page.getByLabel('Passwort', { exact: true }).fill(`${password}-falsch`);
      await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
      assert.equal(await alertText(page), 'Die E-Mail-Adresse oder das Passwort ist nicht korrekt.');
      await page.getByLabel('Passwort', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      assert.equal((await pageSession(page)).authenticated, true);

      // the language switch by keyboard: Tab to "English", press Enter
      const nav = page.getByRole('navigation', { name: 'Sprache wählen' });
      await nav.waitFor();
      let reached = false;
      for (let i = 0; i < 80 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(() => document.activeElement?.dataset?.lang === 'en');
      }
      assert.ok(reached, 'Tab reaches the "English" button');
      await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
      await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      const profile = await page.evaluate(async () => (await fetch('/api/v1/profile')).json());
      assert.equal(profile.locale, 'en', 'the choice is saved as the locale claim');
      // and back to German the same way (the button's own name is its language's)
      await Promise.all([page.waitForEvent('load'),
        page.getByRole('button', { name: 'Deutsch', exact: true }).press('Enter')]);
      await page.getByRole('heading', { name: 'Ihr Konto', level: 1 }).waitFor();
      assert.deepEqual(violations, [], 'the catalog block breaks no CSP rule');
    } finally {
      await ctx.close();
    }
  });

  test('the server\'s refusals built with a number (password length, the rate limit\'s wait) show in German too', async () => {
    const ctx = await browser.newContext({ baseURL: server.issuer, locale: 'de-DE' });
    const page = await ctx.newPage();
    try {
      await page.goto('/signup');
      const shown = await page.evaluate(() => [
        'Use at least 15 characters.', 'Use at most 64 characters.',
        'Too many requests. Try again in 1 second.', 'Too many requests. Try again in 42 seconds.',
      ].map((d) => errorText({ status: 400, data: { error_description: d } })));
      assert.deepEqual(shown, [
        'Verwenden Sie mindestens 15 Zeichen.', 'Verwenden Sie höchstens 64 Zeichen.',
        'Zu viele Anfragen. Versuchen Sie es in 1 Sekunde erneut.', 'Zu viele Anfragen. Versuchen Sie es in 42 Sekunden erneut.',
      ]);
      // the server says them this way: a password of 9 characters on an account without a second factor
      const r = await page.evaluate(async () => {
        const s = await (await fetch('/api/v1/session', { credentials: 'same-origin' })).json();
        const res = await fetch('/api/v1/signup', {
          method: 'POST', credentials: 'same-origin',
          headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token || '' },
          body: JSON.stringify({ email: `short-${Date.now()}@example.com`, password: 'Kurz9Zeic' }),
        });
        const data = await res.json();
        return { status: res.status, description: data.error_description, shown: errorText({ status: res.status, data }) };
      });
      assert.equal(r.status, 400, JSON.stringify(r));
      assert.match(r.description, /^Use at least \d+ characters\.$/);
      assert.match(r.shown, /^Verwenden Sie mindestens \d+ Zeichen\.$/);
    } finally {
      await ctx.close();
    }
  });

  test('German pages are axe-clean at 320 px', async () => {
    const ctx = await browser.newContext({
      baseURL: server.issuer, locale: 'de-DE', bypassCSP: true, viewport: { width: 320, height: 640 },
    });
    const page = await ctx.newPage();
    try {
      for (const p of ['/signin', '/signup', '/recover', '/verify?flow=x', '/error']) {
        await page.goto(p);
        assert.equal(await page.locator('html').getAttribute('lang'), 'de', p);
        await assertAccessible(page, `${p} (de, 320 px)`);
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(wide <= 320, `${p}: no sideways scrolling at 320 px (${wide})`);
      }
    } finally {
      await ctx.close();
    }
  });
});
