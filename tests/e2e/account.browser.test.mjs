// The customer's own account in a real browser (issue 18; docs/recovery.md,
// docs/accounts-api.md): forgot password through the hosted pages /signin →
// /recover → /signin/mfa → /recover/password, the waiting period's pages,
// and the account page's Profile, Change password and Connected apps.
// Chromium through playwright-core, mail from a real SMTP sink, TOTP codes
// from oathtool, axe-core for accessibility. Pages are driven by accessible
// name only (BRIEF.md: a link "Forgot password?", fields "Email", "Code",
// "New password", buttons "Continue" and "Reset password", a link "I can't
// use any of these" on the factor step; "Change password", "Change email"
// (then "Undo the change" on /recover/lock), a section "Connected apps"
// with "Remove access"). Kept lean: one journey per kind of
// account, with the keyboard, 320 px and axe checks on the way.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, randomHex } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, linkFrom, sentTo } from './lib/mail.mjs';
import { newUser, signedIn } from './lib/browser.mjs';
import { registerClient, codeTokens, refresh } from './lib/oidc.mjs';
import { currentStep, codeAt, awayFromStepEdge, enrolTotp } from './lib/factors.mjs';

const RESET_SUBJECT = 'Reset your password';
const newPassword = () => `Harbour ${randomHex(6)} willow ${randomHex(3)}`;

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

async function newPage(options = {}) {
  const ctx = await browser.newContext({ baseURL: server.issuer, bypassCSP: true, ...options });
  return { ctx, page: await ctx.newPage() };
}

function resetMail(email, since) {
  return mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(email)(m) && m.subject === RESET_SUBJECT, 15_000);
}

/** From the sign-in page to the emailed code, by the page's names. */
async function askForCode(page, email) {
  await page.goto('/signin');
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.waitForURL((u) => u.pathname === '/recover');
  await assertAccessible(page, '/recover');
  const since = mail.messages.length;
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Code').waitFor();
  return resetMail(email, since);
}

async function newPasswordPage(page, password) {
  await page.waitForURL((u) => u.pathname === '/recover/password');
  await assertAccessible(page, '/recover/password');
  await page.getByLabel('New password').fill(password);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.waitForURL((u) => u.pathname === '/account');
}

describe('forgot password, hosted pages', () => {
  test('an account without a second factor: Forgot password? → Email → Code → New password → signed in, at 320 px and by keyboard', async () => {
    const user = await newUser(server, 'pgreset');
    const { ctx, page } = await newPage({ viewport: { width: 320, height: 640 } });
    try {
      const msg = await askForCode(page, user.email);
      // by keyboard: type the code and press Enter
      await page.getByLabel('Code').focus();
      await page.keyboard.type(codeFrom(msg));
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/recover/password');
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= 320, `no sideways scrolling at 320 px (${wide})`);
      // a weak password is refused with the server's words, and nothing changes
      await page.getByLabel('New password').fill('password');
      await page.getByRole('button', { name: 'Reset password' }).click();
      assert.match(await alertText(page), /./);
      const pw = newPassword();
      await page.getByLabel('New password').fill(pw);
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/account');
      const s = await pageSession(page);
      assert.equal(s.authenticated, true);
      assert.equal(s.user.id, user.id);
    } finally {
      await ctx.close();
    }
  });

  test('the link in the mail, opened in the browser that asked, leads to the new password', async () => {
    const user = await newUser(server, 'pglink');
    const { ctx, page } = await newPage();
    try {
      const msg = await askForCode(page, user.email);
      const link = linkFrom(msg);
      await page.goto(`${link.pathname}${link.search}`);
      await newPasswordPage(page, newPassword());
      assert.equal((await pageSession(page)).authenticated, true);
      assert.doesNotMatch(page.url(), /token=/, 'the link token is not left in the address bar');
    } finally {
      await ctx.close();
    }
  });

  test('an account with an authenticator app: the factor step ("I can\'t use any of these" offered), then the new password', async () => {
    const user = await newUser(server, 'pgtotp');
    const totp = await enrolTotp(await signedIn(server, user));
    const { ctx, page } = await newPage();
    try {
      const msg = await askForCode(page, user.email);
      await page.getByLabel('Code').fill(codeFrom(msg));
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL((u) => u.pathname === '/signin/mfa');
      await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'I can’t use any of these' }).isVisible(), true);
      await assertAccessible(page, '/signin/mfa (recovery)');
      // skipping the step does not work: the password page sends the browser back
      await page.goto('/recover/password');
      await page.waitForURL((u) => u.pathname === '/signin/mfa');
      await awayFromStepEdge();
      await page.getByLabel('Code', { exact: true }).fill(codeAt(totp.secret, currentStep()));
      await page.getByRole('button', { name: 'Verify' }).click();
      await newPasswordPage(page, newPassword());
      assert.equal((await pageSession(page)).authenticated, true);
    } finally {
      await ctx.close();
    }
  });

  test('"I can\'t use any of these": the waiting period starts from the page, and the mail\'s link cancels it', async () => {
    const user = await newUser(server, 'pgwait');
    await enrolTotp(await signedIn(server, user));
    const { ctx, page } = await newPage();
    try {
      const msg = await askForCode(page, user.email);
      await page.getByLabel('Code').fill(codeFrom(msg));
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL((u) => u.pathname === '/signin/mfa');
      const since = mail.messages.length;
      await page.getByRole('link', { name: 'I can’t use any of these' }).click();
      await page.waitForURL((u) => u.pathname === '/recover/wait');
      await assertAccessible(page, '/recover/wait');
      await page.getByRole('button', { name: 'Start waiting period' }).click();
      await page.getByRole('status').filter({ hasText: 'can be reset after' }).waitFor();
      const notice = await mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(user.email)(m)
        && m.subject === 'A password reset is waiting', 15_000);
      const link = new URL(/(https?:\/\/\S+\/recover\/cancel\?\S+)/.exec(notice.text)[1]);
      await page.goto(`${link.pathname}${link.search}`);
      await assertAccessible(page, '/recover/cancel');
      await page.getByRole('button', { name: 'Cancel the reset' }).click();
      await page.getByRole('status').filter({ hasText: 'The reset is cancelled' }).waitFor();
    } finally {
      await ctx.close();
    }
  });
});

describe('account page: Profile, Change password, Connected apps', () => {
  test('Save profile; then current password, new password, "Sign out everywhere else" checked by default', async () => {
    const user = await newUser(server, 'pgchange');
    const { ctx, page } = await newPage();
    try {
      await page.goto('/signin');
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password', { exact: true }).fill(user.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/account');
      await page.getByRole('heading', { name: 'Password' }).waitFor();
      assert.equal(await page.getByLabel('Sign out everywhere else').isChecked(), true);
      await assertAccessible(page, '/account');
      // the profile first: names, language and time zone
      await page.getByLabel('First name').fill('Grace');
      await page.getByLabel('Language').fill('en-GB');
      await page.getByLabel('Time zone').fill('Europe/London');
      await page.getByRole('button', { name: 'Save profile' }).click();
      await page.getByRole('status').filter({ hasText: 'Your profile is saved' }).waitFor();
      const prof = await page.evaluate(async () => (await fetch('/api/v1/profile')).json());
      assert.equal(prof.given_name, 'Grace');
      assert.equal(prof.zoneinfo, 'Europe/London');
      await page.getByLabel('Current password').fill(user.password);
      const pw = newPassword();
      await page.getByLabel('New password').fill(pw);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('status').filter({ hasText: 'Your password is changed' }).waitFor();
      const b = await signedIn(server, { email: user.email, password: pw });
      assert.equal((await b.session()).authenticated, true);
    } finally {
      await ctx.close();
    }
  });

  test('Change email at 320 px by keyboard: New email, Change email, Code, Confirm new email; the old address\'s "Undo the change" link opens /recover/lock, which locks the account and leads through Code to a new password (SECURITY.md #33)', async () => {
    const user = await newUser(server, 'pgemail');
    const b = await signedIn(server, user);
    const { ctx, page } = await newPage({ viewport: { width: 320, height: 640 } });
    const newEmail = `pgmoved-${randomHex(4)}@example.com`;
    try {
      await ctx.addCookies([...b.jar].map(([name, value]) => ({ name, value, url: server.issuer })));
      await page.goto('/account');
      await page.getByRole('heading', { name: 'Email address' }).waitFor();
      const since = mail.messages.length;
      await page.getByLabel('New email').focus();
      await page.keyboard.type(newEmail);
      await page.keyboard.press('Tab');
      await page.keyboard.type(user.password); // Confirm with your password
      await page.keyboard.press('Tab'); // its "Show password" toggle (docs/branding.md)
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter'); // Change email
      await page.getByLabel('Code', { exact: true }).waitFor();
      await assertAccessible(page, '/account (email code)');
      const codeMail = await mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(newEmail)(m), 15_000);
      await page.keyboard.type(codeFrom(codeMail));
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter'); // Confirm new email
      await page.getByRole('status').filter({ hasText: 'Your email address is changed' }).waitFor();
      assert.equal(await page.locator('#email').textContent(), newEmail);
      const told = await mail.waitFor((m) => mail.messages.indexOf(m) >= since && sentTo(user.email)(m)
        && m.subject === 'Your email address was changed', 15_000);
      const undo = /(https?:\/\/\S+\/recover\/lock#undo=[\w-]{43})/.exec(told.text)[1];

      const owner = await newPage({ viewport: { width: 320, height: 640 } });
      try {
        await owner.page.goto(undo);
        await owner.page.getByRole('button', { name: 'Undo the change' }).waitFor();
        assert.equal(new URL(owner.page.url()).hash, '', 'the secret leaves the address bar');
        await assertAccessible(owner.page, '/recover/lock');
        const since2 = mail.messages.length;
        await owner.page.getByRole('button', { name: 'Undo the change' }).focus();
        await owner.page.keyboard.press('Enter');
        await owner.page.getByLabel('Code').waitFor();
        const reset = await resetMail(user.email, since2);
        await owner.page.keyboard.type(codeFrom(reset));
        await owner.page.keyboard.press('Enter');
        await newPasswordPage(owner.page, newPassword());
      } finally {
        await owner.ctx.close();
      }
      // the page that changed it was signed out with every other session
      const s = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
      assert.equal(s.authenticated, false);
    } finally {
      await ctx.close();
    }
  });

  test('Connected apps: each app the customer allowed, with what it may do and when it was last used; "Remove access" ends its refresh tokens (SECURITY.md #42)', async () => {
    const user = await newUser(server, 'pgapps');
    const b = await signedIn(server, user);
    const reg = await registerClient(server, { client_name: 'Travel Planner', scope: 'openid email offline_access' }, { firstParty: false });
    const tokens = await codeTokens(server, b, reg, 'openid email offline_access');
    const listed = await b.raw('GET', '/api/v1/consents');
    const app = listed.json.consents.find((c) => c.client_id === reg.client_id);
    assert.equal(app.client_name, 'Travel Planner');
    assert.ok(app.last_used_at, 'last used: its refresh token');
    assert.ok(app.scopes.some((x) => x.scope === 'email' && x.description), JSON.stringify(app.scopes));

    const { ctx, page } = await newPage();
    try {
      await page.goto('/signin');
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password', { exact: true }).fill(user.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/account');
      const section = page.getByRole('region', { name: 'Connected apps' });
      await section.getByText('Travel Planner').waitFor();
      await assertAccessible(page, '/account with a connected app');
      await section.getByRole('button', { name: 'Remove access', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'Travel Planner no longer has access' }).waitFor();
    } finally {
      await ctx.close();
    }
    const after = await refresh(server, reg, tokens.refresh_token);
    assert.equal(after.status, 400, JSON.stringify(after.json));
    assert.equal(after.json.error, 'invalid_grant');
  });
});
