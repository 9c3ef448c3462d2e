// The hosted pages' polish and branding in a real browser (issue 21 item 2;
// docs/branding.md), driven by accessible names: the show-password toggle,
// "Forgot password?" keeping return_to, the dark theme under an emulated
// prefers-color-scheme, a tenant's branding set through the admin API
// showing on the next page view without a restart (name, logo, a custom
// property's computed value), the application's name and logo on sign-in
// and its policy and terms on consent, the branded /authorize error page
// and the HTML 404; axe-clean and usable at 320 px.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { launchChromium, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, request, scim, userBody, randomHex } from './lib/server.mjs';
import { registerClient, REDIRECT } from './lib/oidc.mjs';

// A 1x1 PNG, served from a loopback "CDN" so that the logo really loads
// (through the page's CSP) without leaving the machine.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

let browser;
let server;
let cdn;
let logoHits = 0;

before(async () => {
  server = await startServer();
  cdn = http.createServer((req, res) => {
    logoHits++;
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' });
    res.end(PNG);
  });
  await new Promise((resolve) => cdn.listen(0, '127.0.0.1', resolve));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => (cdn ? cdn.close(resolve) : resolve()));
  await stopAll();
});

const logoURL = (name) => `http://127.0.0.1:${cdn.address().port}/${name}.png`;

async function newPage(options = {}) {
  const ctx = await browser.newContext({ baseURL: server.issuer, ...options });
  return { ctx, page: await ctx.newPage() };
}

function brand(method, body) {
  return request(server, method, '/admin/v1/branding', {
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function noSidewaysScroll(page, label) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 320, `${label}: no sideways scrolling at 320 px (${wide})`);
}

/** axe and 320 px on the page at url, in a context that lets axe in. */
async function checkSmall(url, label, options = {}) {
  const { ctx, page } = await newPage({ bypassCSP: true, viewport: { width: 320, height: 640 }, ...options });
  try {
    await page.goto(url);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await assertAccessible(page, label);
    await noSidewaysScroll(page, label);
  } finally {
    await ctx.close();
  }
}

const computed = (page, selector, prop) =>
  page.evaluate(([s, p]) => getComputedStyle(document.querySelector(s)).getPropertyValue(p).trim(), [selector, prop]);

async function logoLoaded(page, selector) {
  await page.waitForFunction((s) => {
    const img = document.querySelector(s);
    return img && img.complete;
  }, selector);
  return page.evaluate((s) => document.querySelector(s).naturalWidth, selector);
}

function authorizeURL(clientId, extra = {}) {
  const url = new URL(`${server.issuer}/authorize`);
  for (const [k, v] of Object.entries({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code',
    scope: 'openid profile', state: randomHex(4), code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256', ...extra })) url.searchParams.set(k, v);
  return url.href;
}

describe('page polish', () => {
  test('"Show password" shows and hides the password, by mouse and keyboard, without sending the form or changing the label; masked by default (SECURITY.md #6)', async () => {
    const { ctx, page } = await newPage();
    try {
      await page.goto('/signin');
      const field = page.getByLabel('Password', { exact: true });
      await field.fill('Harbour willow 42');
      const toggle = page.getByRole('button', { name: 'Show password' });
      assert.equal(await toggle.getAttribute('type'), 'button');
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
      assert.equal(await field.getAttribute('type'), 'password');
      await toggle.click();
      assert.equal(await field.getAttribute('type'), 'text', 'shown');
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
      assert.equal(await field.inputValue(), 'Harbour willow 42');
      await toggle.focus();
      await page.keyboard.press('Enter');
      assert.equal(await field.getAttribute('type'), 'password', 'hidden again by Enter');
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
      await page.keyboard.press('Space');
      assert.equal(await field.getAttribute('type'), 'text', 'shown by Space');
      // nothing was sent: still the sign-in page, no message, the field still named "Password"
      assert.equal(new URL(page.url()).pathname, '/signin');
      assert.equal(await page.getByRole('alert').isVisible(), false);
      assert.equal(await page.getByLabel('Password', { exact: true }).count(), 1);
      assert.equal(await page.getByRole('textbox', { name: 'Password', exact: true }).inputValue(), 'Harbour willow 42');
      // the sign-up page's password field has its own toggle
      await page.goto('/signup');
      await page.getByRole('button', { name: 'Show password' }).click();
      assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('type'), 'text');
    } finally {
      await ctx.close();
    }
  });

  test('"Forgot password?" on the sign-in page leads to recovery and keeps return_to', async () => {
    const { ctx, page } = await newPage();
    try {
      await page.goto('/signin?return_to=%2Faccount%2Fauthenticator');
      await page.getByRole('link', { name: 'Forgot password?' }).click();
      await page.waitForURL((u) => u.pathname === '/recover');
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account/authenticator');
      await page.getByLabel('Email').waitFor();
    } finally {
      await ctx.close();
    }
  });

  test('the dark theme follows prefers-color-scheme; consent\'s Deny is a styled secondary button', async () => {
    for (const [scheme, bg, surface] of [['dark', 'rgb(15, 17, 21)', 'rgb(26, 29, 36)'], ['light', 'rgb(242, 244, 247)', 'rgb(255, 255, 255)']]) {
      const { ctx, page } = await newPage({ colorScheme: scheme });
      try {
        await page.goto('/signin');
        assert.equal(await computed(page, 'body', 'background-color'), bg, `${scheme}: page background`);
        assert.equal(await computed(page, 'main.card', 'background-color'), surface, `${scheme}: card`);
      } finally {
        await ctx.close();
      }
    }
    await checkSmall('/signin', '/signin (dark)', { colorScheme: 'dark' });
    await checkSmall('/signup', '/signup (dark)', { colorScheme: 'dark' });
  });
});

describe('branding without a restart', () => {
  test('the admin API changes the product name, logo and colours on the next sign-in page view; DELETE restores the default', async () => {
    const { ctx, page } = await newPage(); // the real CSP: the logo must get through it
    try {
      await page.goto('/signin');
      assert.equal((await page.getByRole('banner').textContent()).trim(), 'Gatehouse');
      assert.equal(await computed(page, ':root', '--gh-primary'), '#1d4ed8');

      const put = await brand('PUT', { product_name: 'Harbour Bank', logo_uri: logoURL('bank'),
        colors: { primary: '#0a7d4f' }, dark_colors: { primary: '#6fe3b0' } });
      assert.equal(put.status, 200, put.text);
      await page.reload();
      assert.equal((await page.getByRole('banner').textContent()).trim(), 'Harbour Bank');
      assert.equal(await page.title(), 'Sign in · Harbour Bank');
      assert.equal(await computed(page, ':root', '--gh-primary'), '#0a7d4f');
      assert.equal(await computed(page, 'button.primary', 'background-color'), 'rgb(10, 125, 79)',
        'the Sign in button takes the colour');
      assert.equal(await logoLoaded(page, 'header.brand img.logo'), 1, 'the logo loads through the page CSP');
      assert.ok(logoHits > 0);

      const dark = await newPage({ colorScheme: 'dark' });
      await dark.page.goto('/signin');
      assert.equal(await computed(dark.page, ':root', '--gh-primary'), '#6fe3b0', 'the dark variant');
      await dark.ctx.close();
      await checkSmall('/signin', '/signin branded');

      assert.equal((await brand('PUT', { colors: { primary: 'red;}' } })).status, 400);
      await page.reload();
      assert.equal(await computed(page, ':root', '--gh-primary'), '#0a7d4f', 'refused input changed nothing');

      assert.equal((await brand('DELETE')).status, 204);
      await page.reload();
      assert.equal((await page.getByRole('banner').textContent()).trim(), 'Gatehouse');
      assert.equal(await computed(page, ':root', '--gh-primary'), '#1d4ed8');
      assert.equal(await page.locator('header.brand img').count(), 0);
    } finally {
      await ctx.close();
    }
  });
});

describe('the application on sign-in and consent', () => {
  test('"Sign in to continue to" the client by name and logo; consent shows its logo, privacy policy and terms as links', async () => {
    const email = `brand-${randomHex(4)}@example.com`;
    const password = `Lantern ${randomHex(6)} meadow`;
    await scim(server, 'POST', '/Users', userBody(email, { password }));
    const reg = await registerClient(server, { client_name: 'Harbour <Books>', logo_uri: logoURL('books'),
      policy_uri: 'https://books.example/privacy', tos_uri: 'https://books.example/terms' }, { firstParty: false });
    const { ctx, page } = await newPage();
    try {
      await page.goto(authorizeURL(reg.client_id));
      await page.waitForURL((u) => u.pathname === '/signin');
      const app = page.locator('#app');
      await app.getByText('Sign in to continue to').waitFor();
      assert.equal((await app.getByRole('strong').textContent()), 'Harbour <Books>', 'the name as text, not markup');
      assert.equal(await logoLoaded(page, '#app img.app-logo'), 1);
      await checkSmall(page.url(), '/signin for an application');

      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/consent');
      await page.getByText('Harbour <Books>').waitFor();
      assert.equal(await page.getByRole('link', { name: 'Privacy policy' }).getAttribute('href'), 'https://books.example/privacy');
      assert.equal(await page.getByRole('link', { name: 'Terms of service' }).getAttribute('href'), 'https://books.example/terms');
      assert.equal(await logoLoaded(page, 'img.app-logo'), 1);
      const deny = page.getByRole('button', { name: 'Deny', exact: true });
      assert.match(await deny.getAttribute('class'), /\bsecondary\b/);
      assert.notEqual(await computed(page, '#deny', 'border-top-style'), 'none', 'Deny is styled, not a native button');
      await checkSmall(page.url(), '/consent signed out');
    } finally {
      await ctx.close();
    }
  });

  test('no application is named for a return_to that is not an /authorize request of a known client with its redirect URI', async () => {
    const reg = await registerClient(server, { client_name: 'Quiet App' }, { firstParty: false });
    const { ctx, page } = await newPage();
    try {
      const cases = [
        `/authorize?client_id=nobody&redirect_uri=${encodeURIComponent(REDIRECT)}`,
        `/authorize?client_id=${reg.client_id}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`,
        `/account?client_id=${reg.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}`,
      ];
      for (const back of cases) {
        await page.goto(`/signin?${new URLSearchParams({ return_to: back })}`);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        assert.equal(await page.locator('#app').isVisible(), false, back);
        assert.equal(await page.getByText('Quiet App').count(), 0, back);
      }
    } finally {
      await ctx.close();
    }
  });
});

describe('error pages in the browser', () => {
  test('an /authorize error is the branded page; a missing page is the HTML 404', async () => {
    assert.equal((await brand('PUT', { product_name: 'Harbour Bank', colors: { primary: '#0a7d4f' } })).status, 200);
    const { ctx, page } = await newPage();
    try {
      const res = await page.goto(authorizeURL('nobody'));
      assert.equal(res.status(), 400);
      await page.getByRole('heading', { name: 'Unknown application' }).waitFor();
      assert.equal((await page.getByRole('banner').textContent()).trim(), 'Harbour Bank');
      assert.equal(await computed(page, ':root', '--gh-primary'), '#0a7d4f');
      await page.getByRole('link', { name: 'Sign in' }).waitFor();
      await checkSmall(authorizeURL('nobody'), '/authorize error');

      const missing = await page.goto('/no-such-page');
      assert.equal(missing.status(), 404);
      assert.match(missing.headers()['content-type'], /^text\/html/);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      assert.equal((await page.getByRole('banner').textContent()).trim(), 'Harbour Bank');
      await checkSmall('/no-such-page', '404');
    } finally {
      await ctx.close();
      assert.equal((await brand('DELETE')).status, 204);
    }
  });
});
