// Sign-in with upstream identity providers in a real browser (issue 21
// part 4, docs/federation.md): Chromium through playwright-core against
// node oidc-provider as the upstream, driven by accessible names on
// Gatehouse's pages (the button "Sign in with {provider}", "Password", "Connect and
// sign in", "Email me a code instead", "Code", "Connect with the code",
// the account's "Sign-in providers" with "Remove {provider}", the
// failure page's "Back to sign in"), axe-core on each new page. The
// upstream's own development login form is filled by its placeholders.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, randomHex, sql, sqlExec } from './lib/server.mjs';
import { newUser } from './lib/browser.mjs';
import { startOidcUpstream, startFakeOidc } from './lib/upstream.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';

let browser;
const ctx = {};

async function admin(body) {
  const res = await fetch(`${ctx.server.url}/admin/v1/identity-providers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32', GATEHOUSE_SMTP_URL: ctx.mail.url } });
  ctx.alpha = await startOidcUpstream({
    clients: [{ client_id: 'alpha', client_secret: 'alpha-secret', redirect_uris: [`${ctx.server.issuer}/federation/alpha/callback`],
      token_endpoint_auth_method: 'client_secret_post' }],
  });
  ctx.fake = await startFakeOidc();
  await admin({ id: 'alpha', display_name: 'Alpha ID', issuer: ctx.alpha.issuer, client_id: 'alpha', client_secret: 'alpha-secret', trust_email_verified: true });
  await admin({ id: 'fake', display_name: 'Fake ID', issuer: ctx.fake.issuer, client_id: 'fake', trust_email_verified: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stopAll();
  await stopAllMailSinks();
  await ctx.alpha?.close();
  await ctx.fake?.close();
});

async function newPage(options = {}) {
  const c = await browser.newContext({ baseURL: ctx.server.issuer, bypassCSP: true, ...options });
  return { c, page: await c.newPage() };
}

/** From the sign-in page through the upstream's login form as login. */
async function throughAlpha(page, login) {
  await page.goto('/signin');
  await page.getByRole('button', { name: 'Sign in with Alpha ID' }).click();
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

describe('federation in Chromium', () => {
  test('a new person: "Sign in with Alpha ID", sign in at the upstream, land signed in; the provider is listed on /account and cannot be removed as the only way in', async () => {
    const { c, page } = await newPage();
    await page.goto('/signin');
    await page.getByRole('button', { name: 'Sign in with Alpha ID' }).waitFor();
    await assertAccessible(page, '/signin with provider links');
    const login = `br-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: `${login}@upstream.test`, email_verified: true, name: 'Browser Person' });
    await throughAlpha(page, login);
    await page.waitForURL((u) => u.pathname === '/account');
    assert.equal((await pageSession(page)).authenticated, true);
    const section = page.getByRole('region', { name: 'Sign-in providers' });
    await section.getByText('Alpha ID', { exact: true }).waitFor();
    await assertAccessible(page, '/account with a provider');
    await page.getByRole('button', { name: 'Remove Alpha ID' }).click();
    assert.match(await alertText(page), /only way to sign in/);
    await c.close();
  });

  test('an existing account: the link page asks its password, then the provider is connected; removed on /account', async () => {
    const user = await newUser(ctx.server, 'brlink');
    sqlExec(ctx.server, `UPDATE users SET email_verified = 1 WHERE id = '${user.id}'`);
    const login = `brl-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    const { c, page } = await newPage({ viewport: { width: 320, height: 700 } });
    await throughAlpha(page, login);
    await page.waitForURL((u) => u.pathname === '/federation/link');
    await page.getByText(user.email).waitFor();
    await assertAccessible(page, '/federation/link');
    await page.getByLabel('Password').fill('not the password, surely');
    await page.getByRole('button', { name: 'Connect and sign in' }).click();
    assert.match(await alertText(page), /password is not right/);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Connect and sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    const section = page.getByRole('region', { name: 'Sign-in providers' });
    await section.getByText('Alpha ID', { exact: true }).waitFor();
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM fed_identities WHERE user_id = '${user.id}'`)[0].n, 1);
    await page.getByRole('button', { name: 'Remove Alpha ID' }).click();
    await page.getByText('You do not sign in with another service.').waitFor();
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM fed_identities WHERE user_id = '${user.id}'`)[0].n, 0);
    await c.close();
  });

  test('an existing account proven with an emailed code instead of its password', async () => {
    const user = await newUser(ctx.server, 'brcode');
    sqlExec(ctx.server, `UPDATE users SET email_verified = 1 WHERE id = '${user.id}'`);
    const login = `brc-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    const { c, page } = await newPage();
    await throughAlpha(page, login);
    await page.waitForURL((u) => u.pathname === '/federation/link');
    const since = ctx.mail.messages.length;
    await page.getByRole('button', { name: 'Email me a code instead' }).click();
    await page.getByLabel('Code').waitFor();
    const m = await ctx.mail.waitFor((x) => ctx.mail.messages.indexOf(x) >= since && sentTo(user.email)(x), 10_000);
    await page.getByLabel('Code').fill(codeFrom(m));
    await page.getByRole('button', { name: 'Connect with the code' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    assert.equal((await pageSession(page)).authenticated, true);
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM fed_identities WHERE user_id = '${user.id}'`)[0].n, 1);
    await c.close();
  });

  test('a failure is a page in plain words with a way back to sign-in', async () => {
    const { c, page } = await newPage();
    ctx.fake.knobs = { deny: true };
    await page.goto('/signin');
    await page.getByRole('button', { name: 'Sign in with Fake ID' }).click();
    await page.getByRole('heading', { name: 'Sign-in cancelled' }).waitFor();
    assert.match(await alertText(page), /You cancelled signing in with Fake ID/);
    await assertAccessible(page, 'the failure page');
    await page.getByRole('link', { name: 'Back to sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/signin');
    ctx.fake.knobs = {};
    await c.close();
  });
});
