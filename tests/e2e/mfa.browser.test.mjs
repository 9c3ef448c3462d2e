// Second factors, passkeys and passwordless email in a real browser: the
// hosted pages (/signin, /signin/mfa, /account, /account/authenticator,
// /account/recovery-codes) against the real binary (docs/mfa.md). Chromium
// is driven by playwright-core, with its virtual WebAuthn authenticator
// attached through the DevTools protocol; TOTP codes come from Debian's
// oathtool; mail is caught by a real SMTP sink; accessibility is checked with
// axe-core.
//
// Pages are driven by accessible name only (BRIEF.md: visible labels "Email",
// "Password", "Code", "Recovery code", "Name"; buttons and links by their
// text). Tests cite the SECURITY.md ids they check.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';

import * as lib from './lib/server.mjs';
import { startServer, stopAll, scim, userBody, randomHex, sleep } from './lib/server.mjs';
import { startMailSink, codeFrom } from './lib/mail.mjs';

const SHOTS_DIR = '/tmp/gatehouse-shots';
const MAIL_TIMEOUT_MS = 15_000;
const TOTP_STEP_S = 30;

const AAL2 = 'urn:gatehouse:aal2';
const AAL3 = 'urn:gatehouse:aal3';
const QR_ALT = 'QR code for your authenticator app';
const PASSWORDLESS_LABEL = 'Sign in with an emailed code instead of a password';
const REAUTH_NOTICE = 'Sign in again to change your sign-in methods.';

let browser;
let mail;
let server;

// ---------------------------------------------------------------- helpers

function strongPassword() {
  return `Lantern ${randomHex(6)} river ${randomHex(4)}`;
}

function newEmail(tag) {
  return `${tag}-${randomHex(5)}@example.com`;
}

function sqlRows(srv, q) {
  return typeof lib.sql === 'function' ? lib.sql(srv, q) : lib.sqlite(srv.dbPath, q);
}

/**
 * A fresh browser context on srv's issuer origin. The page records CSP
 * console errors and any dialog (the pages must never use prompt/confirm).
 */
async function newPage(srv, options = {}) {
  const ctx = await browser.newContext({ baseURL: srv.issuer, ...options });
  const page = await ctx.newPage();
  page.cspErrors = [];
  page.dialogs = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) page.cspErrors.push(m.text());
  });
  page.on('dialog', (d) => {
    page.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await watchApi(page); // before the first request, so interception never switches on mid-test
  return { ctx, page };
}

function assertClean(page) {
  assert.deepEqual(page.cspErrors, [], 'no CSP violations');
  assert.deepEqual(page.dialogs, [], 'no window.prompt/confirm/alert dialogs');
}

/**
 * Attaches a CTAP2 platform authenticator with resident keys and user
 * verification to page (Chromium's virtual authenticator, through CDP).
 */
async function addAuthenticator(ctx, page) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

function addressedTo(m, email) {
  const to = typeof m.to === 'string' ? m.to : JSON.stringify(m.to ?? '');
  return to.toLowerCase().includes(email.toLowerCase());
}

/** The first mail to email received after mail.messages[index]. */
async function mailAfter(email, index) {
  const m = await mail.waitFor((x) => mail.messages.indexOf(x) >= index && addressedTo(x, email), MAIL_TIMEOUT_MS);
  assert.ok(m, `no mail to ${email} within ${MAIL_TIMEOUT_MS} ms`);
  return m;
}

/**
 * A TOTP code from oathtool for a step not used before with this secret
 * (the server accepts each code once, SECURITY.md #15): the current step, or
 * the next one after waiting for it.
 */
const lastStep = new Map();
async function totp(secret) {
  let step = Math.floor(Date.now() / 1000 / TOTP_STEP_S);
  const last = lastStep.get(secret);
  if (last !== undefined && step <= last) {
    await sleep((last + 1) * TOTP_STEP_S * 1000 - Date.now() + 250);
    step = Math.floor(Date.now() / 1000 / TOTP_STEP_S);
  }
  lastStep.set(secret, step);
  return execFileSync('oathtool', ['--totp', '-b', '-N', `@${step * TOTP_STEP_S}`, secret], { encoding: 'utf8' }).trim();
}

/** A 6-digit code that is not the current one (last digit changed). */
function wrongCode(code) {
  return code.slice(0, 5) + String((Number(code[5]) + 5) % 10);
}

const onPath = (p) => (url) => url.pathname === p;

async function fillSignIn(page, email, password) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signInWithPassword(page, u, { land = '/account' } = {}) {
  await page.goto('/signin');
  await fillSignIn(page, u.email, u.password);
  await page.waitForURL(onPath(land));
}

async function signOut(page) {
  if (new URL(page.url()).pathname !== '/account') await page.goto('/account');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  // A section of the account page still loading when the session ends gets
  // 401 and sends the page to /signin as well; the later navigation aborts
  // the earlier one (seen on a loaded CI machine), and both end on /signin.
  await page.waitForURL(onPath('/signin')).catch(async (e) => {
    if (!/ERR_ABORTED|frame was detached/.test(e.message)) throw e;
    await page.waitForURL(onPath('/signin'));
  });
}

function pageMfa(page) {
  return page.evaluate(async () => {
    const r = await fetch('/api/v1/mfa', { credentials: 'same-origin' });
    return { status: r.status, body: await r.json() };
  });
}

/**
 * Watches for the page's next request to METHOD /api/v1<apiPath> (apiPath a
 * string, or a RegExp tested against the path after /api/v1). Await it
 * before the action that sends the request; its `answer` then resolves
 * {status, body}. The request goes through a route so that its body is kept
 * even when the page navigates away at once (Chromium drops the bodies of a
 * page it left).
 *
 * One route, installed once per page, serves every watcher: adding and
 * removing a route per request switches Chromium's interception on and off,
 * and a request sent right after it was switched on could still pass unseen
 * (the CI runs' "no answer to DELETE" failures).
 */
async function nextApi(page, method, apiPath, timeoutMs = 30_000) {
  if (!page.apiWatchers) await watchApi(page);
  const watcher = {
    method,
    matches: (p) => (apiPath instanceof RegExp ? apiPath.test(p) : p === apiPath),
  };
  const result = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const i = page.apiWatchers.indexOf(watcher);
      if (i >= 0) page.apiWatchers.splice(i, 1);
      const seen = page.apiSeen.slice(-8).join(', ') || 'none';
      reject(new Error(`no answer to ${method} /api/v1${apiPath} within ${timeoutMs} ms; `
        + `the page's last API requests: ${seen}`));
    }, timeoutMs);
    watcher.done = (v) => { clearTimeout(timer); resolve(v); };
    watcher.fail = (e) => { clearTimeout(timer); reject(e); };
  });
  result.catch(() => {}); // a test that failed earlier never awaits it
  page.apiWatchers.push(watcher);
  return { answer: result };
}

/** Installs the page's one /api/v1/ route; see nextApi. */
async function watchApi(page) {
  page.apiWatchers = [];
  page.apiSeen = [];
  const isApi = (url) => url.pathname.startsWith('/api/v1/');
  await page.route(isApi, async (route) => {
    const req = route.request();
    const path = new URL(req.url()).pathname.slice('/api/v1'.length);
    page.apiSeen.push(`${req.method()} ${path}`);
    const i = page.apiWatchers.findIndex((w) => w.method === req.method() && w.matches(path));
    if (i < 0) return route.fallback();
    const [watcher] = page.apiWatchers.splice(i, 1);
    try {
      const res = await route.fetch();
      const text = await res.text();
      await route.fulfill({ response: res, body: text });
      let body = null;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      if (res.status() === 403 && body?.error === 'csrf') {
        // a stale CSRF token: the page renews it and sends the request again
        // (gatehouse.js send()), and that answer is the one the person gets
        page.apiSeen.push('(csrf renewed)');
        page.apiWatchers.unshift(watcher);
        return;
      }
      watcher.done({ status: res.status(), body });
    } catch (e) {
      watcher.fail(new Error(`${req.method()} /api/v1${path} failed in the test's route: ${e.message}`));
      await route.abort().catch(() => {});
    }
  });
}

async function scimUser(srv, tag) {
  const email = newEmail(tag);
  const password = strongPassword();
  const r = await scim(srv, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, `SCIM create: ${r.status} ${r.text}`);
  return { email, password, id: r.body.id };
}

/** The account page's "Sign-in methods" region and its factor items. */
function methodsRegion(page) {
  return page.getByRole('region', { name: 'Sign-in methods' });
}

/** The factors listed in "Sign-in methods" (the list carries the section's name). */
function factorItems(page) {
  return methodsRegion(page).getByRole('list', { name: 'Sign-in methods', exact: true }).getByRole('listitem');
}

/** The codes of a shown recovery-code list (its accessible name is its heading). */
async function shownCodes(page, listName) {
  const list = page.getByRole('list', { name: listName, exact: true });
  await list.waitFor();
  return (await list.getByRole('listitem').allTextContents()).map((t) => t.trim());
}

/**
 * From /account: "Set up authenticator app" → secret → oathtool → "Code" +
 * "Verify". Resolves {secret, codes} (codes: the recovery codes shown, if any).
 */
async function setUpAuthenticator(page) {
  await page.getByRole('link', { name: 'Set up authenticator app', exact: true }).click();
  await page.waitForURL(onPath('/account/authenticator'));
  const qr = page.getByRole('img', { name: QR_ALT, exact: true });
  await qr.waitFor();
  const secret = (await page.getByRole('code').first().textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{16,}=*$/, `the key is base32: ${secret}`);
  const src = await qr.getAttribute('src');
  assert.match(src, /^data:image\/svg\+xml;base64,/, 'the QR code is a data: SVG image');
  assert.match(Buffer.from(src.split(',')[1], 'base64').toString('utf8'), /<svg[\s>]/);
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR image decodes under the CSP');

  const confirm = await nextApi(page, 'POST', /^\/mfa\/totp\/[^/]+\/confirm$/);
  await page.getByLabel('Code', { exact: true }).fill(await totp(secret));
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  const answer = await confirm.answer;
  assert.equal(answer.status, 200, `confirm: ${answer.status} ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.status, 'confirmed');
  let codes = [];
  if (Array.isArray(answer.body.recovery_codes)) {
    codes = await shownCodes(page, 'Your recovery codes');
    assert.deepEqual(codes, answer.body.recovery_codes, 'the page shows the codes the server sent');
  }
  await page.getByRole('status').filter({ hasText: 'authenticator app is set up' }).waitFor();
  return { secret, codes };
}

// ---------------------------------------------------------------- setup

before(async () => {
  mail = await startMailSink();
  server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
  browser = await launchChromium();
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await stopAll();
  await mail?.stop();
});

// ---------------------------------------------------------------- authenticator app

describe('authenticator app (TOTP)', () => {
  test('set up on the pages, then password + code signs in at AAL2; replayed code and reused recovery code refused (SECURITY.md #15, #17, #24)', async () => {
    const u = await scimUser(server, 'totp');
    const { ctx, page } = await newPage(server);
    try {
      await signInWithPassword(page, u);
      const mailsBefore = mail.messages.length;
      const { secret, codes } = await setUpAuthenticator(page);
      assert.equal(codes.length, 10, 'ten recovery codes are shown with the first second factor');
      assert.equal(new Set(codes).size, 10, 'the recovery codes differ');

      // SECURITY.md #24: binding a new authenticator is told on an independent channel.
      const notice = await mailAfter(u.email, mailsBefore);
      assert.doesNotMatch(notice.text, new RegExp(secret), 'the notice does not carry the secret');

      await page.getByRole('link', { name: 'Back to your account', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      await factorItems(page).filter({ hasText: 'Authenticator app' }).first().waitFor();
      await signOut(page);

      // Password → the second step → a wrong code, then a fresh one.
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/signin/mfa'));
      const good = await totp(secret);
      await page.getByLabel('Code', { exact: true }).fill(wrongCode(good));
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      assert.ok((await alertText(page)).length > 0, 'a wrong code is refused with a message');
      assert.equal((await pageSession(page)).authenticated, false, 'no session after the password alone');
      const watch = await nextApi(page, 'POST', '/signin/mfa');
      await page.getByLabel('Code', { exact: true }).fill(good);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      const ok = await watch.answer;
      assert.equal(ok.body.status, 'signed_in');
      assert.equal(ok.body.acr, AAL2, 'password + authenticator app is AAL2');
      assert.equal((await pageSession(page)).authenticated, true);
      await signOut(page);

      // SECURITY.md #15: the same code again, still inside its window, is refused.
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/signin/mfa'));
      await page.getByLabel('Code', { exact: true }).fill(good);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      assert.ok((await alertText(page)).length > 0, 'a replayed TOTP code is refused');
      assert.equal(new URL(page.url()).pathname, '/signin/mfa');
      assert.equal((await pageSession(page)).authenticated, false);

      // A recovery code instead (on the same pending step).
      await page.getByRole('link', { name: 'Use a recovery code', exact: true }).click();
      await page.getByLabel('Recovery code', { exact: true }).fill(codes[0]);
      const viaRecovery = await nextApi(page, 'POST', '/signin/mfa');
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      const rec = await viaRecovery.answer;
      assert.equal(rec.body.acr, AAL2, 'password + recovery code is AAL2');
      assert.equal(rec.body.recovery_codes_remaining, 9);
      await signOut(page);

      // SECURITY.md #17: a used recovery code fails.
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/signin/mfa'));
      await page.getByRole('link', { name: 'Use a recovery code', exact: true }).click();
      await page.getByLabel('Recovery code', { exact: true }).fill(codes[0]);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      assert.ok((await alertText(page)).length > 0, 'a used recovery code is refused');
      assert.equal(new URL(page.url()).pathname, '/signin/mfa');
      assert.equal((await pageSession(page)).authenticated, false);
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });

  test('/signin/mfa without a pending sign-in goes to /signin, keeping return_to', async () => {
    const { ctx, page } = await newPage(server);
    try {
      await page.goto(`/signin/mfa?return_to=${encodeURIComponent('/account?x=1')}`);
      await page.waitForURL(onPath('/signin'));
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account?x=1');
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });

  test('recovery codes page: count, "Generate new codes" shows ten once and the old ones stop working (SECURITY.md #17)', async () => {
    const u = await scimUser(server, 'regen');
    const { ctx, page } = await newPage(server);
    try {
      await signInWithPassword(page, u);
      const { secret, codes: oldCodes } = await setUpAuthenticator(page);
      // Changing methods needs an AAL2 session now that the account has a second factor.
      await signOut(page);
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/signin/mfa'));
      await page.getByLabel('Code', { exact: true }).fill(await totp(secret));
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL(onPath('/account'));

      await page.getByRole('link', { name: 'Recovery codes', exact: true }).click();
      await page.waitForURL(onPath('/account/recovery-codes'));
      await page.getByText('You have 10 recovery codes left.').waitFor();
      await page.getByRole('button', { name: 'Generate new codes', exact: true }).click();
      const fresh = await shownCodes(page, 'Your new recovery codes');
      assert.equal(fresh.length, 10);
      assert.equal(fresh.filter((c) => oldCodes.includes(c)).length, 0, 'all codes are new');
      await page.getByText(/old recovery codes no longer work/i).first().waitFor();
      await page.reload();
      await page.getByText('You have 10 recovery codes left.').waitFor();
      assert.equal(await page.getByRole('list', { name: 'Your new recovery codes' }).count(), 0, 'the codes are shown once');

      await signOut(page);
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/signin/mfa'));
      await page.getByRole('link', { name: 'Use a recovery code', exact: true }).click();
      await page.getByLabel('Recovery code', { exact: true }).fill(oldCodes[1]);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      assert.ok((await alertText(page)).length > 0, 'a replaced code is refused');
      // Case, spaces and dashes are ignored (docs/mfa.md).
      const messy = fresh[0].toUpperCase() === fresh[0] ? fresh[0].toLowerCase() : fresh[0].toUpperCase();
      await page.getByLabel('Recovery code', { exact: true }).fill(` ${messy} `);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });
});

// ---------------------------------------------------------------- passkeys

describe('passkeys (Chromium virtual authenticator)', () => {
  test('"Add passkey" on the account page, then "Sign in with a passkey" without an email (SECURITY.md #21)', async () => {
    const u = await scimUser(server, 'passkey');
    const { ctx, page } = await newPage(server);
    try {
      const { cdp, authenticatorId } = await addAuthenticator(ctx, page);
      await signInWithPassword(page, u);
      const mailsBefore = mail.messages.length;
      const added = await nextApi(page, 'POST', '/mfa/passkeys');
      await page.getByRole('button', { name: 'Add passkey', exact: true }).click();
      const a = await added.answer;
      assert.equal(a.status, 200, `add: ${a.status} ${JSON.stringify(a.body)}`);
      assert.equal(a.body.status, 'added');
      await factorItems(page).filter({ hasText: 'Passkey' }).first().waitFor();
      if (Array.isArray(a.body.recovery_codes)) {
        assert.equal((await shownCodes(page, 'Your recovery codes')).length, 10, 'first second factor: ten codes shown');
      }
      await mailAfter(u.email, mailsBefore); // SECURITY.md #24: a notice
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1, 'the authenticator holds one credential');
      assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');

      await signOut(page);
      assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), '');
      const watch = await nextApi(page, 'POST', '/signin/passkey');
      await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      const s = await watch.answer;
      assert.equal(s.body.status, 'signed_in');
      assert.match(s.body.acr ?? '', /^urn:gatehouse:aal[23]$/, 'a user-verifying passkey is multi-factor');
      const session = await pageSession(page);
      assert.equal(session.authenticated, true);
      assert.equal(session.user.email.toLowerCase(), u.email.toLowerCase());
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });

  test('a user with an authenticator app and a passkey: reauth to add it, then password + "Use a passkey" (SECURITY.md #22, #24)', async () => {
    const u = await scimUser(server, 'second');
    const { ctx, page } = await newPage(server);
    try {
      await addAuthenticator(ctx, page);
      await signInWithPassword(page, u);
      const { secret } = await setUpAuthenticator(page);
      await page.getByRole('link', { name: 'Back to your account', exact: true }).click();
      await page.waitForURL(onPath('/account'));

      // The session proved only a password and the account now has a second
      // factor: adding another needs a sign-in at AAL2 first.
      const refused = await nextApi(page, 'POST', '/mfa/passkeys/options');
      await page.getByRole('button', { name: 'Add passkey', exact: true }).click();
      const r = await refused.answer;
      assert.equal(r.status, 403);
      assert.equal(r.body.error, 'reauthentication_required');
      await page.waitForURL(onPath('/signin'));
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account');
      await page.getByRole('status').filter({ hasText: REAUTH_NOTICE }).waitFor();
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/signin/mfa'));
      await page.getByLabel('Code', { exact: true }).fill(await totp(secret));
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL(onPath('/account'));

      const added = await nextApi(page, 'POST', '/mfa/passkeys');
      await page.getByRole('button', { name: 'Add passkey', exact: true }).click();
      assert.equal((await added.answer).status, 200);
      await factorItems(page).filter({ hasText: 'Passkey' }).first().waitFor();
      assert.equal(await factorItems(page).count(), 2, 'the app and the passkey are listed');
      await signOut(page);

      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/signin/mfa'));
      const watch = await nextApi(page, 'POST', '/signin/mfa');
      await page.getByRole('button', { name: 'Use a passkey', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      const s = await watch.answer;
      assert.equal(s.body.status, 'signed_in');
      assert.ok([AAL2, AAL3].includes(s.body.acr), `password + passkey is AAL2 or AAL3: ${s.body.acr}`);
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });

  test('a cloned authenticator with a stale sign count is refused and the passkey is flagged "possibly cloned"', async () => {
    const u = await scimUser(server, 'clone');
    const first = await newPage(server);
    const second = await newPage(server);
    try {
      const a = await addAuthenticator(first.ctx, first.page);
      await signInWithPassword(first.page, u);
      await first.page.getByRole('button', { name: 'Add passkey', exact: true }).click();
      await factorItems(first.page).filter({ hasText: 'Passkey' }).first().waitFor();
      await signOut(first.page);
      await first.page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
      await first.page.waitForURL(onPath('/account'));
      const { credentials } = await a.cdp.send('WebAuthn.getCredentials', { authenticatorId: a.authenticatorId });
      assert.equal(credentials.length, 1);
      assert.ok(credentials[0].signCount > 0, `the authenticator counts its signatures: ${credentials[0].signCount}`);

      // The same key in a second authenticator, its counter back at 0.
      const b = await addAuthenticator(second.ctx, second.page);
      await b.cdp.send('WebAuthn.addCredential', {
        authenticatorId: b.authenticatorId,
        credential: { ...credentials[0], signCount: 0 },
      });
      await second.page.goto('/signin');
      const watch = await nextApi(second.page, 'POST', '/signin/passkey');
      await second.page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
      const refused = await watch.answer;
      assert.equal(refused.status, 401, `the clone is refused: ${refused.status} ${JSON.stringify(refused.body)}`);
      assert.ok((await alertText(second.page)).length > 0, 'the refusal is shown');
      assert.equal(new URL(second.page.url()).pathname, '/signin');
      assert.equal((await pageSession(second.page)).authenticated, false);

      const list = await pageMfa(first.page);
      assert.equal(list.status, 200);
      const passkey = list.body.factors.find((f) => f.kind === 'passkey');
      assert.equal(passkey?.cloned, true, `the passkey is flagged: ${JSON.stringify(list.body.factors)}`);
      await first.page.reload();
      await factorItems(first.page).filter({ hasText: /possibly cloned/i }).first().waitFor();
      const audited = sqlRows(server, "SELECT count(*) AS n FROM audit_events WHERE type = 'passkey.clone_suspected'");
      assert.ok(Number(audited[0].n) >= 1, 'the clone is audited');
      assertClean(first.page);
      assertClean(second.page);
    } finally {
      await first.ctx.close();
      await second.ctx.close();
    }
  });
});

// ---------------------------------------------------------------- passwordless email

describe('passwordless email', () => {
  test('turned on in the account page, then "Email me a sign-in code" + "Code" signs in and keeps return_to (SECURITY.md #16, #20)', async () => {
    const u = await scimUser(server, 'pwless');
    const { ctx, page } = await newPage(server);
    try {
      await signInWithPassword(page, u);
      const box = page.getByLabel(PASSWORDLESS_LABEL, { exact: true });
      assert.equal(await box.isChecked(), false);
      const put = await nextApi(page, 'PUT', '/mfa/email');
      await box.check();
      const p = await put.answer;
      assert.equal(p.status, 200, `right after sign-in no reauth is needed: ${p.status} ${JSON.stringify(p.body)}`);
      assert.equal(p.body.passwordless_email, true);
      await page.reload();
      await page.getByLabel(PASSWORDLESS_LABEL, { exact: true }).waitFor();
      await page.waitForFunction(() => document.getElementById('passwordless')?.checked === true);
      await signOut(page);

      const back = '/account?via=email';
      await page.goto(`/signin?return_to=${encodeURIComponent(back)}`);
      await page.getByLabel('Email', { exact: true }).fill(u.email);
      const mailsBefore = mail.messages.length;
      await page.getByRole('button', { name: 'Email me a sign-in code', exact: true }).click();
      const codeField = page.getByLabel('Code', { exact: true });
      await codeField.waitFor();
      const code = codeFrom(await mailAfter(u.email, mailsBefore));
      await codeField.fill(wrongCode(code));
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      assert.ok((await alertText(page)).length > 0, 'a wrong code is refused');
      await codeField.fill(code);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL((url) => url.pathname === '/account' && url.search === '?via=email');
      assert.equal((await pageSession(page)).authenticated, true);
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });

  test('"Email me a sign-in code" answers the same for an unknown address and one without the choice, and mails neither (SECURITY.md #14)', async () => {
    const u = await scimUser(server, 'nochoice');
    const unknown = newEmail('unknown');
    const { ctx, page } = await newPage(server);
    try {
      const seen = [];
      for (const email of [u.email, unknown]) {
        await page.goto('/signin');
        await page.getByLabel('Email', { exact: true }).fill(email);
        const watch = await nextApi(page, 'POST', '/signin/email');
        await page.getByRole('button', { name: 'Email me a sign-in code', exact: true }).click();
        const r = await watch.answer;
        await page.getByLabel('Code', { exact: true }).waitFor();
        seen.push({ status: r.status, keys: Object.keys(r.body).sort(), state: r.body.status });
      }
      assert.deepEqual(seen[0], seen[1], 'the same answer');
      assert.equal(seen[0].state, 'code_sent');
      await sleep(1500);
      assert.equal(mail.messages.filter((m) => addressedTo(m, u.email) || addressedTo(m, unknown)).length, 0, 'no mail');
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });

  test('"Email me a sign-in code" with no email asks for it in the alert', async () => {
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signin');
      await page.getByRole('button', { name: 'Email me a sign-in code', exact: true }).click();
      assert.match(await alertText(page), /email/i);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'email', 'focus goes to the Email field');
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });
});

// ---------------------------------------------------------------- managing methods

describe('managing sign-in methods on the account page', () => {
  test('keyboard only: turn on the emailed code, rename it with the inline "Name" form, remove it; no dialogs', async () => {
    const u = await scimUser(server, 'manage');
    const { ctx, page } = await newPage(server);
    try {
      await signInWithPassword(page, u);
      const box = page.getByLabel(PASSWORDLESS_LABEL, { exact: true });
      // Visible only once the page has wired its handlers; focus() alone would not wait for that.
      await box.waitFor();
      await box.focus();
      const put = await nextApi(page, 'PUT', '/mfa/email');
      await page.keyboard.press('Space');
      assert.equal((await put.answer).status, 200);
      const item = factorItems(page).first();
      await item.waitFor();

      const rename = item.getByRole('button', { name: 'Rename', exact: true });
      await rename.focus();
      await page.keyboard.press('Enter');
      const nameField = page.getByLabel('Name', { exact: true });
      await nameField.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('name')), 'name', 'focus moves to Name');
      await page.keyboard.press('Escape');
      await nameField.waitFor({ state: 'detached' });
      assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Rename', 'Escape returns focus');

      await page.keyboard.press('Enter');
      await nameField.waitFor();
      const patched = await nextApi(page, 'PATCH', /^\/mfa\/factors\/[^/]+$/);
      await page.keyboard.type('My mailbox');
      await page.keyboard.press('Enter');
      assert.equal((await patched.answer).status, 200);
      await item.getByText('My mailbox', { exact: true }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Rename');
      const listed = await pageMfa(page);
      assert.ok(listed.body.factors.some((f) => f.name === 'My mailbox'), 'the server has the new name');

      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Remove');
      const removed = await nextApi(page, 'DELETE', /^\/mfa\/factors\/[^/]+$/);
      await page.keyboard.press('Enter');
      assert.equal((await removed.answer).status, 200);
      await item.getByText('My mailbox', { exact: true }).waitFor({ state: 'detached' });
      assert.equal((await pageMfa(page)).body.factors.some((f) => f.name === 'My mailbox'), false);
      assertClean(page);
    } finally {
      await ctx.close();
    }
  });
});

// ---------------------------------------------------------------- look and accessibility

describe('the new and changed pages look right and are accessible', () => {
  /**
   * Walks a fresh user through every state of the new pages, calling
   * visit(name) at each: sign-in (notice, emailed code), account (no
   * factors, factors, rename form), authenticator set-up and its codes,
   * reauth, the second step (code, recovery code, passkey), recovery codes.
   */
  async function tour(page, visit) {
    const u = await scimUser(server, 'tour');
    await page.goto('/signin?reauth=1');
    await page.getByRole('status').filter({ hasText: REAUTH_NOTICE }).waitFor();
    await visit('signin-reauth-notice');
    await page.getByLabel('Email', { exact: true }).fill(u.email);
    await page.getByRole('button', { name: 'Email me a sign-in code', exact: true }).click();
    await page.getByLabel('Code', { exact: true }).waitFor();
    await visit('signin-email-code');
    await page.getByRole('button', { name: 'Sign in with your password instead', exact: true }).click();
    await fillSignIn(page, u.email, u.password);
    await page.waitForURL(onPath('/account'));
    await methodsRegion(page).waitFor();
    await visit('account-no-factors');

    const { secret } = await setUpAuthenticatorVisiting(page, visit);
    await page.getByRole('link', { name: 'Back to your account', exact: true }).click();
    await page.waitForURL(onPath('/account'));
    await factorItems(page).first().waitFor();
    await factorItems(page).first().getByRole('button', { name: 'Rename', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).waitFor();
    await visit('account-rename');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();

    await page.getByRole('button', { name: 'Add passkey', exact: true }).click();
    await page.waitForURL(onPath('/signin'));
    await page.getByRole('status').filter({ hasText: REAUTH_NOTICE }).waitFor();
    await fillSignIn(page, u.email, u.password);
    await page.waitForURL(onPath('/signin/mfa'));
    await page.getByLabel('Code', { exact: true }).waitFor();
    await visit('mfa-code');
    await page.getByRole('link', { name: 'Use a recovery code', exact: true }).click();
    await page.getByLabel('Recovery code', { exact: true }).waitFor();
    await visit('mfa-recovery');
    await page.getByRole('link', { name: 'Use your authenticator app', exact: true }).click();
    await page.getByLabel('Code', { exact: true }).fill(await totp(secret));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await page.waitForURL(onPath('/account'));

    await page.getByRole('button', { name: 'Add passkey', exact: true }).click();
    await factorItems(page).filter({ hasText: 'Passkey' }).first().waitFor();
    await page.getByLabel(PASSWORDLESS_LABEL, { exact: true }).check();
    await factorItems(page).nth(2).waitFor();
    await visit('account-factors');

    await page.getByRole('link', { name: 'Recovery codes', exact: true }).click();
    await page.waitForURL(onPath('/account/recovery-codes'));
    await page.getByRole('button', { name: 'Generate new codes', exact: true }).waitFor();
    await visit('recovery-codes');
    await page.getByRole('button', { name: 'Generate new codes', exact: true }).click();
    await shownCodes(page, 'Your new recovery codes');
    await visit('recovery-codes-new');

    await signOut(page);
    await fillSignIn(page, u.email, u.password);
    await page.waitForURL(onPath('/signin/mfa'));
    await page.getByRole('button', { name: 'Use a passkey', exact: true }).waitFor();
    await visit('mfa-passkey');
  }

  async function setUpAuthenticatorVisiting(page, visit) {
    await page.getByRole('link', { name: 'Set up authenticator app', exact: true }).click();
    await page.waitForURL(onPath('/account/authenticator'));
    await page.getByRole('img', { name: QR_ALT, exact: true }).waitFor();
    await visit('authenticator-setup');
    const secret = (await page.getByRole('code').first().textContent()).trim();
    await page.getByLabel('Code', { exact: true }).fill(await totp(secret));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await shownCodes(page, 'Your recovery codes');
    await visit('authenticator-codes');
    return { secret };
  }

  test('at 320 px no page scrolls sideways, and no CSP errors; screenshots of every state', async () => {
    for (const [width, tag] of [[320, 'narrow'], [1024, 'wide']]) {
      const { ctx, page } = await newPage(server, { viewport: { width, height: 720 } });
      try {
        await addAuthenticator(ctx, page);
        await tour(page, async (name) => {
          const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
          if (width === 320) assert.ok(scroll <= 320, `${name}: scrollWidth ${scroll} > 320`);
          await page.screenshot({ path: path.join(SHOTS_DIR, `mfa-${tag}-${name}.png`), fullPage: true });
        });
        assertClean(page);
      } finally {
        await ctx.close();
      }
    }
  });

  test('axe-core: no serious or critical violations in any state (bypassCSP only for the axe run)', async () => {
    const { ctx, page } = await newPage(server, { bypassCSP: true });
    try {
      await addAuthenticator(ctx, page);
      await tour(page, (name) => assertAccessible(page, name));
    } finally {
      await ctx.close();
    }
  });
});
