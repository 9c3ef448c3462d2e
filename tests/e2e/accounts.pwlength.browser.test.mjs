// Password length on the hosted pages (issue 18 item 9; NIST SP 800-63B-4
// §3.1.1.2; SECURITY.md #1): the Create account page states the rule
// before anything is typed (a hint tied to the Password field, with the
// server's current minimum) and offers "Create account without a
// password"; an account whose password is shorter than today's minimum is
// led after sign-in to the upgrade page ("Choose a longer password", "Add a
// second step", "Not now"). Chromium at 320 px, keyboard only, axe clean.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, scim, sql, userBody, randomHex } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo } from './lib/mail.mjs';

const pw = (n) => `Kq-${randomHex(64)}`.slice(0, n);
const NARROW = { width: 320, height: 640 };

let browser;
let mail;
let low; // GATEHOUSE_PASSWORD_MIN_LENGTH=8, where the old passwords were made
let server; // the same data with the default rule
const short = {};

before(async () => {
  mail = await startMailSink();
  browser = await launchChromium();
  low = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_PASSWORD_MIN_LENGTH: '8' } });
  short.email = `oldpw-${randomHex(4)}@example.com`;
  short.password = pw(10);
  const r = await scim(low, 'POST', '/Users', userBody(short.email, { password: short.password }));
  assert.equal(r.status, 201, r.text);
  short.id = r.body.id;
});
after(async () => {
  await browser?.close();
  await stopAll();
  await stopAllMailSinks();
});

async function newPage(srv) {
  const ctx = await browser.newContext({ baseURL: srv.issuer, bypassCSP: true, viewport: NARROW });
  return { ctx, page: await ctx.newPage() };
}

/** Presses Tab until the element matching locator has the focus (at most 20 times). */
async function tabTo(page, locator) {
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    if (await locator.evaluate((el) => el === document.activeElement)) return;
  }
  assert.fail(`Tab never reached ${locator}`);
}

/** The text of the elements the field's aria-describedby names. */
function description(field) {
  return field.evaluate((el) => (el.getAttribute('aria-describedby') || '').split(/\s+/)
    .map((id) => document.getElementById(id)?.textContent ?? '').join(' '));
}

async function noSidewaysScroll(page, label) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= NARROW.width, `${label}: no sideways scrolling at 320 px (${wide})`);
}

describe('Create account page: the rule before typing, and passwordless', () => {
  test('the hint names the server\'s minimum (8 where it is set so) and is the Password field\'s description', async () => {
    const { ctx, page } = await newPage(low);
    try {
      await page.goto('/signup');
      const field = page.getByLabel('Password', { exact: true });
      await page.getByText('At least 8 characters.').waitFor();
      assert.match(await description(field), /At least 8 characters\./);
    } finally {
      await ctx.close();
    }
    await low.stop('SIGTERM', { keepData: true });
    server = await startServer({
      dir: low.dir, port: low.port, token: low.token, masterKey: low.masterKey,
      env: { GATEHOUSE_SMTP_URL: mail.url },
    });
  });

  test('default: "At least 15 characters." is shown and described; 14 characters get the server\'s reason; "Create account without a password" by keyboard signs up and in with the emailed code (320 px, axe)', async () => {
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signup');
      const field = page.getByLabel('Password', { exact: true });
      await page.getByText('At least 15 characters.').waitFor();
      assert.match(await description(field), /At least 15 characters\./);
      await assertAccessible(page, '/signup');
      await noSidewaysScroll(page, '/signup');

      const email = `pwless-${randomHex(4)}@example.com`;
      await page.getByLabel('Email').fill(email);
      await field.fill(pw(14));
      await page.getByRole('button', { name: 'Create account', exact: true }).click();
      assert.equal(await alertText(page), 'Use at least 15 characters.');

      // Keyboard only from here: back to the top, the email is kept, Tab to the button, Enter.
      await page.getByLabel('Email').focus();
      const since = mail.messages.length;
      const button = page.getByRole('button', { name: 'Create account without a password' });
      await tabTo(page, button);
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/verify');
      const msg = await mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(email)(m), 15_000);
      await page.getByLabel('Code').focus();
      await page.keyboard.type(codeFrom(msg));
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/account');
      const s = await pageSession(page);
      assert.equal(s.authenticated, true);
      assert.equal(s.user.email, email);
      const pwRows = sql(server, `SELECT count(*) AS n FROM credentials WHERE user_id = '${s.user.id}' AND type = 'password'`);
      assert.equal(Number(pwRows[0].n), 0, 'no password');
    } finally {
      await ctx.close();
    }
  });
});

describe('the password upgrade page', () => {
  async function signInByKeyboard(page, password) {
    await page.goto('/signin');
    await page.getByLabel('Email').focus();
    await page.keyboard.type(short.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/account/password-upgrade');
  }

  test('a 10-character password signs in and leads here; "Not now" (keyboard) goes on to /account and is counted', async () => {
    const { ctx, page } = await newPage(server);
    try {
      await signInByKeyboard(page, short.password);
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account');
      await page.getByText('At least 15 characters.').waitFor();
      assert.match(await description(page.getByLabel('New password')), /At least 15 characters\./);
      const second = page.getByRole('link', { name: 'Add a second step' });
      assert.equal(await second.getAttribute('href'), '/account#methods');
      await assertAccessible(page, '/account/password-upgrade');
      await noSidewaysScroll(page, '/account/password-upgrade');
      await tabTo(page, page.getByRole('button', { name: 'Not now' }));
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/account');
      const n = sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${short.id}' AND type = 'password.upgrade_skipped'`);
      assert.equal(Number(n[0].n), 1);
    } finally {
      await ctx.close();
    }
  });

  test('"Choose a longer password" by keyboard: a short one is refused with the reason, a long one is saved and the journey goes on', async () => {
    const { ctx, page } = await newPage(server);
    try {
      await signInByKeyboard(page, short.password);
      const field = page.getByLabel('New password');
      await field.focus();
      await page.keyboard.type(pw(12));
      await page.keyboard.press('Enter');
      assert.equal(await alertText(page), 'Use at least 15 characters.');
      const longer = pw(20);
      await field.fill('');
      await field.focus();
      await page.keyboard.type(longer);
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/account');
      assert.equal((await pageSession(page)).authenticated, true);
      short.password = longer;
    } finally {
      await ctx.close();
    }
    // The new password signs in straight to /account.
    const { ctx: c2, page: p2 } = await newPage(server);
    try {
      await p2.goto('/signin');
      await p2.getByLabel('Email').fill(short.email);
      await p2.getByLabel('Password', { exact: true }).fill(short.password);
      await p2.keyboard.press('Enter');
      await p2.waitForURL((u) => u.pathname === '/account');
    } finally {
      await c2.close();
    }
  });
});
