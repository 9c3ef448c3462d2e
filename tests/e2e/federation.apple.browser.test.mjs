// Sign in with Apple in a real browser (issue 21 part 4, docs/federation.md
// "Apple"): Chromium through playwright-core, Gatehouse at
// http://localhost:PORT and the Apple-like upstream (tests/e2e/lib/apple.mjs:
// node oidc-provider requiring response_mode=form_post and checking the
// ES256 client secret JWT) at http://127.0.0.1:PORT2, another site. The
// upstream's page POSTs code and state to our callback by its own script:
// a cross-site POST, on which Chromium sends no SameSite=Lax cookie. The
// sign-in ends signed in only because the flow cookie (gh_fedflow) is
// SameSite=None; Secure; with Lax it fails as an expired sign-in.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, pageSession, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { startAppleLike } from './lib/apple.mjs';

let browser;
const ctx = {};

before(async () => {
  ctx.server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32' } });
  assert.equal(new URL(ctx.server.issuer).hostname, 'localhost', 'Gatehouse and the upstream on different sites');
  const started = await startAppleLike({ redirectUris: [`${ctx.server.issuer}/federation/apple/callback`] });
  ctx.up = started.up;
  ctx.apple = started.apple;
  const res = await fetch(`${ctx.server.url}/admin/v1/identity-providers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(started.provider('apple')),
  });
  assert.equal(res.status, 201, await res.text());
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stopAll();
  await ctx.up?.close();
});

describe('Sign in with Apple in Chromium', () => {
  test('"Sign in with Apple": the upstream POSTs back cross-site, the flow cookie survives it, and the person lands signed in with the name Apple sent', async () => {
    const c = await browser.newContext({ baseURL: ctx.server.issuer, bypassCSP: true });
    const page = await c.newPage();
    const login = `apb-${randomHex(4)}`;
    ctx.up.accounts.set(login, { email: `${login}@privaterelay.test`, email_verified: 'true' });
    ctx.apple.nextUser = { name: { firstName: 'Ada', lastName: 'Byron' } };
    await page.goto('/signin');
    await page.getByRole('button', { name: 'Sign in with Apple' }).click();
    await page.getByPlaceholder('Enter any login').fill(login);
    await page.getByPlaceholder('and password').fill('anything');
    const posted = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/federation/apple/callback');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const request = await posted;
    assert.match(await request.headerValue('cookie') ?? '', /gh_fedflow=/, 'the flow cookie rode the cross-site POST');
    await page.waitForURL((u) => u.pathname === '/account', { timeout: 15_000 });
    assert.equal((await pageSession(page)).authenticated, true);
    await assertAccessible(page, '/account after Sign in with Apple');
    assert.equal(ctx.apple.authorizeModes.at(-1), 'form_post');
    assert.deepEqual(ctx.apple.rejected, []);
    const rows = sql(ctx.server, `SELECT given_name, family_name FROM users WHERE email = '${login}@privaterelay.test'`);
    assert.deepEqual(rows, [{ given_name: 'Ada', family_name: 'Byron' }]);
    await c.close();
  });
});
